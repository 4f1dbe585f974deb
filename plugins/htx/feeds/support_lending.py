"""Feed 3 contract parser: one landed lending report of the Vietnam Bank for Social Policies
(Ngân hàng Chính sách xã hội, VBSP) → typed loan contracts of the provincial cooperative-support
trust fund. File `lending/vbsp_YYYYMM.xlsx`, sheet `BaoCao`, a full snapshot as of its report date:

    row 1   BÁO CÁO CHO VAY HỖ TRỢ PHÁT TRIỂN HỢP TÁC XÃ        (title, not checked)
    row 2   Đến ngày dd/mm/yyyy                                  → report_date
    row 3   Đơn vị: triệu đồng                                   (amounts in million VND)
    row 4   A: Tổng nguồn vốn ủy thác:   C: <fund size>          → fund_size_trieu
    row 6   STT | Mã số HTX | Tên HTX | Số hợp đồng | Ngày giải ngân | Số tiền giải ngân | Dư nợ |
            Nhóm nợ | Ngày đến hạn
    rows 7… one row per loan contract ever disbursed (repaid ones: Dư nợ 0)
    last    Tổng cộng (column C) with the totals of Số tiền giải ngân and Dư nợ

Whole-file problems raise `RejectedObject` (nothing of the file loads): not an XLSX workbook, no
`BaoCao` sheet, a missing or unparseable report date, a unit other than triệu đồng, no fund size,
a missing column, no totals row, content after it, or a workbook beyond the XLSX limits
(htx.feeds.xlsx: bytes, unzipped bytes, rows, columns). Totals that do not reconcile are the
feed's table-level rule, `reconcile_totals` (its declared batch check, `Feed.batch_check`): the
pipeline rejects the whole file on it, before anything of it is validated or staged.

Decisions where the contract is silent (the value rules are the suite's: see
include/expectations/support_lending.json):
  * Numbers are read as Excel holds them — 15 significant digits — into exact Decimals (a cell
    showing 150.3 is 150.3, not the binary float 150.30000000000001). Text in an amount cell is
    refused, not guessed: `40.341` could be forty or forty thousand in Vietnamese notation.
  * Totals reconcile against EVERY detail row as parsed (the bank totals its whole sheet),
    including rows later quarantined, exactly with Decimal, allowing only what is smaller than half
    a unit of the finest decimal place the column's detail amounts use (|total − sum| <
    0.5 × 10^-d): below the file's own precision a difference is Excel's binary arithmetic, not a
    discrepancy. Each row also carries the file's totals and detail-row count, so core can show
    when quarantined rows make the loaded figures fall short of the bank's.
  * Headers are found by name in row 6 (NFC, whitespace collapsed, exact otherwise); the totals
    label is looked for in the `Tên HTX` column (column C in the contract's layout). Only the
    contract's columns are read below row 6: a row with nothing in them is skipped as blank, and
    one with something in them after the totals row rejects the file.
  * A contract number repeated in a file: the first row counts, later ones are quarantined (derived
    check `contract_no_first_in_file`), so one contract is never counted twice.
  * `Mã số HTX` stored as a number (Excel drops leading zeros) is padded back to 10 digits.
The whole sheet is read before the first row is yielded: a file is either reconciled or rejected.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, BinaryIO, Iterator

from stdnum.vn import mst

from htx.feeds.common import ParsedRow, RejectedObject, header_positions
from htx.feeds.common import blank_cell as _blank, cell_text as _clean_text
from htx.feeds.common import excel_decimal as _excel_decimal
from htx.feeds.xlsx import open_workbook

# Function-local imports: openpyxl's helpers only for a message that names a column letter.

# Staged columns, in COPY order (lineage columns come first, added by the pipeline). The first five
# are the file's own facts, repeated on each of its rows: each file is a snapshot as of its date.
COLUMNS = (
    "report_date", "fund_size_trieu", "file_detail_rows", "file_disbursed_total_trieu",
    "file_outstanding_total_trieu",
    "stt", "htx_code", "htx_name", "contract_no", "disbursed_on", "disbursed_trieu",
    "outstanding_trieu", "debt_group", "due_on",
)
# Derived facts the suite checks (None = not checkable because a value it needs is missing).
CHECK_COLUMNS = (
    "htx_code_check_digit_ok", "contract_no_first_in_file", "disbursed_by_report_date",
    "debt_group_given_when_outstanding", "outstanding_within_disbursed", "due_after_disbursement",
)

SHEET = "BaoCao"
DATE_ROW, UNIT_ROW, FUND_ROW, HEADER_ROW = 2, 3, 4, 6
EXPECTED_UNIT = "triệu đồng"
FUND_LABEL = "Tổng nguồn vốn ủy thác:"
TOTALS_LABEL = "Tổng cộng"
# Contract header → staged column, in the contract's column order (A…I).
HEADERS = {
    "STT": "stt",                             # row number (số thứ tự)
    "Mã số HTX": "htx_code",                  # the cooperative's tax code (MST)
    "Tên HTX": "htx_name",
    "Số hợp đồng": "contract_no",             # loan contract number
    "Ngày giải ngân": "disbursed_on",         # disbursement date
    "Số tiền giải ngân": "disbursed_trieu",   # amount disbursed
    "Dư nợ": "outstanding_trieu",             # outstanding balance
    "Nhóm nợ": "debt_group",                  # debt classification group 1–5
    "Ngày đến hạn": "due_on",                 # maturity date
}
HEADERS = {unicodedata.normalize("NFC", name): column for name, column in HEADERS.items()}
NAME_COLUMN = "Tên HTX"
# Each total of the `Tổng cộng` row → the staged column repeating it on every row.
TOTAL_COLUMNS = {"Số tiền giải ngân": "file_disbursed_total_trieu",
                 "Dư nợ": "file_outstanding_total_trieu"}
# A file fact kept on each row for the batch check only (neither staged nor checked by the suite).
TOTALS_ROW = "totals_row"

_DMY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_REPORT_DATE = re.compile(r"^đến ngày\s*(\S+)$")
_UNIT = re.compile(r"^đơn vị(?: tính)?\s*:\s*(.*)$")  # "Đơn vị tính:" is the same label


@dataclass(frozen=True)
class ReportHeader:
    report_date: date
    fund_size_trieu: Decimal


@dataclass(frozen=True)
class Totals:
    row: int
    amounts: dict[str, Decimal]   # contract header → the file's total


def parse_object(raw: bytes | BinaryIO, source_object: str) -> Iterator[ParsedRow]:
    """The contract rows of one report, in sheet order, after the file has been reconciled."""
    with open_workbook(raw, source_object) as book:
        head = book.rows(SHEET, last=HEADER_ROW)
        header = _report_header(head, source_object)
        positions = _column_positions(head, source_object)
        # Only the contract's columns are read: other columns, and rows with nothing in the
        # contract's columns, are ignored (as blank rows are).
        body = book.rows(SHEET, columns=list(positions.values()), first=HEADER_ROW + 1)
    details, totals = _details_and_totals(body, positions, source_object)
    parsed = [_parse_detail(number, cells, source_object) for number, cells in details]
    if not parsed and _unreconciled(parsed, totals):
        # No row carries the totals to the batch check: a report of no contract is checked here.
        raise RejectedObject(source_object, _unreconciled(parsed, totals)[0])
    _flag_repeated_contracts(parsed)
    for row in parsed:
        _add_file_facts(row, header, totals, len(parsed))
        _add_checks(row)
        yield row


# --- the sheet's rows: row number → cell values (only rows that hold a value) -----------------

def _cell(rows: dict[int, tuple], row: int, column: int) -> Any:
    """The value at a 1-based (row, column), None beyond what the sheet holds."""
    cells = rows.get(row, ())
    return cells[column - 1] if column <= len(cells) else None


def _row_text(rows: dict[int, tuple], row: int) -> str:
    """A title row's text: its non-empty cells joined (titles are often merged or split)."""
    return " ".join(_display(value) for value in rows.get(row, ()) if not _blank(value))


