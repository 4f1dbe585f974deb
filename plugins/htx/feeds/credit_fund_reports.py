"""Feed 4 contract parser: one quarterly report of a people's credit fund (QTDND, quỹ tín dụng
nhân dân) — one JSON file `credit_funds/<fund_code>_<YYYY>Q<q>.json` → one typed row.

Whole-file problems reject the file (not UTF-8, not JSON, not an object, a contract key missing,
`unit` other than `trieu_dong`): nothing of it could be read safely. A value of the wrong type
fails the row. Rules about values — the balance sheet adding up, a quarter-end date, the MST check
digit, the file name agreeing with the content — are the expectation suite's.
"""
from __future__ import annotations

import calendar
import re
from datetime import date
from decimal import Decimal
from typing import Any, BinaryIO, Iterator

from stdnum.vn import mst

from htx import limits
from htx.feeds import jsondoc
from htx.feeds.common import (ParsedRow, RejectedObject, holds, json_date, json_text,
                              json_timestamp, json_whole_number, read_whole)

# Staged columns, in COPY order (lineage columns come first, added by the pipeline).
# Amounts are in trieu_dong (million VND), as the contract delivers them.
COLUMNS = (
    "fund_code", "fund_name", "period_end", "revision", "submitted_at",
    "total_capital", "equity", "deposits", "loans_outstanding", "npl",
    "members", "members_pending", "employees",
    "revenue_ytd", "revenue_from_members_ytd", "profit_ytd",
    "dividend_rate_pct", "avg_employee_income_month",
)
# Derived facts the suite checks (meta.field names the source field each one is about).
CHECK_COLUMNS = ("fund_code_check_digit_ok", "period_end_is_quarter_end",
                 "equity_deposits_within_capital", "npl_within_loans",
                 "file_name", "file_name_agrees")

UNIT = "trieu_dong"
# Contract key → staged column, per object of the report ("" is the top level).
AMOUNT_FIELDS = {
    "balance_sheet": {"total_capital": "total_capital", "equity": "equity", "deposits": "deposits",
                      "loans_outstanding": "loans_outstanding", "npl": "npl"},
    "income_ytd": {"revenue": "revenue_ytd", "revenue_from_members": "revenue_from_members_ytd",
                   "profit": "profit_ytd"},
    "": {"dividend_rate_pct": "dividend_rate_pct",
         "avg_employee_income_month": "avg_employee_income_month"},
}
COUNT_FIELDS = ("revision", "members", "members_pending", "employees")
TOP_LEVEL_KEYS = ("fund_code", "fund_name", "period_end", "revision", "submitted_at", "unit",
                  "balance_sheet", "members", "members_pending", "employees", "income_ytd",
                  "dividend_rate_pct", "avg_employee_income_month")

# The contract's file name; the landing zone inserts a 12-hex checksum before the extension.
_FILE_NAME = re.compile(r"^(?P<code>[^_/]+)_(?P<year>\d{4})Q(?P<quarter>[1-4])"
                        r"(?:\.[0-9a-f]{12})?\.json$")
_INT_RANGE = 2**31


def parse_object(raw: bytes | BinaryIO, source_object: str) -> Iterator[ParsedRow]:
    """The file's one report as one row (source_row 1)."""
    document = _load(read_whole(raw, source_object, limits.JSON_BYTES), source_object)
    _require_keys(document, source_object)
    if document["unit"] != UNIT:
        raise RejectedObject(source_object, f"unit is {document['unit']!r}; the contract's "
                                            f"amounts are in {UNIT!r} (million VND) only")
    yield parse_report(document, source_object)


def _load(raw: bytes, source_object: str) -> dict:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise RejectedObject(source_object, f"not UTF-8 text: {err}") from None
    # Floats as Decimal: amounts stay exact. NaN/Infinity stay text, so they fail as types.
    document = jsondoc.loads(text, source_object, what="JSON", parse_float=Decimal,
                             parse_constant=str)
    if not isinstance(document, dict):
        raise RejectedObject(source_object, "not a JSON object (a report is one object)")
    return document


