"""Feed 5's contract parser and suite on small real CSV files (tests/corpus/annual_reports)."""
from pathlib import Path

import pytest

from htx.feeds.annual_reports import CHECK_COLUMNS, COLUMNS, HEADERS, parse_object
from htx.feeds.common import RejectedObject

CORPUS = Path(__file__).parent / "corpus" / "annual_reports"
NAME = "annual_reports/bao_cao_nam_2023.csv"


def parse_file(file: str):
    return list(parse_object((CORPUS / file).read_bytes(), NAME))


@pytest.fixture(scope="module")
def suite():
    from htx.validation import SuiteRunner

    return SuiteRunner("annual_reports")


def suite_failures(suite, rows, severity="critical"):
    """source_row → {(field, message)} for the rows that parsed, as the pipeline runs the suite."""
    import pandas as pd

    parsed = [r for r in rows if not r.failures]
    frame = pd.DataFrame([r.values for r in parsed], columns=list(COLUMNS + CHECK_COLUMNS))
    before = {k: t.unexpected_count for k, t in suite.tallies.items()}
    verdict = suite.validate(frame)
    assert verdict.table_failures == []
    if severity == "warning":
        return {k: t.unexpected_count - before[k] for k, t in suite.tallies.items()
                if t.severity == "warning" and t.unexpected_count > before[k]}
    return {parsed[i].source_row: {(f.field, f.message) for f in failures}
            for i, failures in verdict.row_failures.items()}


def test_rows_are_typed_and_numbered_as_lines_of_the_file():
    rows = parse_file("valid.csv")
    assert [r.source_row for r in rows] == [2, 3, 5, 6]   # line 4 is blank
    assert all(r.failures == [] for r in rows)
    first = rows[0].values
    assert {c: first[c] for c in COLUMNS} == {
        "entity_code": "5700100104", "report_year": 2023, "members": 12, "workers": 20,
        "member_workers": 12, "avg_income_per_worker_vnd": 68_000_000, "managers": 5,
        "managers_vocational": 3, "managers_college_plus": 1}
    assert rows[0].record["avg_income_per_worker_vnd"] == "68000000"  # as delivered


def test_a_cooperative_listed_twice_in_a_file_counts_once_by_its_later_row(suite):
    rows = parse_file("valid.csv")
    assert [r.values["last_in_file_for_cooperative_year"] for r in rows] == [True, False, True, True]
    assert suite_failures(suite, rows) == {}   # not quarantined: a warning, and loaded
    assert suite_failures(suite, rows, "warning") == {
        "expect_column_values_to_be_in_set(last_in_file_for_cooperative_year)": 1}


def test_a_bom_and_windows_line_ends_are_accepted():
    (row,) = parse_file("bom_crlf.csv")
    assert row.failures == [] and row.values["entity_code"] == "5700100104"
    assert row.values["managers_college_plus"] == 1


def test_columns_may_come_in_any_order_the_names_are_the_contract():
    (row,) = parse_file("reordered.csv")
    assert (row.values["workers"], row.values["members"], row.values["managers"],
            row.values["managers_college_plus"]) == (20, 12, 5, 1)


@pytest.mark.parametrize("file, message", [
    ("column_missing.csv",
     "headers are not the contract's: missing column(s): managers_college_plus"),
    ("column_renamed.csv",
     "headers are not the contract's: missing column(s): workers; unexpected column(s): lao_dong"),
    ("wrong_delimiter.csv", "not comma-separated: the header is separated by ';'"),
    ("header_only.csv", "header only: the file holds no report rows"),
    ("empty.csv", "empty file"),
    ("truncated_in_quotes.csv", "malformed CSV at line"),
])
def test_a_file_not_in_the_contracts_shape_is_rejected_whole_with_a_clear_message(file, message):
    with pytest.raises(RejectedObject) as raised:
        parse_file(file)
    assert str(raised.value).startswith(message) and str(raised.value).endswith(f" — {NAME}")


def test_a_repeated_column_is_rejected():
    header = ",".join(HEADERS + ("workers",))
    with pytest.raises(RejectedObject,
                       match=r"^headers are not the contract's: repeated column\(s\): workers — "):
        list(parse_object(f"{header}\n".encode(), NAME))


def test_a_file_that_is_not_utf8_is_rejected():
    # An old Windows export: "Đông" in Windows-1258 is not UTF-8.
    raw = ((CORPUS / "valid.csv").read_text(encoding="utf-8") + "Đông\n").encode("cp1258")
    with pytest.raises(RejectedObject, match="not UTF-8"):
        list(parse_object(raw, NAME))


def test_values_that_are_not_whole_numbers_fail_their_row_naming_field_and_value():
    rows = {r.source_row: r for r in parse_file("bad_values.csv")}
    conversion = {line: [(f.field, f.rule, f.value) for f in r.failures]
                  for line, r in rows.items() if r.failures}
    assert conversion == {
        2: [("workers", "is_integer", "20.5")],
        3: [("avg_income_per_worker_vnd", "is_integer", "72,000,000")],
        4: [("avg_income_per_worker_vnd", "is_integer", "abc")],
        5: [("row", "field_count", 8)],
    }
    assert rows[5].record == ["5700778122", "2023", "9", "10", "2", "5000000", "3", "0"]


def test_value_rules_are_the_suites_and_name_the_field(suite):
    assert suite_failures(suite, parse_file("bad_values.csv")) == {
        6: {("members", "members is negative"),
            ("member_workers",
             "member_workers exceeds workers (member workers are among the workers)"),
            ("managers", "managers is less than managers_vocational + managers_college_plus")},
        7: {("entity_code", "entity_code is not 10 digits")},
        8: {("entity_code", "entity_code fails the MST check digit"),
            ("report_year", "report_year is not a year from 2000 to 2100")},
        9: {("entity_code", "entity_code is missing"), ("members", "members is missing")},
    }


def test_a_valid_file_passes_the_suite(suite):
    assert suite_failures(suite, parse_file("valid.csv") + parse_file("reordered.csv")) == {}