# --- the report's header rows ---------------------------------------------------------------

def _report_header(rows: dict[int, tuple], source_object: str) -> ReportHeader:
    report_date = _report_date(rows, source_object)
    _check_unit(rows, source_object)
    return ReportHeader(report_date, _fund_size(rows, source_object))


def _report_date(rows: dict[int, tuple], source_object: str) -> date:
    text = _row_text(rows, DATE_ROW)
    found = _REPORT_DATE.match(text.casefold())
    if not found:
        raise RejectedObject(source_object, f"row {DATE_ROW} should read 'Đến ngày dd/mm/yyyy' "
                                            f"(the report date) but reads {text!r}")
    report_date = _dmy(found.group(1))
    if report_date is None:
        raise RejectedObject(source_object, f"the report date {found.group(1)!r} in row {DATE_ROW}"
                                            " is not a calendar date dd/mm/yyyy")
    return report_date


def _fund_size(rows: dict[int, tuple], source_object: str) -> Decimal:
    label = _clean_text(_cell(rows, FUND_ROW, 1))
    if _fold(label or "") != _fold(FUND_LABEL):
        raise RejectedObject(source_object, f"A{FUND_ROW} should read {FUND_LABEL!r} but reads "
                                            f"{label!r}")
    value = _cell(rows, FUND_ROW, 3)
    if _blank(value):
        raise RejectedObject(source_object, f"C{FUND_ROW} (the trust fund's size) is empty")
    size = _excel_decimal(value)
    if size is None:
        raise RejectedObject(source_object, f"C{FUND_ROW} (the trust fund's size) is {value!r}, "
                                            "not a number")
    if size < 0:
        raise RejectedObject(source_object,
                             f"C{FUND_ROW} (the trust fund's size) is negative: {size}")
    return size


