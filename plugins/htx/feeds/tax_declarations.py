"""Feed 2 contract parser: one monthly tax-declaration file (tờ khai thuế) → typed declaration rows.

The provincial tax department drops `tax/to_khai_YYYYMM.csv`: `;` separated, `"` quoted, one header
row of exactly nine Vietnamese headers, in UTF-8 (with or without BOM) or — older exports —
Windows-1258, which the file does not announce. Parsing converts only: the encoding, NFC text,
Vietnamese numbers (`1.234.567`), `dd/mm/yyyy` dates, tax periods (`09/2024`, `Q3/2024`, `2023`)
and branch codes (`NNNNNNNNNN-NNN`) → their 10-digit parent. Rules about values (known form, valid
MST, revision ≥ 0, …) are the expectation suite's, so every rule lives in one place.

Whole-file decisions (the contract is silent on them):
  * a missing, renamed or duplicated column rejects the file, naming the column; so does an extra
    column — "exactly these headers" leaves no room for one, and an unknown column may mean a
    changed export. Columns are matched by name, so their order does not matter;
  * a file with no declaration rows (empty, header only, or only blank lines) is rejected: a
    monthly delivery of nothing is a failed export, not an empty month;
  * blank lines and all-empty rows (`;;;;;;;;`) are skipped; they still count in row numbers.
Row-level decisions: numbers written without any separator (`1234567`) are accepted — they are
unambiguous — but a wrong grouping (`1.2.3`, `12.34`) or a decimal part is not; dates accept one-
or two-digit day and month.
"""
from __future__ import annotations

import calendar
import csv
import io
import re
import unicodedata
from datetime import date
from typing import Iterator

from stdnum.vn import mst

from htx.feeds.common import ParsedRow, RejectedObject, record_hash

# The contract's header of each column → its staged column name.
HEADERS = {
    "Mã số thuế": "tax_code",
    "Tên người nộp thuế": "taxpayer_name",
    "Mẫu tờ khai": "form_code",
    "Kỳ tính thuế": "period_raw",
    "Lần nộp": "revision",
    "Ngày nộp": "filed_on",
    "Doanh thu": "revenue_vnd",
    "Lợi nhuận trước thuế": "profit_before_tax_vnd",
    "Số thuế phải nộp": "tax_payable_vnd",
}
FIELD_HEADER = {column: header for header, column in HEADERS.items()}

# Staged columns, in COPY order (lineage columns come first, added by the pipeline).
COLUMNS = (
    "tax_code", "parent_code", "taxpayer_name", "form_code", "period_raw", "period_kind",
    "period_start", "period_end", "revision", "filed_on", "revenue_vnd", "profit_before_tax_vnd",
    "tax_payable_vnd", "record_hash",
)
# Derived facts the suite checks (None = not applicable, e.g. the code has the wrong shape).
CHECK_COLUMNS = (
    "tax_code_check_digit_ok", "period_fits_form", "revenue_present_on_vat",
    "profit_present_on_cit", "profit_absent_on_vat",
)

VAT_FORM, CIT_FORM = "01/GTGT", "03/TNDN"   # VAT declaration · annual corporate income tax

DELIMITER = ";"
_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_TAX_CODE = re.compile(r"^(\d{10})(?:-\d{3})?$")
_VND = re.compile(r"^-?(?:\d{1,3}(?:\.\d{3})+|\d+)$")
_INTEGER = re.compile(r"^-?\d+$")
_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_MONTH = re.compile(r"^(\d{1,2})/(\d{4})$")
_QUARTER = re.compile(r"^[Qq]([1-4])/(\d{4})$")
_YEAR = re.compile(r"^(\d{4})$")


def parse_object(raw: bytes, source_object: str) -> Iterator[ParsedRow]:
    """Declaration rows of one delivered file, in file order."""
    text = decode(raw, source_object)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=DELIMITER, quotechar='"')
    try:
        header = next(reader, None)
        columns = _check_header(header, source_object)
        delivered = 0
        # Row numbers as a person counts them in a spreadsheet: the header is row 1.
        for number, fields in enumerate(reader, start=2):
            if not any(f.strip() for f in fields):
                continue
            delivered += 1
            yield parse_fields(fields, columns, source_object, number)
    except csv.Error as err:
        raise RejectedObject(source_object, f"not a readable CSV: {err}") from None
    if delivered == 0:
        raise RejectedObject(source_object, "the file holds no declaration rows (empty or "
                                            "header only): an empty delivery is a failed export")


