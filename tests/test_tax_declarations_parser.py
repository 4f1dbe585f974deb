"""Feed 2's contract parser on small real files (tests/corpus/tax_declarations/, see its README)."""
import unicodedata
from datetime import date
from pathlib import Path

import pytest

from htx.feeds.common import RejectedObject
from htx.feeds.tax_declarations import CHECK_COLUMNS, COLUMNS, HEADERS, parse_object

CORPUS = Path(__file__).parent / "corpus" / "tax_declarations"


def parse_file(name: str):
    return list(parse_object((CORPUS / name).read_bytes(), f"tax/{name}"))


def rejection(name: str = "", raw: bytes | None = None) -> str:
    with pytest.raises(RejectedObject) as caught:
        raw = (CORPUS / name).read_bytes() if raw is None else raw
        list(parse_object(raw, f"tax/{name or 'x.csv'}"))
    return str(caught.value)


def business_values(rows):
    return [{c: r.values[c] for c in COLUMNS + CHECK_COLUMNS} for r in rows]


def test_a_valid_file_becomes_typed_columns():
    rows = parse_file("utf8_no_bom.csv")
    assert [r.failures for r in rows] == [[], [], [], []]
    assert [r.source_row for r in rows] == [2, 3, 4, 5]   # the header is row 1
    monthly, quarterly, branch, annual = (r.values for r in rows)
    assert monthly["taxpayer_name"] == "Hợp tác xã Nông nghiệp Tuyền Hiền"
    assert (monthly["period_kind"], monthly["period_start"], monthly["period_end"]) == (
        "month", date(2024, 9, 1), date(2024, 9, 30))
    assert (monthly["revenue_vnd"], monthly["profit_before_tax_vnd"], monthly["tax_payable_vnd"]) == (
        1_234_567_890, None, 12_345_678)
    assert monthly["filed_on"] == date(2024, 10, 18) and monthly["revision"] == 0
    assert (quarterly["period_kind"], quarterly["period_start"], quarterly["period_end"]) == (
        "quarter", date(2024, 7, 1), date(2024, 9, 30))
    assert quarterly["revision"] == 1 and quarterly["revenue_vnd"] == 987_654
    assert (annual["form_code"], annual["period_kind"]) == ("03/TNDN", "year")
    assert (annual["period_start"], annual["period_end"]) == (date(2023, 1, 1), date(2023, 12, 31))
    assert annual["profit_before_tax_vnd"] == -1_234
    assert all(r.values["tax_code_check_digit_ok"] for r in rows)


def test_a_branch_code_is_kept_and_rolls_up_to_its_parent():
    branch = parse_file("utf8_no_bom.csv")[2].values
    assert (branch["tax_code"], branch["parent_code"]) == ("5701001064-001", "5701001064")


def test_a_quoted_name_keeps_its_semicolon_and_quotes():
    branch = parse_file("utf8_no_bom.csv")[2]
    assert branch.values["taxpayer_name"] == 'Chi nhánh Hợp tác xã Đầm Hà; cửa hàng "số 1"'
    assert branch.record["Tên người nộp thuế"] == branch.values["taxpayer_name"]


@pytest.mark.parametrize("name", ["utf8_bom.csv", "cp1258.csv", "utf8_nfd.csv"])
def test_every_contract_encoding_gives_the_same_nfc_rows(name):
    assert business_values(parse_file(name)) == business_values(parse_file("utf8_no_bom.csv"))
    for row in parse_file(name):
        assert unicodedata.is_normalized("NFC", row.values["taxpayer_name"])
        assert all(unicodedata.is_normalized("NFC", key) for key in row.record)