def _check_unit(rows: dict[int, tuple], source_object: str) -> None:
    text = _row_text(rows, UNIT_ROW)
    found = _UNIT.match(text.casefold())
    if not found or " ".join(found.group(1).split()) != EXPECTED_UNIT:
        raise RejectedObject(source_object, f"row {UNIT_ROW} gives the unit as {text!r}; the "
                                            f"contract's amounts are 'Đơn vị: {EXPECTED_UNIT}'")


def _column_positions(rows: dict[int, tuple], source_object: str) -> dict[str, int]:
    """Contract header → 1-based column, from row 6."""
    return header_positions(rows.get(HEADER_ROW, ()), list(HEADERS), HEADER_ROW, source_object)


def _details_and_totals(body: dict[int, tuple], positions: dict[str, int],
                        source_object: str) -> tuple[list[tuple[int, dict]], Totals]:
    """The rows between the headers and the `Tổng cộng` row (contract header → value), and
    that row's totals. `body` holds the contract's columns, in HEADERS order."""
    details: list[tuple[int, dict]] = []
    numbers = sorted(body)
    for at, number in enumerate(numbers):
        cells = dict(zip(HEADERS, body[number]))
        if all(_blank(v) for v in cells.values()):
            continue
        label = _clean_text(cells[NAME_COLUMN])
        if label is not None and _fold(label) == _fold(TOTALS_LABEL):
            _nothing_after(body, numbers[at + 1:], number, source_object)
            return details, _totals(cells, number, source_object)
        details.append((number, cells))
    raise RejectedObject(source_object, f"no {TOTALS_LABEL!r} totals row (column "
                                        f"{_letter(positions[NAME_COLUMN])}) after the "
                                        f"{len(details)} detail row(s)")


def _nothing_after(body: dict[int, tuple], later: list[int], totals_row: int,
                   source_object: str) -> None:
    for number in later:
        if not all(_blank(v) for v in body[number]):
            raise RejectedObject(source_object, f"row {number} follows the {TOTALS_LABEL!r} row "
                                                f"{totals_row}, which must be the last row")


def _totals(cells: dict, number: int, source_object: str) -> Totals:
    amounts = {}
    for header in TOTAL_COLUMNS:
        value = cells[header]
        amount = _excel_decimal(value)
        if amount is None:
            raise RejectedObject(source_object, f"the {TOTALS_LABEL!r} row {number} has no "
                                                f"numeric {header!r} total (found {value!r})")
        amounts[header] = amount
    return Totals(number, amounts)


# --- one contract row -----------------------------------------------------------------------

def _parse_detail(number: int, delivered: dict, source_object: str) -> ParsedRow:
    row = ParsedRow(source_object, number, delivered)
    v = row.values
    v["stt"] = _clean_text(delivered["STT"])
    v["htx_code"] = _tax_code(row, delivered["Mã số HTX"])
    v["htx_name"] = _clean_text(delivered["Tên HTX"])
    v["contract_no"] = _clean_text(delivered["Số hợp đồng"])
    v["disbursed_on"] = _date(row, "Ngày giải ngân", delivered["Ngày giải ngân"])
    v["disbursed_trieu"] = _amount(row, "Số tiền giải ngân", delivered["Số tiền giải ngân"])
    v["outstanding_trieu"] = _amount(row, "Dư nợ", delivered["Dư nợ"])
    v["debt_group"] = _debt_group(row, delivered["Nhóm nợ"])
    v["due_on"] = _date(row, "Ngày đến hạn", delivered["Ngày đến hạn"])
    return row


def _tax_code(row: ParsedRow, value: Any) -> str | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        # A code typed into a number cell loses its leading zeros (0101234567 → 101234567).
        if value == int(value) and 0 <= value < 10**10:
            return f"{int(value):010d}"
        row.fail("htx_code", "is_tax_code", value, "Mã số HTX is not a 10-digit tax code")
        return None
    return _clean_text(value)


def _date(row: ParsedRow, header: str, value: Any) -> date | None:
    if _blank(value):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    parsed = _dmy(_clean_text(value)) if isinstance(value, str) else None
    if parsed is None:
        row.fail(HEADERS[header], "is_date", value,
                 f"{header} is not a date (an Excel date or dd/mm/yyyy)")
    return parsed