def decode(raw: bytes, source_object: str) -> str:
    """UTF-8 (BOM stripped) when it decodes strictly, else Windows-1258; always NFC.

    Windows-1258 writes some tones as combining marks after a precomposed letter (ệ = ê + ◌̣),
    which only NFC turns back into the one character UTF-8 sources send.
    """
    if raw.startswith(_UTF16_BOMS) or b"\x00" in raw:
        raise RejectedObject(source_object, "holds NUL bytes (UTF-16?): the contract's encodings "
                                            "are UTF-8 and Windows-1258")
    if raw.startswith(_UTF8_BOM):
        try:
            text = raw[len(_UTF8_BOM):].decode("utf-8")
        except UnicodeDecodeError as err:
            raise RejectedObject(source_object,
                                 f"starts with a UTF-8 BOM but is not UTF-8: {err}") from None
    else:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            if not raw[:err.start].isascii():
                # Accented letters decoded as UTF-8 before the bad byte: a damaged UTF-8 file.
                # Read as Windows-1258 it would "decode" into mojibake and fail as schema drift.
                line = raw[:err.start].count(b"\n") + 1
                raise RejectedObject(source_object, (
                    f"UTF-8 up to line {line}, where byte(s) {raw[err.start:err.end]!r} at "
                    f"offset {err.start} are not UTF-8 (a damaged export?)")) from None
            try:
                text = raw.decode("cp1258")
            except UnicodeDecodeError as err:
                raise RejectedObject(source_object,
                                     f"neither UTF-8 nor Windows-1258 (cp1258): {err}") from None
    return unicodedata.normalize("NFC", text)


def _clean_header(name: str) -> str:
    return unicodedata.normalize("NFC", name).replace("\ufeff", "").strip()


def _check_header(header: list[str] | None, source_object: str) -> list[str | None]:
    """The staged column of each position; rejects the file unless the headers are exactly the
    contract's (in any order)."""
    if header is None:
        raise RejectedObject(source_object, "the file is empty: no header row, no declarations")
    names = [_clean_header(h) for h in header]
    if len(names) == 1 and len(HEADERS) > 1:
        found = next((d for d in (",", "\t", "|") if d in names[0]), None)
        hint = f"; the header row looks {found!r}-separated" if found else ""
        raise RejectedObject(source_object, f"the header row is not ';'-separated{hint}: "
                                            f"{header[0][:200]!r}")
    problems = []
    missing = [h for h in HEADERS if h not in names]
    if missing:
        problems.append("missing column(s) " + ", ".join(repr(h) for h in missing))
    unexpected = [n for n in names if n not in HEADERS]
    if unexpected:
        problems.append("unexpected column(s) " + ", ".join(repr(n) for n in unexpected))
    repeated = sorted({n for n in names if n in HEADERS and names.count(n) > 1})
    if repeated:
        problems.append("repeated column(s) " + ", ".join(repr(n) for n in repeated))
    if problems:
        raise RejectedObject(source_object, "schema drift: " + "; ".join(problems)
                             + ". Expected exactly: " + DELIMITER.join(HEADERS))
    return [HEADERS[n] for n in names]