def test_the_windows_1258_file_is_not_utf8_and_writes_tones_as_combining_marks():
    raw = (CORPUS / "cp1258.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    # "Mã" is a + combining tilde (0xDE) in Windows-1258: only NFC makes it one letter again.
    assert raw.startswith(b"Ma\xde s")
    assert not unicodedata.is_normalized("NFC", raw.decode("cp1258"))


def test_the_bom_is_not_part_of_the_first_header():
    assert (CORPUS / "utf8_bom.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert "Mã số thuế" in parse_file("utf8_bom.csv")[0].record


def test_columns_are_matched_by_name_in_any_order_and_after_nfc_and_stripping():
    expected = business_values(parse_file("utf8_no_bom.csv")[:1])
    assert business_values(parse_file("reordered_columns.csv")) == expected
    assert business_values(parse_file("padded_headers.csv")) == expected


def test_a_renamed_column_rejects_the_file_naming_it():
    message = rejection("column_renamed.csv")
    assert "tax/column_renamed.csv" in message
    assert "missing column(s) 'Doanh thu'" in message
    assert "unexpected column(s) 'Tổng doanh thu'" in message


def test_a_missing_column_rejects_the_file_naming_it():
    assert "missing column(s) 'Số thuế phải nộp'" in rejection("column_missing.csv")


def test_an_extra_column_rejects_the_file_naming_it():
    assert "unexpected column(s) 'Ghi chú'" in rejection("extra_column.csv")


def test_a_repeated_column_rejects_the_file():
    header = ";".join([*HEADERS, "Doanh thu"])
    assert "repeated column(s) 'Doanh thu'" in rejection(raw=(header + "\n").encode())


def test_a_comma_separated_file_is_rejected_with_a_clear_message():
    message = rejection("wrong_delimiter.csv")
    assert "not ';'-separated" in message and "looks ','-separated" in message


@pytest.mark.parametrize("name", ["empty.csv", "header_only.csv", "blank_rows_only.csv"])
def test_a_delivery_without_declarations_is_rejected(name):
    assert f"tax/{name}" in rejection(name)


@pytest.mark.parametrize("raw, words", [
    ("Mã số thuế;x\n".encode("utf-16"), "NUL bytes"),
    (b"\xef\xbb\xbf\xff\xfe;", "BOM but is not UTF-8"),
    (b"\x81\x8d;\x90\n", "neither UTF-8 nor Windows-1258"),
])
def test_bytes_of_no_contract_encoding_reject_the_file(raw, words):
    assert words in rejection(raw=raw)


# Row edges: tests/corpus/tax_declarations/row_edges.csv, by row number (the header is row 1).
CONVERSION_FAILURES = {
    2: ("revenue_vnd", "is_vnd_integer", "1.2.3"),
    3: ("revenue_vnd", "is_vnd_integer", "12.34"),
    4: ("filed_on", "is_date", "31/02/2024"),
    5: ("period_raw", "is_tax_period", "13/2024"),
    6: ("period_raw", "is_tax_period", "Q5/2024"),
    7: ("period_raw", "is_tax_period", "2024-09"),
    8: ("revision", "is_integer", "một"),
    9: ("row", "field_count", 7),
}


def test_unconvertible_values_fail_naming_field_rule_and_value():
    rows = {r.source_row: r for r in parse_file("row_edges.csv")}
    for number, expected in CONVERSION_FAILURES.items():
        assert [(f.field, f.rule, f.value) for f in rows[number].failures] == [expected], number
    assert rows[9].record == {"fields": rows[9].record["fields"]}   # kept as delivered
    assert all(not rows[n].failures for n in rows if n not in CONVERSION_FAILURES)


def test_derived_checks_flag_what_the_suite_must_quarantine():
    v = {r.source_row: r.values for r in parse_file("row_edges.csv")}
    assert v[10]["revision"] == -1                       # converted; the suite rejects it
    assert v[11]["tax_code_check_digit_ok"] is False     # wrong check digit
    assert v[12]["tax_code_check_digit_ok"] is False     # 11 − 0: no check digit exists
    assert v[13]["tax_code_check_digit_ok"] is False     # branch 000
    assert v[14]["tax_code_check_digit_ok"] is None and v[14]["parent_code"] is None  # 9 digits
    assert v[16]["period_fits_form"] is False            # VAT for a year
    assert v[17]["profit_present_on_cit"] is False
    assert v[18]["period_fits_form"] is False            # CIT for a month
    assert v[19]["revenue_present_on_vat"] is False
    assert v[20]["profit_absent_on_vat"] is False        # a warning, not a quarantine
    assert v[21]["taxpayer_name"] is None and v[21]["revenue_vnd"] == -5_000
    assert v[22]["tax_code"] is None


def test_lenient_but_unambiguous_spellings_are_accepted():
    row = {r.source_row: r for r in parse_file("row_edges.csv")}[23]
    assert row.failures == []
    assert (row.values["period_start"], row.values["filed_on"], row.values["revenue_vnd"]) == (
        date(2024, 9, 1), date(2024, 10, 1), 1_234_567)


@pytest.fixture(scope="module")
def suite():
    from htx.validation import SuiteRunner

    return SuiteRunner("tax_declarations")


def test_the_suite_quarantines_every_bad_row_naming_its_field(suite):
    import pandas as pd

    rows = parse_file("row_edges.csv")
    parsed = [r for r in rows if not r.failures]
    frame = pd.DataFrame([r.values for r in parsed], columns=list(COLUMNS + CHECK_COLUMNS))
    verdict = suite.validate(frame)
    assert verdict.table_failures == []
    flagged = {parsed[i].source_row: sorted({f.field for f in fs})
               for i, fs in verdict.row_failures.items()}
    assert flagged == {
        10: ["revision"], 11: ["tax_code"], 12: ["tax_code"], 13: ["tax_code"], 14: ["tax_code"],
        15: ["form_code"], 16: ["period_raw"], 17: ["profit_before_tax_vnd"], 18: ["period_raw"],
        19: ["revenue_vnd"], 22: ["tax_code"],
    }
    loaded = [r.source_row for r in parsed if r.source_row not in flagged]
    assert loaded == [20, 21, 23]
    warned = {key for key, tally in suite.tallies.items()
              if tally.severity == "warning" and tally.unexpected_count}
    assert warned == {"expect_column_values_to_be_in_set(profit_absent_on_vat)",
                      "expect_column_values_to_be_between(revenue_vnd)",
                      "expect_column_values_to_not_be_null(taxpayer_name)"}


def test_the_valid_files_pass_the_suite(suite):
    import pandas as pd

    rows = parse_file("utf8_no_bom.csv")
    frame = pd.DataFrame([r.values for r in rows], columns=list(COLUMNS + CHECK_COLUMNS))
    verdict = suite.validate(frame)
    assert verdict.row_failures == {} and verdict.table_failures == []