def _amount(row: ParsedRow, header: str, value: Any) -> Decimal | None:
    if _blank(value):
        return None
    amount = _excel_decimal(value)
    if amount is None:
        row.fail(HEADERS[header], "is_number", value, f"{header} is not a number (triệu đồng)")
    return amount


def _debt_group(row: ParsedRow, value: Any) -> int | None:
    if _blank(value):
        return None
    number = _excel_decimal(value)
    if number is None and isinstance(value, str) and value.strip().isdigit():
        number = Decimal(value.strip())
    if number is None or number != number.to_integral_value():
        row.fail("debt_group", "is_integer", value, "Nhóm nợ is not a whole number")
        return None
    return int(number)


# --- across the file ------------------------------------------------------------------------

def reconcile_totals(rows: list[ParsedRow], source_object: str) -> list[str]:
    """The feed's batch check (htx.feeds.kit.BatchCheck): the bank's totals, which every row
    carries, must equal the sum of all the file's detail rows as parsed (see module doc)."""
    if not rows:
        return []
    facts = rows[0].values
    totals = Totals(facts[TOTALS_ROW], {header: facts[column]
                                        for header, column in TOTAL_COLUMNS.items()})
    return _unreconciled(rows, totals)


def _unreconciled(rows: list[ParsedRow], totals: Totals) -> list[str]:
    lines, mismatched = [], False
    for header in TOTAL_COLUMNS:
        column = HEADERS[header]
        amounts = [r.values[column] for r in rows if r.values[column] is not None]
        detail_sum = sum(amounts, Decimal(0))
        file_total = totals.amounts[header]
        decimals = max((max(0, -a.as_tuple().exponent) for a in amounts), default=0)
        differs = abs(file_total - detail_sum) >= Decimal("0.5").scaleb(-decimals)
        mismatched |= differs
        unreadable = len(rows) - len(amounts)
        lines.append(f"{header}: file total {_figure(file_total)}, sum of the {len(rows)} detail "
                     f"rows {_figure(detail_sum)}"
                     + (f" (difference {_figure(file_total - detail_sum)})" if differs else "")
                     + (f" ({unreadable} row(s) without a readable amount)" if unreadable else ""))
    if not mismatched:
        return []
    return [f"the {TOTALS_LABEL!r} row {totals.row} does not reconcile with the detail rows: "
            + "; ".join(lines)]


def _flag_repeated_contracts(parsed: list[ParsedRow]) -> None:
    seen: set[str] = set()
    for row in parsed:
        number = row.values["contract_no"]
        row.values["contract_no_first_in_file"] = None if number is None else number not in seen
        if number is not None:
            seen.add(number)


def _add_file_facts(row: ParsedRow, header: ReportHeader, totals: Totals, detail_rows: int) -> None:
    row.values.update(
        report_date=header.report_date, fund_size_trieu=header.fund_size_trieu,
        file_detail_rows=detail_rows,
        **{column: totals.amounts[header] for header, column in TOTAL_COLUMNS.items()},
        **{TOTALS_ROW: totals.row})


def _add_checks(row: ParsedRow) -> None:
    v = row.values
    code, disbursed_on, due_on = v["htx_code"], v["disbursed_on"], v["due_on"]
    disbursed, outstanding = v["disbursed_trieu"], v["outstanding_trieu"]
    v["htx_code_check_digit_ok"] = (mst.is_valid(code) if code and re.fullmatch(r"\d{10}", code)
                                    else None)
    v["disbursed_by_report_date"] = (None if disbursed_on is None
                                     else disbursed_on <= v["report_date"])
    v["debt_group_given_when_outstanding"] = (None if outstanding is None
                                              else outstanding <= 0 or v["debt_group"] is not None)
    v["outstanding_within_disbursed"] = (None if outstanding is None or disbursed is None
                                         else outstanding <= disbursed)
    v["due_after_disbursement"] = (None if due_on is None or disbursed_on is None
                                   else due_on >= disbursed_on)


# --- values ---------------------------------------------------------------------------------

def _dmy(text: str | None) -> date | None:
    found = _DMY.match(text or "")
    if not found:
        return None
    day, month, year = (int(part) for part in found.groups())
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _display(value: Any) -> str:
    if isinstance(value, (datetime, date)):
        return value.strftime("%d/%m/%Y")
    return _clean_text(value) or ""


def _fold(text: str) -> str:
    """Case, diacritics and spacing removed: 'ủy' and 'uỷ' (two accepted spellings) fold alike."""
    decomposed = unicodedata.normalize("NFD", text.casefold()).replace("đ", "d")
    return re.sub(r"[^a-z0-9]", "", "".join(c for c in decomposed if not unicodedata.combining(c)))


def _figure(amount: Decimal) -> str:
    return f"{amount:,}"


def _letter(column: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(column)
