"""Every row rule of every feed pinned: one delivery per feed, in the feed's own format, holds a
good record and one record per rule of its expectation suite (include/expectations/<feed>.json),
each breaking that rule; the contract parser and the suite (real GX, no warehouse) must then
quarantine each of those rows for its rule, or (a warning rule) load it and count it.

The map runs both ways: a rule deleted from a suite, or a parser that stops deriving the fact a
rule checks (`disbursed_by_report_date`, `main_vsic_division_known`, …), fails its case; a rule
added to a suite without a case here fails `test_every_rule_of_every_suite_has_a_case`.
"""
from __future__ import annotations

import csv
import importlib
import io
import json
from datetime import datetime

import pytest

from htx.feeds.config import FEEDS
from htx.validation import expectation_key, load_suite
from plan_targets_support import annex_bytes, target_row
from test_credit_fund_reports_parser import NAME as FUND_FILE, valid_document
from test_registrations_parser import GOOD as GOOD_ITEM
from test_support_lending_parser import A, B, report_bytes

NOT_NULL, IN_SET = "expect_column_values_to_not_be_null", "expect_column_values_to_be_in_set"
REGEX, BETWEEN = "expect_column_values_to_match_regex", "expect_column_values_to_be_between"


def rule(kind: str, column: str) -> str:
    return f"{kind}({column})"


# --- feed 1: one API page, one item per rule --------------------------------------------------

REGISTRATIONS = {
    rule(NOT_NULL, "entity_code"): {"entity_code": None},
    rule(REGEX, "entity_code"): {"entity_code": "57001001"},
    rule(IN_SET, "entity_code_check_digit_ok"): {"entity_code": "5700100105"},
    rule(NOT_NULL, "entity_type"): {"entity_type": None},
    rule(IN_SET, "entity_type"): {"entity_type": "DNTN"},
    rule(NOT_NULL, "name"): {"name": None},
    rule(NOT_NULL, "status"): {"status": None},
    rule(IN_SET, "status"): {"status": "closed"},
    rule(NOT_NULL, "registered_on"): {"registered_on": None},
    rule(NOT_NULL, "status_since"): {"status_since": None},
    rule(NOT_NULL, "updated_at"): {"updated_at": None},
    rule(IN_SET, "updated_at_not_in_future"): {"updated_at": "2204-01-01T00:00:00+07:00"},
    rule(NOT_NULL, "main_vsic"): {"main_vsic": None},
    rule(REGEX, "main_vsic"): {"main_vsic": "011"},
    rule(IN_SET, "main_vsic_division_known"): {"main_vsic": "0400"},   # no division 04
    rule(BETWEEN, "charter_capital_vnd"): {"charter_capital_vnd": -1},
    rule(BETWEEN, "members"): {"members": -1},
    rule(NOT_NULL, "locality_code"): {"locality": "Atlantis"},          # a warning
}


def registrations_delivery():
    items = [GOOD_ITEM] + [{**GOOD_ITEM, **change} for change in REGISTRATIONS.values()]
    page = json.dumps({"items": items, "next_page_token": None}, ensure_ascii=False).encode()
    return {"registrations/page-00001.json": page}, [None, *REGISTRATIONS]


# --- feed 2: one CSV file, one row per rule ---------------------------------------------------

TAX_CODE = "5700100104"
TAX_FIELDS = {"tax_code": TAX_CODE, "name": "HTX Hoa Phong", "form": "01/GTGT",
              "period": "09/2024", "revision": "0", "filed_on": "15/10/2024",
              "revenue": "1.000.000", "profit": "", "payable": "100.000"}