def _require_keys(document: dict, source_object: str) -> None:
    missing = [key for key in TOP_LEVEL_KEYS if key not in document]
    for section in ("balance_sheet", "income_ytd"):
        if isinstance(document.get(section), dict):
            missing += [f"{section}.{key}" for key in AMOUNT_FIELDS[section]
                        if key not in document[section]]
    if missing:
        raise RejectedObject(source_object, "missing contract key(s): " + ", ".join(missing))


def parse_report(document: dict, source_object: str) -> ParsedRow:
    row = ParsedRow(source_object, 1, _as_delivered(document))
    v = row.values
    v["fund_code"] = json_text(row, document, "fund_code")
    v["fund_name"] = json_text(row, document, "fund_name")
    v["period_end"] = json_date(row, document, "period_end")
    v["submitted_at"] = json_timestamp(row, document, "submitted_at")
    for key in COUNT_FIELDS:
        v[key] = json_whole_number(row, key, document.get(key), limit=_INT_RANGE)
    for section, fields in AMOUNT_FIELDS.items():
        container = _section(row, document, section)
        for key, column in fields.items():
            v[column] = _amount(row, container, key, f"{section}.{key}" if section else key)
    _derive_checks(v, source_object)
    return row


def _derive_checks(v: dict, source_object: str) -> None:
    code, period_end = v["fund_code"], v["period_end"]
    # None (not checked) where an input is missing: the not-null rules report that instead.
    v["fund_code_check_digit_ok"] = (mst.is_valid(code) if code and re.fullmatch(r"\d{10}", code)
                                     else None)
    v["period_end_is_quarter_end"] = (None if period_end is None
                                      else period_end == quarter_end(period_end))
    v["equity_deposits_within_capital"] = holds(
        lambda: v["equity"] + v["deposits"] <= v["total_capital"],
        v["equity"], v["deposits"], v["total_capital"])
    v["npl_within_loans"] = holds(lambda: v["npl"] <= v["loans_outstanding"],
                                   v["npl"], v["loans_outstanding"])
    v["file_name"] = source_object.rsplit("/", 1)[-1]
    v["file_name_agrees"] = file_name_agrees(v["file_name"], code, period_end)


def file_name_agrees(file_name: str, fund_code: str | None, period_end: date | None) -> bool:
    """The name `<fund_code>_<YYYY>Q<q>.json` names the same fund and quarter as the content."""
    named = _FILE_NAME.match(file_name)
    if not named or fund_code is None or period_end is None:
        return False
    return (named["code"] == fund_code and int(named["year"]) == period_end.year
            and int(named["quarter"]) == (period_end.month - 1) // 3 + 1)


def quarter_end(day: date) -> date:
    """The last day of the quarter `day` falls in."""
    last_month = ((day.month - 1) // 3 + 1) * 3
    return date(day.year, last_month, calendar.monthrange(day.year, last_month)[1])


# --- value conversion: a wrong type fails the row, naming field and value -------------------

def _as_delivered(document: dict) -> dict:
    """The report for quarantine, its numbers as JSON numbers again."""
    def plain(value: Any) -> Any:
        if isinstance(value, Decimal):
            return int(value) if value == value.to_integral_value() else float(value)
        if isinstance(value, dict):
            return {k: plain(x) for k, x in value.items()}
        if isinstance(value, list):
            return [plain(x) for x in value]
        return value
    return plain(document)


def _section(row: ParsedRow, document: dict, section: str) -> dict:
    if not section:
        return document
    container = document[section]
    if not isinstance(container, dict):
        row.fail(section, "is_object", container, "expected an object of amounts")
        return {}
    return container


def _amount(row: ParsedRow, container: dict, key: str, field: str) -> int | Decimal | None:
    value = container.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        row.fail(field, "is_number", value, "expected a number")
        return None
    # Whole amounts as int: plain values in the suite's frame and in quarantine reasons.
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    return value
