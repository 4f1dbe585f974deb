"""Feed 6 contract parser: one landed target annex of the plan ("Phụ biểu 02") → typed targets.
File `plan_targets/chi_tieu_YYYY.xlsx` (YYYY = plan year), sheet `ChiTieu`:

    row 1   CHỈ TIÊU KẾ HOẠCH PHÁT TRIỂN KINH TẾ TẬP THỂ, HỢP TÁC XÃ NĂM YYYY   → plan_year
    row 2   (Kèm theo Kế hoạch số <số>/KH-UBND ngày dd/mm/yyyy của UBND tỉnh …)  → plan document
    row 4   STT | Chỉ tiêu | Đơn vị tính | Mã chỉ tiêu | Phân tổ | Kế hoạch năm YYYY
    rows 5… section rows (STT I, II…, no code: skipped) and target rows (STT 1, 1.1…)

Whole-file problems raise `RejectedObject`: not an XLSX workbook, no `ChiTieu` sheet, a file name
without its year, a title year unlike the file name's, no plan document in row 2, a missing,
renamed or repeated header, a sheet beyond the XLSX limits (htx.feeds.xlsx), no target row. The rules about values
(a code of the catalogue, a breakdown it has, no negative target, no percentage above 100, a code
and breakdown once per file) are the suite's: include/expectations/plan_targets.json.

Decisions where the contract is silent:
  * Headers are found by name in row 4 (NFC, spaces collapsed); `Kế hoạch năm` must carry the
    plan year. Other columns are ignored.
  * A row is a section row, skipped, when it has neither a code nor a target and its STT is empty
    or a Roman numeral (headings like "Trong đó:" too). Every other non-blank row is a target row:
    loaded or quarantined with its reason.
  * A target cell is a number (read at Excel's 15 significant digits, exactly) or text in
    Vietnamese format: `.` between thousands, `,` before decimals (`1.234,5`). Other text is
    quarantined, never guessed (`1.5` is neither).
  * `Phân tổ` is `key=value` with the spaces around `=` dropped; empty is the total ('').
  * A code and breakdown repeated in the file: every occurrence is quarantined (derived check
    `code_breakdown_once_in_file`), so no target is chosen by position.
"""
from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, BinaryIO, Iterator

from htx.feeds.common import (ParsedRow, RejectedObject, blank_cell, cell_text, excel_decimal,
                              header_positions)
from htx.feeds.xlsx import open_workbook
from htx.reference import indicator_catalogue

# Staged columns, in COPY order (lineage columns come first, added by the pipeline). The first
# three are the annex's own facts, repeated on each of its rows.
COLUMNS = (
    "plan_year", "plan_document_no", "plan_document_date",
    "stt", "indicator_name", "unit_label", "indicator_code", "breakdown", "target",
)
# Derived facts the suite checks (None = not checkable because a value it needs is missing).
CHECK_COLUMNS = ("indicator_code_known", "breakdown_allowed", "percentage_within_100",
                 "code_breakdown_once_in_file")

SHEET = "ChiTieu"
TITLE_ROW, DOCUMENT_ROW, HEADER_ROW = 1, 2, 4
TARGET_HEADER = "Kế hoạch năm {year}"
# Contract header → staged column, in the contract's order (A…F).
HEADERS = {
    "STT": "stt",                      # row number (số thứ tự): I, II… sections; 1, 1.1… targets
    "Chỉ tiêu": "indicator_name",      # the indicator as the annex words it
    "Đơn vị tính": "unit_label",       # unit, as written
    "Mã chỉ tiêu": "indicator_code",   # code of the indicator catalogue
    "Phân tổ": "breakdown",            # '' or key=value
}
# The contract's file name; the landing zone inserts a 12-hex checksum before the extension.
_FILE_NAME = re.compile(r"(?:^|/)chi_tieu_(\d{4})(?:\.[0-9a-f]{12})?\.xlsx$")
_TITLE = re.compile(unicodedata.normalize(
    "NFC", r"^chỉ tiêu kế hoạch phát triển kinh tế tập thể,? hợp tác xã năm (\d{4})$"), re.I)
_DOCUMENT = re.compile(unicodedata.normalize(
    "NFC", r"kèm theo kế hoạch số\s*:?\s*(\S+)\s+ngày\s+(\d{1,2})/(\d{1,2})/(\d{4})"), re.I)
_ROMAN = re.compile(r"^[IVXLC]+\.?$", re.I)
_VN_NUMBER = re.compile(r"^-?(?:\d{1,3}(?:\.\d{3})+|\d+)(?:,\d+)?$")


@dataclass(frozen=True)
class Annex:
    plan_year: int
    document_no: str
    document_date: date


def parse_object(raw: bytes | BinaryIO, source_object: str) -> Iterator[ParsedRow]:
    """The target rows of one annex, in sheet order, once the whole file has been checked."""
    file_year = _file_year(source_object)
    with open_workbook(raw, source_object) as book:
        head = book.rows(SHEET, last=HEADER_ROW)
        annex = _annex(head, file_year, source_object)
        positions = _column_positions(head, annex.plan_year, source_object)
        # Only the contract's columns are read below the headers (htx.feeds.xlsx bounds the rest);
        # positions are 0-based, the reader's columns 1-based.
        body = book.rows(SHEET, columns=[p + 1 for p in positions.values()],
                         first=HEADER_ROW + 1)
    columns = {name: index for index, name in enumerate(positions)}
    parsed = [_parse_row(number, cells, columns, annex, source_object)
              for number, cells in body.items() if _is_target_row(cells, columns)]
    if not parsed:
        raise RejectedObject(source_object, f"no target row below the headers of row {HEADER_ROW}"
                                            " (only blank or section rows)")
    _flag_repeated_pairs(parsed)
    yield from parsed