CIT = {"form": "03/TNDN", "period": "2023", "profit": "50.000"}
TAX = {
    rule(NOT_NULL, "tax_code"): {"tax_code": ""},
    rule(REGEX, "tax_code"): {"tax_code": "57001001"},
    rule(IN_SET, "tax_code_check_digit_ok"): {"tax_code": "5700100105"},
    rule(NOT_NULL, "form_code"): {"form": ""},
    rule(IN_SET, "form_code"): {"form": "05/KK"},
    rule(NOT_NULL, "period_raw"): {"period": ""},
    rule(IN_SET, "period_fits_form"): {"period": "2024"},
    rule(NOT_NULL, "revision"): {"revision": ""},
    rule(BETWEEN, "revision"): {"revision": "-1"},
    rule(NOT_NULL, "filed_on"): {"filed_on": ""},
    rule(IN_SET, "revenue_present_on_vat"): {"revenue": ""},
    rule(IN_SET, "profit_present_on_cit"): {**CIT, "profit": ""},
    rule(IN_SET, "profit_absent_on_vat"): {"profit": "10.000"},          # warnings from here
    rule(BETWEEN, "revenue_vnd"): {"revenue": "-1.000"},
    rule(NOT_NULL, "taxpayer_name"): {"name": ""},
}


def tax_delivery():
    from htx.feeds.tax_declarations import HEADERS

    rows = [TAX_FIELDS, {**TAX_FIELDS, **CIT}] + [{**TAX_FIELDS, **c} for c in TAX.values()]
    return {"tax/to_khai_202410.csv": csv_bytes(list(HEADERS), [list(r.values()) for r in rows],
                                                ";")}, [None, None, *TAX]


def csv_bytes(header: list[str], rows: list[list], delimiter: str) -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\n").writerows([header, *rows])
    return out.getvalue().encode("utf-8")


# --- feed 3: one XLSX report, one contract per rule --------------------------------------------

LOAN = [1, A, "HTX Hoa Phong", "01/2022/HĐTD", datetime(2022, 3, 15), 500, 100, 1,
        datetime(2025, 3, 15)]
LOAN_FIELD = {name: i for i, name in enumerate(
    ("stt", "htx_code", "htx_name", "contract_no", "disbursed_on", "disbursed", "outstanding",
     "debt_group", "due_on"))}
LENDING = {
    rule(NOT_NULL, "htx_code"): {"htx_code": None},
    rule(REGEX, "htx_code"): {"htx_code": "57001001"},
    rule(IN_SET, "htx_code_check_digit_ok"): {"htx_code": "5700100105"},
    rule(NOT_NULL, "contract_no"): {"contract_no": None},
    rule(IN_SET, "contract_no_first_in_file"): {"contract_no": LOAN[3]},   # the good row's
    rule(NOT_NULL, "disbursed_on"): {"disbursed_on": None},
    rule(IN_SET, "disbursed_by_report_date"): {"disbursed_on": datetime(2024, 10, 1)},
    rule(NOT_NULL, "disbursed_trieu"): {"disbursed": None},
    rule(BETWEEN, "disbursed_trieu"): {"disbursed": 0},                     # not positive
    rule(NOT_NULL, "outstanding_trieu"): {"outstanding": None},
    rule(BETWEEN, "outstanding_trieu"): {"outstanding": -1},
    rule(BETWEEN, "debt_group"): {"debt_group": 6},
    rule(IN_SET, "debt_group_given_when_outstanding"): {"debt_group": None},
    rule(NOT_NULL, "debt_group"): {"debt_group": None, "outstanding": 0},   # warnings from here
    rule(NOT_NULL, "htx_name"): {"htx_name": None},
    rule(NOT_NULL, "due_on"): {"due_on": None},
    rule(IN_SET, "due_after_disbursement"): {"due_on": datetime(2021, 1, 1)},
    rule(IN_SET, "outstanding_within_disbursed"): {"outstanding": 600},
}


def lending_delivery():
    details = [LOAN]
    for number, change in enumerate(LENDING.values(), start=2):
        detail = [number, B, *LOAN[2:3], f"{number:02d}/2024/HĐTD", *LOAN[4:]]
        for name, value in change.items():
            detail[LOAN_FIELD[name]] = value
        details.append(detail)
    return {"lending/vbsp_202409.xlsx": report_bytes(details)}, [None, *LENDING]


# --- feed 4: one JSON file per report, one report per rule -------------------------------------

def _without(section: str, key: str, value=None) -> dict:
    return {section: {**valid_document()[section], key: value}}