def parse_fields(fields: list[str], columns: list[str], source_object: str,
                 number: int) -> ParsedRow:
    """One data row; conversion failures are recorded on the row (it will be quarantined)."""
    headers = [FIELD_HEADER[c] for c in columns]
    if len(fields) != len(columns):
        row = ParsedRow(source_object, number, {"fields": fields})
        row.fail("row", "field_count", len(fields),
                 f"has {len(fields)} fields, the header has {len(columns)}")
        return row
    row = ParsedRow(source_object, number, dict(zip(headers, fields)))
    raw = {column: value.strip() or None for column, value in zip(columns, fields)}
    v = row.values
    v["tax_code"] = raw["tax_code"]
    code_shape = _TAX_CODE.match(v["tax_code"] or "")
    v["parent_code"] = code_shape.group(1) if code_shape else None
    v["taxpayer_name"] = " ".join(raw["taxpayer_name"].split()) if raw["taxpayer_name"] else None
    v["form_code"] = raw["form_code"].upper() if raw["form_code"] else None
    v["period_raw"] = raw["period_raw"]
    v["period_kind"], v["period_start"], v["period_end"] = _period(row, raw["period_raw"])
    v["revision"] = _integer(row, "revision", raw["revision"])
    v["filed_on"] = _date(row, "filed_on", raw["filed_on"])
    for amount in ("revenue_vnd", "profit_before_tax_vnd", "tax_payable_vnd"):
        v[amount] = _vnd(row, amount, raw[amount])
    v["record_hash"] = record_hash(v, COLUMNS[:-1])
    _derive_checks(v, code_shape is not None)
    return row


def _derive_checks(v: dict, code_has_shape: bool) -> None:
    form = v["form_code"]
    # The whole code through python-stdnum: the parent's check digit (a remainder of 0 is
    # invalid) and, for a branch, a branch number other than 000.
    v["tax_code_check_digit_ok"] = mst.is_valid(v["tax_code"]) if code_has_shape else None
    kinds = {VAT_FORM: ("month", "quarter"), CIT_FORM: ("year",)}.get(form)
    v["period_fits_form"] = (v["period_kind"] in kinds
                             if kinds and v["period_kind"] is not None else None)
    v["revenue_present_on_vat"] = v["revenue_vnd"] is not None if form == VAT_FORM else None
    v["profit_present_on_cit"] = v["profit_before_tax_vnd"] is not None if form == CIT_FORM else None
    v["profit_absent_on_vat"] = v["profit_before_tax_vnd"] is None if form == VAT_FORM else None


def _period(row: ParsedRow, text: str | None) -> tuple[str | None, date | None, date | None]:
    """`MM/YYYY` → month, `Qn/YYYY` → quarter, `YYYY` → year, each with its first and last day."""
    if text is None:
        return None, None, None
    if found := _MONTH.match(text):
        month, year = int(found.group(1)), int(found.group(2))
        if 1 <= month <= 12 and year >= 1:
            return "month", date(year, month, 1), _month_end(year, month)
    elif found := _QUARTER.match(text):
        quarter, year = int(found.group(1)), int(found.group(2))
        if year >= 1:
            return "quarter", date(year, 3 * quarter - 2, 1), _month_end(year, 3 * quarter)
    elif found := _YEAR.match(text):
        year = int(found.group(1))
        if year >= 1:
            return "year", date(year, 1, 1), date(year, 12, 31)
    row.fail("period_raw", "is_tax_period", text,
             "Kỳ tính thuế is not a tax period MM/YYYY, Qn/YYYY or YYYY")
    return None, None, None


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _integer(row: ParsedRow, column: str, text: str | None) -> int | None:
    if text is None:
        return None
    if _INTEGER.match(text) and abs(int(text)) < 2**31:
        return int(text)
    row.fail(column, "is_integer", text, f"{FIELD_HEADER[column]} is not a whole number")
    return None


def _date(row: ParsedRow, column: str, text: str | None) -> date | None:
    if text is None:
        return None
    if found := _DATE.match(text):
        day, month, year = (int(g) for g in found.groups())
        try:
            return date(year, month, day)
        except ValueError:
            pass
    row.fail(column, "is_date", text, f"{FIELD_HEADER[column]} is not a calendar date dd/mm/yyyy")
    return None


def _vnd(row: ParsedRow, column: str, text: str | None) -> int | None:
    """A VND integer in Vietnamese format: `.` groups thousands, a leading `-` when negative."""
    if text is None:
        return None
    if _VND.match(text):
        amount = int(text.replace(".", ""))
        if abs(amount) < 2**63:
            return amount
    row.fail(column, "is_vnd_integer", text,
             f"{FIELD_HEADER[column]} is not a VND integer in Vietnamese format (1.234.567)")
    return None
