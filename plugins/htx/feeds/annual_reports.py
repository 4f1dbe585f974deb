"""Feed 5 contract parser: a yearly CSV of cooperative annual reports (báo cáo năm),
`annual_reports/bao_cao_nam_YYYY.csv` → one typed row per cooperative.

Whole-file problems reject the file: not UTF-8, no rows at all (empty or header only — a yearly
file with no reports is a broken export, and accepting it would erase the year's reports the
file replaces), not comma-separated, headers missing, renamed or added. A value that is not a
whole number fails its row. Rules about values (non-negative counts, member workers ≤ workers,
managers ≥ trained managers, the MST check digit, a sensible year) are the suite's. When one
file reports a cooperative and year twice, the later row counts (core.annual_report_latest) and
the earlier one is loaded with a warning.
"""
from __future__ import annotations

import csv
import io
import re
from typing import BinaryIO, Iterator

from stdnum.vn import mst

from htx import limits
from htx.feeds.common import BoundedLines, ParsedRow, RejectedObject, read_whole
from htx.reference import nfc

HEADERS = ("entity_code", "report_year", "members", "workers", "member_workers",
           "avg_income_per_worker_vnd", "managers", "managers_vocational", "managers_college_plus")
INTEGER_FIELDS = HEADERS[1:]
# Staged columns, in COPY order (lineage columns come first, added by the pipeline).
COLUMNS = HEADERS
# Derived facts the suite checks (meta.field names the source field each one is about).
CHECK_COLUMNS = ("entity_code_check_digit_ok", "member_workers_within_workers",
                 "managers_cover_trained", "last_in_file_for_cooperative_year")

_INTEGER = re.compile(r"^-?\d+$")
_LIMIT = {"avg_income_per_worker_vnd": 2**63}   # bigint; the other counts are integer
_INT_LIMIT = 2**31


def parse_object(raw: bytes | BinaryIO, source_object: str) -> Iterator[ParsedRow]:
    """The file's report rows, numbered as a person counts lines (the header is line 1). The file
    is read whole, up to limits.ANNUAL_REPORTS_BYTES, and parsed twice: first to find, for each
    cooperative and year, the row that counts (the last), then to yield the rows one by one —
    memory holds the text, never every row. Rows are bounded by limits.CSV_LINE_CHARS."""
    text = _decoded(read_whole(raw, source_object, limits.ANNUAL_REPORTS_BYTES), source_object)
    counted: dict[tuple, int] = {}
    for row in _rows(text, source_object):
        if not row.failures:
            counted[(row.values["entity_code"], row.values["report_year"])] = row.source_row
        counted.setdefault(("any row",), row.source_row)
    if not counted:
        raise RejectedObject(source_object, "header only: the file holds no report rows")
    for row in _rows(text, source_object):
        if not row.failures:
            key = (row.values["entity_code"], row.values["report_year"])
            row.values["last_in_file_for_cooperative_year"] = counted[key] == row.source_row
        yield row


def _decoded(raw: bytes, source_object: str) -> str:
    try:
        text = nfc(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as err:
        line = raw[:err.start].count(b"\n") + 1
        raise RejectedObject(source_object, f"not UTF-8 text (line {line}): {err}") from None
    if not text.strip():
        raise RejectedObject(source_object, "empty file: no header, no rows")
    return text


def _rows(text: str, source_object: str) -> Iterator[ParsedRow]:
    lines = BoundedLines(io.StringIO(text, newline=""), source_object)
    reader = csv.reader(lines, delimiter=",", quotechar='"', strict=True)
    try:
        header = [name.strip() for name in next(reader)]
    except csv.Error as err:
        raise RejectedObject(source_object, f"unreadable CSV header: {err}") from None
    _check_header(header, source_object)
    strict = _Strict(reader, lines, source_object)
    for values in strict:
        if any(v.strip() for v in values):
            yield parse_record(values, header, source_object, strict.line_num)


def _check_header(header: list[str], source_object: str) -> None:
    if set(header) == set(HEADERS) and len(header) == len(HEADERS):
        return
    if len(header) == 1:
        found = next((d for d in (";", "\t", "|") if d in header[0]), None)
        if found:
            raise RejectedObject(source_object, f"not comma-separated: the header is separated "
                                                f"by {found!r}")
    missing = [name for name in HEADERS if name not in header]
    unexpected = [name for name in header if name not in HEADERS]
    repeated = sorted({name for name in header if header.count(name) > 1})
    problems = ([f"missing column(s): {', '.join(missing)}"] if missing else []) + (
        [f"unexpected column(s): {', '.join(unexpected)}"] if unexpected else []) + (
        [f"repeated column(s): {', '.join(repeated)}"] if repeated else [])
    raise RejectedObject(source_object, "headers are not the contract's: " + "; ".join(problems))


class _Strict:
    """The CSV reader, with a malformed line (an unclosed quote) rejecting the file."""

    def __init__(self, reader, lines: BoundedLines, source_object: str):
        self.reader, self.lines, self.source_object = reader, lines, source_object

    @property
    def line_num(self) -> int:
        return self.reader.line_num

    def __iter__(self):
        while True:
            self.lines.row_read()
            try:
                yield next(self.reader)
            except StopIteration:
                return
            except csv.Error as err:
                message = f"malformed CSV at line {self.reader.line_num}: {err}"
                raise RejectedObject(self.source_object, message) from None


def parse_record(values: list[str], header: list[str], source_object: str, line: int) -> ParsedRow:
    record = dict(zip(header, values))
    row = ParsedRow(source_object, line, record if len(values) == len(header) else values)
    if len(values) != len(header):
        row.fail("row", "field_count", len(values),
                 f"has {len(values)} fields where the header has {len(header)}")
        return row
    v = row.values
    code = record["entity_code"].strip()
    v["entity_code"] = code or None
    for name in INTEGER_FIELDS:
        v[name] = _integer(row, name, record[name])
    v["entity_code_check_digit_ok"] = (mst.is_valid(code) if re.fullmatch(r"\d{10}", code)
                                       else None)
    v["member_workers_within_workers"] = _holds(lambda: v["member_workers"] <= v["workers"],
                                                v["member_workers"], v["workers"])
    v["managers_cover_trained"] = _holds(
        lambda: v["managers"] >= v["managers_vocational"] + v["managers_college_plus"],
        v["managers"], v["managers_vocational"], v["managers_college_plus"])
    v["last_in_file_for_cooperative_year"] = True
    return row


def _integer(row: ParsedRow, name: str, text: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not _INTEGER.match(text):
        row.fail(name, "is_integer", text, "not a whole number")
        return None
    value = int(text)
    if abs(value) >= _LIMIT.get(name, _INT_LIMIT):
        row.fail(name, "in_range", text, "too large")
        return None
    return value


def _holds(rule, *inputs) -> bool | None:
    return None if any(x is None for x in inputs) else rule()