# --- the annex's title, document and headers ------------------------------------------------

def _file_year(source_object: str) -> int:
    found = _FILE_NAME.search(source_object)
    if not found:
        raise RejectedObject(source_object, "the file name is not chi_tieu_YYYY.xlsx (YYYY: the "
                                            "plan year)")
    return int(found.group(1))


def _annex(rows: dict[int, tuple], file_year: int, source_object: str) -> Annex:
    title = _row_text(rows, TITLE_ROW)
    found = _TITLE.match(title)
    if not found:
        raise RejectedObject(source_object, f"row {TITLE_ROW} should read 'CHỈ TIÊU KẾ HOẠCH PHÁT "
                                            f"TRIỂN KINH TẾ TẬP THỂ, HỢP TÁC XÃ NĂM YYYY' but "
                                            f"reads {title!r}")
    if int(found.group(1)) != file_year:
        raise RejectedObject(source_object, f"the title's year {found.group(1)} (row {TITLE_ROW}) "
                                            f"is not the file name's year {file_year}")
    line = _row_text(rows, DOCUMENT_ROW)
    document = _DOCUMENT.search(line)
    issued = _date(*map(int, document.group(4, 3, 2))) if document else None
    if issued is None:
        raise RejectedObject(source_object, f"row {DOCUMENT_ROW} should read '(Kèm theo Kế "
                                            f"hoạch số <số>/KH-UBND ngày dd/mm/yyyy …)' but "
                                            f"reads {line!r}")
    return Annex(file_year, document.group(1), issued)


def _column_positions(rows: dict[int, tuple], plan_year: int, source_object: str) -> dict[str, int]:
    """Contract header → 0-based column, from row 4."""
    expected = [*HEADERS, TARGET_HEADER.format(year=plan_year)]
    return header_positions(rows.get(HEADER_ROW, ()), expected, HEADER_ROW, source_object,
                            first=0)


# --- one row --------------------------------------------------------------------------------

def _is_target_row(cells: tuple, positions: dict[str, int]) -> bool:
    code, target = (_cell(cells, positions[name]) for name in ("Mã chỉ tiêu", _target(positions)))
    if not (blank_cell(code) and blank_cell(target)):
        return True
    stt = cell_text(_cell(cells, positions["STT"]))
    return stt is not None and not _ROMAN.match(stt)


def _parse_row(number: int, cells: tuple, positions: dict[str, int], annex: Annex,
               source_object: str) -> ParsedRow:
    delivered = {name: _cell(cells, column) for name, column in positions.items()}
    row = ParsedRow(source_object, number, delivered)
    v = row.values
    v.update(plan_year=annex.plan_year, plan_document_no=annex.document_no,
             plan_document_date=annex.document_date)
    for header, column in HEADERS.items():
        v[column] = cell_text(delivered[header])
    v["breakdown"] = re.sub(r"\s*=\s*", "=", v["breakdown"] or "")
    v["target"] = _target_value(row, _target(positions), delivered[_target(positions)])
    _add_checks(row)
    return row


def _target_value(row: ParsedRow, header: str, value: Any) -> Decimal | None:
    if blank_cell(value):
        return None
    number = excel_decimal(value)
    if number is None and isinstance(value, str) and _VN_NUMBER.match(text := value.strip()):
        number = Decimal(text.replace(".", "").replace(",", "."))
    if number is None:
        row.fail("target", "is_number", value, f"{header} is not a number (a number cell or "
                                               "Vietnamese text like 1.234,5)")
    return number


def _add_checks(row: ParsedRow) -> None:
    v = row.values
    indicator = indicator_catalogue().get(v["indicator_code"] or "")
    v["indicator_code_known"] = None if v["indicator_code"] is None else indicator is not None
    v["breakdown_allowed"] = (None if indicator is None
                              else indicator.breakdown_allowed(v["breakdown"], v["plan_year"]))
    v["percentage_within_100"] = (None if indicator is None or v["target"] is None
                                  else indicator.unit != "percent" or v["target"] <= 100)


def _flag_repeated_pairs(parsed: list[ParsedRow]) -> None:
    def pair(row: ParsedRow):
        return row.values["indicator_code"], row.values["breakdown"]

    counts = Counter(pair(row) for row in parsed if row.values["indicator_code"] is not None)
    for row in parsed:
        row.values["code_breakdown_once_in_file"] = (
            None if row.values["indicator_code"] is None else counts[pair(row)] == 1)


# --- values ---------------------------------------------------------------------------------

def _target(positions: dict[str, int]) -> str:
    return next(name for name in positions if name not in HEADERS)


def _cell(cells: tuple, column: int) -> Any:
    return cells[column] if column < len(cells) else None


def _row_text(rows: dict[int, tuple], row: int) -> str:
    """A title row's text: its non-empty cells joined (titles are often merged or split)."""
    cells = rows.get(row, ())
    return " ".join(text for text in map(cell_text, cells) if text)


def _date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None