FUNDS = {
    rule(NOT_NULL, "fund_code"): {"fund_code": None},
    rule(REGEX, "fund_code"): {"fund_code": "57001013"},
    rule(IN_SET, "fund_code_check_digit_ok"): {"fund_code": "5700101349"},
    rule(IN_SET, "file_name_agrees"): {"period_end": "2024-06-30"},
    rule(NOT_NULL, "fund_name"): {"fund_name": None},                      # a warning
    rule(NOT_NULL, "period_end"): {"period_end": None},
    rule(IN_SET, "period_end_is_quarter_end"): {"period_end": "2024-09-29"},
    rule(NOT_NULL, "revision"): {"revision": None},
    rule(BETWEEN, "revision"): {"revision": -1},
    rule(NOT_NULL, "submitted_at"): {"submitted_at": None},
    **{rule(NOT_NULL, key): _without("balance_sheet", key)
       for key in ("total_capital", "equity", "deposits", "loans_outstanding", "npl")},
    **{rule(BETWEEN, key): _without("balance_sheet", key, -1)
       for key in ("total_capital", "equity", "deposits", "loans_outstanding", "npl")},
    rule(IN_SET, "equity_deposits_within_capital"): _without("balance_sheet", "equity", 20000),
    rule(IN_SET, "npl_within_loans"): _without("balance_sheet", "npl", 90000),
    rule(NOT_NULL, "members"): {"members": None},
    rule(BETWEEN, "members"): {"members": -1},
    rule(BETWEEN, "members_pending"): {"members_pending": -1},
    rule(NOT_NULL, "employees"): {"employees": None},
    rule(BETWEEN, "employees"): {"employees": -1},
    rule(NOT_NULL, "revenue_ytd"): _without("income_ytd", "revenue"),
    rule(BETWEEN, "revenue_ytd"): _without("income_ytd", "revenue", -1),
    rule(BETWEEN, "revenue_from_members_ytd"): _without("income_ytd", "revenue_from_members", -1),
    rule(NOT_NULL, "profit_ytd"): _without("income_ytd", "profit"),
    rule(BETWEEN, "dividend_rate_pct"): {"dividend_rate_pct": -1},
    rule(NOT_NULL, "avg_employee_income_month"): {"avg_employee_income_month": None},
    rule(BETWEEN, "avg_employee_income_month"): {"avg_employee_income_month": -1},
}


def credit_fund_delivery():
    # One report per file: the same file name for every case (what the landing zone keeps apart).
    reports = [valid_document()] + [{**valid_document(), **c} for c in FUNDS.values()]
    return [(FUND_FILE, json.dumps(r, ensure_ascii=False).encode()) for r in reports], [
        None, *FUNDS]


# --- feed 5: one CSV file, one row per rule ---------------------------------------------------

REPORT = {"entity_code": "5700100104", "report_year": "2023", "members": "10", "workers": "20",
          "member_workers": "5", "avg_income_per_worker_vnd": "60000000", "managers": "3",
          "managers_vocational": "1", "managers_college_plus": "1"}
COUNTS = ("members", "workers", "member_workers", "avg_income_per_worker_vnd", "managers",
          "managers_vocational", "managers_college_plus")
ANNUAL = {
    rule(NOT_NULL, "entity_code"): {"entity_code": ""},
    rule(REGEX, "entity_code"): {"entity_code": "57001001"},
    rule(IN_SET, "entity_code_check_digit_ok"): {"entity_code": "5700100105"},
    rule(NOT_NULL, "report_year"): {"report_year": ""},
    rule(BETWEEN, "report_year"): {"report_year": "1999"},
    **{rule(NOT_NULL, name): {name: ""} for name in COUNTS},
    **{rule(BETWEEN, name): {"member_workers": "0", "managers": "5", name: "-1"}
       for name in COUNTS},
    rule(IN_SET, "member_workers_within_workers"): {"member_workers": "21"},
    rule(IN_SET, "managers_cover_trained"): {"managers": "1"},
    rule(IN_SET, "last_in_file_for_cooperative_year"): {"report_year": "2001"},  # a warning
}


