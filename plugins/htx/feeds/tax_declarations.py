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
  * blank lines and all-empty rows (`;;;;;;;;`) are skipped; they still count in row numbers;
  * lines may end in LF, CRLF or CR alone; a row longer than limits.CSV_LINE_CHARS (128 Ki
    characters: csv's own field limit) rejects the file, naming the limit and the line.
Row-level decisions: numbers written without any separator (`1234567`) are accepted — they are
unambiguous — but a wrong grouping (`1.2.3`, `12.34`) or a decimal part is not; dates accept one-
or two-digit day and month.
"""
from __future__ import annotations

import calendar
import codecs
import csv
import io
import re
import unicodedata
from datetime import date
from typing import BinaryIO, Iterator, NamedTuple

from stdnum.vn import mst

from htx.feeds.common import (BoundedLines, ParsedRow, RejectedObject, delimiter_found,
                              HeaderProblems)

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
    "tax_payable_vnd",
)
# Derived facts the suite checks (None = not applicable, e.g. the code has the wrong shape).
CHECK_COLUMNS = (
    "tax_code_check_digit_ok", "period_fits_form", "revenue_present_on_vat",
    "profit_present_on_cit", "profit_absent_on_vat",
)

VAT_FORM, CIT_FORM = "01/GTGT", "03/TNDN"   # VAT declaration · annual corporate income tax

# Conversion failures: the message of each field's rule (shared with the bulk reader).
PARSE_MESSAGES = {
    "period_raw": "Kỳ tính thuế is not a tax period MM/YYYY, Qn/YYYY or YYYY",
    "revision": "Lần nộp is not a whole number",
    "filed_on": "Ngày nộp is not a calendar date dd/mm/yyyy",
    "revenue_vnd": "Doanh thu is not a VND integer in Vietnamese format (1.234.567)",
    "profit_before_tax_vnd": "Lợi nhuận trước thuế is not a VND integer in Vietnamese format (1.234.567)",
    "tax_payable_vnd": "Số thuế phải nộp is not a VND integer in Vietnamese format (1.234.567)",
}
EMPTY_DELIVERY = ("the file holds no declaration rows (empty or header only): an empty delivery "
                  "is a failed export")

DELIMITER = ";"
SCAN_BYTES = 1 << 20   # detect_encoding reads this much at a time
_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
# ASCII digits only (`\d` would take ٣ or ３ too), as the bulk reader's SQL does.
_TAX_CODE = re.compile(r"^([0-9]{10})(?:-[0-9]{3})?$")
_VND = re.compile(r"^-?(?:[0-9]{1,3}(?:\.[0-9]{3})+|[0-9]+)$")
_INTEGER = re.compile(r"^-?[0-9]+$")
_DATE = re.compile(r"^([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})$")
_MONTH = re.compile(r"^([0-9]{1,2})/([0-9]{4})$")
_QUARTER = re.compile(r"^[Qq]([1-4])/([0-9]{4})$")
_YEAR = re.compile(r"^([0-9]{4})$")


def parse_object(raw: bytes | BinaryIO, source_object: str) -> Iterator[ParsedRow]:
    """Declaration rows of one delivered file, in file order. `raw` is the file's bytes or a
    seekable binary file object; a file object is read as a stream, in memory bounded by the
    longest row allowed (limits.CSV_LINE_CHARS) rather than the file, and left open (its owner
    closes it)."""
    stream = io.BytesIO(raw) if isinstance(raw, (bytes, bytearray, memoryview)) else raw
    encoding = detect_encoding(stream, source_object)
    text = io.TextIOWrapper(stream, encoding=encoding, newline="")
    try:
        yield from _parse_lines(BoundedLines(text, source_object), source_object)
    finally:
        if not text.closed:
            text.detach()   # without this, the wrapper closes the caller's stream when collected


def _parse_lines(lines: BoundedLines, source_object: str) -> Iterator[ParsedRow]:
    # Line by line NFC equals NFC of the whole text: a line ends with a line break, which
    # nothing composes with and which bounds any reordering of combining marks.
    reader = csv.reader((unicodedata.normalize("NFC", line) for line in lines),
                        delimiter=DELIMITER, quotechar='"')
    try:
        header = next(reader, None)
        lines.row_read()
        columns = check_header(header, source_object)
        delivered = 0
        # Row numbers as a person counts them in a spreadsheet: the header is row 1.
        for number, fields in enumerate(reader, start=2):
            lines.row_read()
            if not any(f.strip() for f in fields):
                continue
            delivered += 1
            row = parse_fields(fields, columns, source_object, number)
            row.size = sum(map(len, fields))
            yield row
    except csv.Error as err:
        raise RejectedObject(source_object, f"not a readable CSV: {err}") from None
    if delivered == 0:
        raise RejectedObject(source_object, EMPTY_DELIVERY)


def detect_encoding(stream: BinaryIO, source_object: str, chunk_bytes: int = SCAN_BYTES) -> str:
    """"utf-8-sig" (a BOM, then UTF-8), "utf-8" when the file decodes strictly, else "cp1258"
    (Windows-1258); rejects a file in none of the contract's encodings. Reads the stream from
    its position to its end in `chunk_bytes` pieces and puts the position back.

    Windows-1258 writes some tones as combining marks after a precomposed letter (ệ = ê + ◌̣),
    which only NFC turns back into the one character UTF-8 sources send: readers normalise.
    """
    start = stream.tell()
    detector = EncodingDetector()
    try:
        while not detector.holds_nul and (chunk := stream.read(chunk_bytes)):
            detector.feed(chunk)
    finally:
        stream.seek(start)
    return detector.verdict(source_object)


class EncodingDetector:
    """detect_encoding's decision, fed the file's bytes in order in chunks of any size — by a
    reader that streams them elsewhere too (htx.bulk feeds it what COPY reads: one read of the
    file for both)."""

    def __init__(self):
        self._head = b""
        self._scan: _EncodingScan | None = None

    @property
    def holds_nul(self) -> bool:
        return self._scan is not None and self._scan.holds_nul

    def feed(self, chunk: bytes) -> None:
        if self._scan is not None:
            self._scan.feed(chunk)
            return
        self._head += chunk
        if len(self._head) >= len(_UTF8_BOM):
            self._start()

    def verdict(self, source_object: str) -> str:
        if self._scan is None:
            self._start()
        self._scan.finish()
        return self._scan.verdict(source_object)

    def _start(self) -> None:
        head, self._head = self._head, b""
        self._scan = _EncodingScan(bom=head.startswith(_UTF8_BOM),
                                   utf16_bom=head.startswith(_UTF16_BOMS))
        self._scan.feed(head)


class _Utf8Error(NamedTuple):
    start: int              # offsets in the file (after a BOM)
    end: int
    bad: bytes
    reason: str
    ascii_before: bool      # only ASCII before it: not UTF-8 at all, rather than damaged UTF-8
    line: int


class _EncodingScan:
    """One pass over a file's bytes, fed in chunks of any size, that finds what decoding the
    whole file at once finds: NUL bytes anywhere, the first byte that is not UTF-8 (a
    multibyte character split between two chunks is carried over, not an error), and the first
    byte Windows-1258 leaves undefined. Offsets count from the file's first byte, UTF-8 ones
    after the BOM when there is one, as decoding the file whole reported them."""

    def __init__(self, bom: bool, utf16_bom: bool):
        self.bom, self.holds_nul = bom, utf16_bom   # a UTF-16 BOM: rejected as NUL bytes are
        self.offset = 0                 # bytes fed so far
        self.utf8_skip = len(_UTF8_BOM) if bom else 0
        self.utf8_done = 0              # bytes decoded as UTF-8 (after the BOM)
        self.utf8_pending = b""         # the start of a character the next chunk completes
        self.utf8_ascii, self.utf8_lines = True, 0   # of the bytes decoded so far
        self.utf8_error: _Utf8Error | None = None
        self.cp1258_error: str | None = None

    def feed(self, chunk: bytes) -> None:
        self.holds_nul = self.holds_nul or b"\x00" in chunk
        if self.cp1258_error is None and not chunk.isascii():
            try:
                chunk.decode("cp1258")
            except UnicodeDecodeError as err:
                self.cp1258_error = _decode_error_text(
                    "charmap", chunk[err.start:err.end], self.offset + err.start,
                    self.offset + err.end, err.reason)
        self.offset += len(chunk)
        skip, self.utf8_skip = min(self.utf8_skip, len(chunk)), max(0, self.utf8_skip - len(chunk))
        self._decode_utf8(chunk[skip:], final=False)

    def finish(self) -> None:
        self._decode_utf8(b"", final=True)

    def _decode_utf8(self, chunk: bytes, final: bool) -> None:
        if self.utf8_error is not None:
            return
        data = self.utf8_pending + chunk if self.utf8_pending else chunk
        try:
            _, consumed = codecs.utf_8_decode(data, "strict", final)
        except UnicodeDecodeError as err:
            before = data[:err.start]
            self.utf8_error = _Utf8Error(
                self.utf8_done + err.start, self.utf8_done + err.end, data[err.start:err.end],
                err.reason, self.utf8_ascii and before.isascii(),
                self.utf8_lines + before.count(b"\n") + 1)
            return
        decoded = data if consumed == len(data) else data[:consumed]
        self.utf8_ascii = self.utf8_ascii and decoded.isascii()
        self.utf8_lines += decoded.count(b"\n")
        self.utf8_done += consumed
        self.utf8_pending = data[consumed:]

    def verdict(self, source_object: str) -> str:
        if self.holds_nul:
            raise RejectedObject(source_object, "holds NUL bytes (UTF-16?): the contract's "
                                                "encodings are UTF-8 and Windows-1258")
        error = self.utf8_error
        if self.bom:
            if error:
                raise RejectedObject(source_object, "starts with a UTF-8 BOM but is not UTF-8: "
                                     + _decode_error_text("utf-8", error.bad, error.start,
                                                          error.end, error.reason))
            return "utf-8-sig"
        if error is None:
            return "utf-8"
        if not error.ascii_before:
            # Accented letters decoded as UTF-8 before the bad byte: a damaged UTF-8 file.
            # Read as Windows-1258 it would "decode" into mojibake and fail as schema drift.
            raise RejectedObject(source_object, (
                f"UTF-8 up to line {error.line}, where byte(s) {error.bad!r} at "
                f"offset {error.start} are not UTF-8 (a damaged export?)"))
        if self.cp1258_error:
            raise RejectedObject(source_object,
                                 f"neither UTF-8 nor Windows-1258 (cp1258): {self.cp1258_error}")
        return "cp1258"


def _decode_error_text(encoding: str, bad: bytes, start: int, end: int, reason: str) -> str:
    """str() of the UnicodeDecodeError that decoding the whole file raises (positions counted
    in the file, not in the chunk that held the bad bytes)."""
    if end == start + 1:
        return f"'{encoding}' codec can't decode byte 0x{bad[0]:02x} in position {start}: {reason}"
    return f"'{encoding}' codec can't decode bytes in position {start}-{end - 1}: {reason}"


def _clean_header(name: str) -> str:
    return unicodedata.normalize("NFC", name).replace("\ufeff", "").strip()


def check_header(header: list[str] | None, source_object: str) -> list[str | None]:
    """The staged column of each position; rejects the file unless the headers are exactly the
    contract's (in any order)."""
    if header is None:
        raise RejectedObject(source_object, "the file is empty: no header row, no declarations")
    names = [_clean_header(h) for h in header]
    if len(names) == 1 and len(HEADERS) > 1:
        found = delimiter_found(names[0], ",\t|")
        hint = f"; the header row looks {found!r}-separated" if found else ""
        raise RejectedObject(source_object, f"the header row is not ';'-separated{hint}: "
                                            f"{header[0][:200]!r}")
    missing, unexpected, repeated = HeaderProblems.of(names, HEADERS)
    problems = [f"{what} column(s) {', '.join(map(repr, found))}" for what, found in (
        ("missing", missing), ("unexpected", unexpected),
        ("repeated", [name for name in repeated if name in HEADERS])) if found]
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
    row.fail("period_raw", "is_tax_period", text, PARSE_MESSAGES["period_raw"])
    return None, None, None


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _integer(row: ParsedRow, column: str, text: str | None) -> int | None:
    if text is None:
        return None
    if _INTEGER.match(text) and abs(int(text)) < 2**31:
        return int(text)
    row.fail(column, "is_integer", text, PARSE_MESSAGES[column])
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
    row.fail(column, "is_date", text, PARSE_MESSAGES[column])
    return None


def _vnd(row: ParsedRow, column: str, text: str | None) -> int | None:
    """A VND integer in Vietnamese format: `.` groups thousands, a leading `-` when negative."""
    if text is None:
        return None
    if _VND.match(text):
        amount = int(text.replace(".", ""))
        if abs(amount) < 2**63:
            return amount
    row.fail(column, "is_vnd_integer", text, PARSE_MESSAGES[column])
    return None
