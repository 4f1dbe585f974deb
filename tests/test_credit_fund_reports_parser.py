"""Feed 4's contract parser and suite on small real report files (tests/corpus/credit_fund_reports)."""
import json
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from htx.feeds.common import RejectedObject
from htx.feeds.credit_fund_reports import (CHECK_COLUMNS, COLUMNS, file_name_agrees, parse_object,
                                           quarter_end)

CORPUS = Path(__file__).parent / "corpus" / "credit_fund_reports"
NAME = "credit_funds/5700101348_2024Q3.json"  # the contract's name for the files' report


def parse_file(file: str, source_object: str = NAME):
    return list(parse_object((CORPUS / file).read_bytes(), source_object))


def parse_document(document: dict, source_object: str = NAME):
    (row,) = parse_object(json.dumps(document, ensure_ascii=False).encode(), source_object)
    return row


def valid_document() -> dict:
    return json.loads((CORPUS / "valid_report.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def suite():
    from htx.validation import SuiteRunner

    return SuiteRunner("credit_fund_reports")


def critical_failures(suite, row):
    import pandas as pd

    frame = pd.DataFrame([row.values], columns=list(COLUMNS + CHECK_COLUMNS))
    verdict = suite.validate(frame)
    assert verdict.table_failures == []
    return {(f.field, f.message) for f in verdict.row_failures.get(0, [])}


def test_one_file_is_one_row_with_exact_typed_values():
    (row,) = parse_file("valid_report.json")
    assert row.failures == [] and row.source_row == 1 and row.source_object == NAME
    v = row.values
    assert v["fund_code"] == "5700101348" and v["period_end"] == date(2024, 9, 30)
    assert v["submitted_at"] == datetime(2024, 10, 15, 9, 30, tzinfo=timezone(timedelta(hours=7)))
    assert v["deposits"] == Decimal("106900.25") and v["total_capital"] == 121000
    assert v["avg_employee_income_month"] == Decimal("16.5")
    assert v["profit_ytd"] == Decimal("-12.5") and v["revenue_from_members_ytd"] == 4720
    assert (v["members"], v["members_pending"], v["employees"], v["revision"]) == (1190, 6, 10, 0)
    assert v["fund_code_check_digit_ok"] and v["period_end_is_quarter_end"]
    assert v["equity_deposits_within_capital"] and v["npl_within_loans"] and v["file_name_agrees"]
    assert set(COLUMNS + CHECK_COLUMNS) <= set(v)
    assert row.record["balance_sheet"]["deposits"] == 106900.25  # as delivered, for quarantine


def test_a_report_in_any_unit_but_trieu_dong_is_rejected_whole():
    with pytest.raises(RejectedObject, match=r"unit is 'dong'.* — .*5700101348_2024Q3\.json$"):
        parse_file("unit_dong.json")
    with pytest.raises(RejectedObject, match="unit is None"):
        parse_document({**valid_document(), "unit": None})


@pytest.mark.parametrize("file, keys", [
    ("column_missing.json", "balance_sheet.npl"),
    ("missing_member_counts.json", "members, members_pending, employees"),
])
def test_a_missing_contract_key_rejects_the_file_naming_the_key(file, keys):
    with pytest.raises(RejectedObject, match=f"missing contract key\\(s\\): {keys} — "):
        parse_file(file)


@pytest.mark.parametrize("file, message", [
    ("truncated.json", "not JSON"), ("csv_not_json.json", "not JSON"),
    ("not_an_object.json", "not a JSON object"),
])
def test_a_file_that_is_not_one_json_report_is_rejected(file, message):
    with pytest.raises(RejectedObject, match=message):
        parse_file(file)


def test_a_file_that_is_not_utf8_is_rejected():
    raw = (CORPUS / "valid_report.json").read_text(encoding="utf-8").encode("utf-16")
    with pytest.raises(RejectedObject, match="not UTF-8"):
        list(parse_object(raw, NAME))


def test_values_of_the_wrong_type_fail_the_row_naming_field_and_value():
    (row,) = parse_file("wrong_types.json")
    assert sorted((f.field, f.rule, f.value) for f in row.failures) == [
        ("balance_sheet.deposits", "is_number", "106900"),
        ("members", "is_integer", "1.190"),
        ("period_end", "is_date", "30/09/2024")]


@pytest.mark.parametrize("changes, field", [
    ({"revision": 1.5}, "revision"), ({"employees": True}, "employees"),
    ({"submitted_at": "2024-10-15T09:30:00"}, "submitted_at"),
    ({"fund_code": 5700101348}, "fund_code"),
    ({"balance_sheet": [1, 2]}, "balance_sheet"), ({"period_end": "2024-09-31"}, "period_end"),
])
def test_more_wrong_types_fail_the_row(changes, field):
    row = parse_document({**valid_document(), **changes})
    assert [f.field for f in row.failures] == [field]


def test_nan_is_not_a_number():
    text = (CORPUS / "valid_report.json").read_text(encoding="utf-8").replace("16.5", "NaN")
    (row,) = parse_object(text.encode(), NAME)
    assert [(f.field, f.value) for f in row.failures] == [("avg_employee_income_month", "NaN")]
    json.dumps(row.record, allow_nan=False)  # the quarantine record stays valid JSON


def test_a_whole_number_written_with_a_decimal_point_is_still_a_count():
    assert parse_document({**valid_document(), "members": 1190.0}).values["members"] == 1190


@pytest.mark.parametrize("name, agrees", [
    ("5700101348_2024Q3.json", True),
    ("5700101348_2024Q3.1f2e3d4c5b6a.json", True),   # as landed: checksum before the extension
    ("s3://b/_landed/credit_fund_reports/batch-00000007/5700101348_2024Q3.1f2e3d4c5b6a.json", True),
    ("5700101348_2024Q2.json", False), ("5700462351_2024Q3.json", False),
    ("5700101348_2023Q3.json", False), ("bao_cao_quy_3.json", False),
])
def test_the_file_name_must_name_the_reports_fund_and_quarter(name, agrees):
    assert file_name_agrees(name.rsplit("/", 1)[-1], "5700101348", date(2024, 9, 30)) is agrees
    assert parse_document(valid_document(), name).values["file_name_agrees"] is agrees


@pytest.mark.parametrize("day, end", [
    (date(2024, 1, 1), date(2024, 3, 31)), (date(2024, 6, 30), date(2024, 6, 30)),
    (date(2024, 8, 15), date(2024, 9, 30)), (date(2024, 12, 31), date(2024, 12, 31)),
])
def test_quarter_end(day, end):
    assert quarter_end(day) == end


def test_a_valid_report_passes_the_suite_even_with_a_loss(suite):
    (row,) = parse_file("valid_report.json")
    assert critical_failures(suite, row) == set()


def test_equity_and_deposits_beyond_total_capital_quarantine_the_report(suite):
    (row,) = parse_file("equity_deposits_exceed_capital.json")
    assert critical_failures(suite, row) == {
        ("total_capital", "balance sheet does not add up: equity + deposits exceed total_capital")}


@pytest.mark.parametrize("changes, expected", [
    ({"balance_sheet": {"total_capital": 121000, "equity": 10500, "deposits": 106900,
                        "loans_outstanding": 1000, "npl": 1100}},
     {("npl", "npl exceeds loans_outstanding")}),
    ({"fund_code": "5700101349"}, {("fund_code", "fund_code fails the MST check digit"),
                                   ("file_name", "the file name is not <fund_code>_<YYYY>Q<q>.json"
                                                 " for the report's fund_code and period_end")}),
    ({"period_end": "2024-08-31"}, {  # in the named quarter, but not its end
        ("period_end", "period_end is not a quarter end (31/03, 30/06, 30/09, 31/12)")}),
    ({"members": -1, "revision": -1}, {("members", "members is negative"),
                                      ("revision", "revision is negative")}),
    ({"income_ytd": {"revenue": -5, "revenue_from_members": 0, "profit": 3}},
     {("revenue_ytd", "income_ytd.revenue is negative")}),
    ({"employees": None}, {("employees", "employees is missing")}),
])
def test_value_rules_are_the_suites_and_name_the_field(suite, changes, expected):
    row = parse_document({**valid_document(), **changes})
    assert row.failures == []
    assert critical_failures(suite, row) == expected


def test_a_report_named_for_another_quarter_is_quarantined(suite):
    row = parse_document(valid_document(), "credit_funds/5700101348_2024Q2.json")
    assert {field for field, _ in critical_failures(suite, row)} == {"file_name"}