def annual_delivery():
    from htx.feeds.annual_reports import HEADERS

    # Each case its own year (only the last row of a cooperative and year counts); the
    # warning's row is reported again by the file's last row.
    rows = [REPORT] + [{**REPORT, "report_year": str(2002 + i), **change}
                       for i, change in enumerate(ANNUAL.values())] + [
        {**REPORT, "report_year": "2001"}]
    return {"annual_reports/bao_cao_nam_2023.csv": csv_bytes(
        list(HEADERS), [[r[h] for h in HEADERS] for r in rows], ",")}, [None, *ANNUAL, None]


# --- feed 6: one XLSX annex, one target row per rule -------------------------------------------

TARGETS = {
    rule(NOT_NULL, "indicator_code"): {"code": None},
    rule(IN_SET, "indicator_code_known"): {"code": "HTX_UNKNOWN"},
    rule(IN_SET, "breakdown_allowed"): {"breakdown": "sector=khong_co"},
    rule(NOT_NULL, "target"): {"target": None, "stt": 9},
    rule(BETWEEN, "target"): {"target": -2},
    rule(IN_SET, "percentage_within_100"): {"code": "HTX_SECTOR_SHARE",
                                            "breakdown": "sector=nong_nghiep", "target": 101},
    rule(IN_SET, "code_breakdown_once_in_file"): {"code": "THT_TOTAL"},   # twice: both rows
}


def targets_delivery():
    rows = [target_row()] + [target_row(**{"code": "HTX_NEW", "target": 5, **change})
                             for change in TARGETS.values()] + [target_row("THT_TOTAL")]
    expected = [None, *TARGETS, rule(IN_SET, "code_breakdown_once_in_file")]
    return {"plan_targets/chi_tieu_2024.xlsx": annex_bytes(rows)}, expected


DELIVERIES = {"registrations": (registrations_delivery, REGISTRATIONS),
              "tax_declarations": (tax_delivery, TAX),
              "support_lending": (lending_delivery, LENDING),
              "credit_fund_reports": (credit_fund_delivery, FUNDS),
              "annual_reports": (annual_delivery, ANNUAL),
              "plan_targets": (targets_delivery, TARGETS)}


def test_every_rule_of_every_suite_has_a_case():
    assert set(DELIVERIES) == set(FEEDS)
    for feed, (_, cases) in DELIVERIES.items():
        assert set(cases) == {expectation_key(e) for e in load_suite(feed)["expectations"]}, feed


@pytest.mark.parametrize("feed", DELIVERIES)
def test_each_row_rule_quarantines_or_warns_on_the_row_that_breaks_it(feed):
    """Row i of the delivery breaks rule expected[i] (None: a good row). Rows breaking a
    critical rule are quarantined for it; those breaking a warning are loaded, and are validated
    apart so that each warning's count is its own rows'."""
    from htx.validation import SuiteRunner

    build, _ = DELIVERIES[feed]
    objects, expected = build()
    parser = importlib.import_module(FEEDS[feed].parser_module)
    objects = objects.items() if isinstance(objects, dict) else objects
    rows = [row for name, raw in objects for row in parser.parse_object(raw, name)]
    assert len(rows) == len(expected)
    assert not [row.failures for row in rows if row.failures], "every case converts"
    runner = SuiteRunner(feed)
    meta = {expectation_key(e): e["meta"] for e in runner.suite_config["expectations"]}
    assert {key for key in expected if key} <= set(meta), "a rule left the suite"
    warning = {key for key in meta if meta[key]["severity"] == "warning"}
    columns = parser.COLUMNS + parser.CHECK_COLUMNS
    assert runner.check([r for r, key in zip(rows, expected) if key not in warning], columns) == []
    for row, key in zip(rows, expected):
        failed = {(f.rule, f.message) for f in row.failures}
        if key is None:
            assert not failed, (feed, row.source_row, failed)
        elif key not in warning:
            assert (key.split("(")[0], meta[key]["message"]) in failed, (feed, key, failed)
    runner.reset()
    warned = [(row, key) for row, key in zip(rows, expected) if key in warning]
    assert runner.check([row for row, _ in warned], columns) == []
    assert not [row.failures for row, _ in warned if row.failures], "warnings load"
    assert {key: tally.unexpected_count for key, tally in runner.tallies.items()
            if key in warning} == {key: [k for _, k in warned].count(key) for key in warning}
