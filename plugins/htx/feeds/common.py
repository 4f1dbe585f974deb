"""What every contract parser produces: typed rows that remember where they came from."""
from __future__ import annotations

import csv
import hashlib
import json
import math
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, BinaryIO, Callable, Iterator, NamedTuple, TextIO

from htx import limits
from htx.errors import Rejection
from htx.limits import Limit


# What a failure shows instead of a personal value.
REDACTED = "<redacted>"


@dataclass(frozen=True)
class Failure:
    """One broken rule of one row: the quarantine reason names the field, rule and value."""
    field: str
    rule: str
    value: Any
    message: str

    def describe(self) -> str:
        return f"{self.field}: {self.message} ({jsonable(self.value)!r})"

    def as_json(self) -> dict:
        return {"field": self.field, "rule": self.rule, "value": jsonable(self.value),
                "message": self.message}


@dataclass
class ParsedRow:
    source_object: str
    source_row: int            # 1-based position in the source object
    record: Any                # the row as delivered, for quarantine
    values: dict = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    size: int = field(default=0, compare=False)   # about how much source text (0: small): chunks

    def fail(self, field_name: str, rule: str, value: Any, message: str) -> None:
        self.failures.append(Failure(field_name, rule, value, message))


class RejectedObject(Rejection):
    """The whole delivered object is unusable (not the contract's format): nothing of it loads.
    Its message gives the reason first, then the object (a long landed path must not hide it)."""
    names_its_object = True

    def __init__(self, source_object: str, message: str):
        super().__init__(f"{message} — {source_object}")
        self.source_object, self.reason = source_object, message


def read_whole(source: bytes | BinaryIO, source_object: str, limit: Limit) -> bytes:
    """A delivery that is parsed whole, as bytes: given as bytes, or read from a binary file
    object — never more than the limit allows, so an oversized one costs no memory."""
    allowed = limit.value()
    raw = source if isinstance(source, bytes) else source.read(allowed + 1)
    if len(raw) > allowed:
        raise RejectedObject(source_object, f"larger than the limit of {limit.named(allowed)}")
    return raw


class BoundedLines:
    """A text stream's lines for csv.reader, never more than limits.CSV_LINE_CHARS to a CSV row
    (its line, or its lines when a quoted field holds line breaks): a longer row rejects the file
    before it is held in memory — a 64 MiB file of one line costs no more than a short one.
    The reader calls `row_read()` after each row it takes."""

    def __init__(self, text: TextIO, source_object: str):
        self.text, self.source_object = text, source_object
        self.longest = limits.CSV_LINE_CHARS.value()
        # csv's own field limit (128 KiB) must never refuse what this limit lets through.
        csv.field_size_limit(max(csv.field_size_limit(), self.longest))
        self.used = 0                  # characters of the row being read
        self.lines = self.row_start = 0

    def __iter__(self) -> Iterator[str]:
        while line := self.text.readline(self.longest - self.used + 1):
            if self.used == 0:
                self.row_start = self.lines + 1
            self.lines += 1
            self.used += len(line)
            if self.used > self.longest:
                limit = limits.CSV_LINE_CHARS.named(self.longest)
                raise RejectedObject(self.source_object, f"a CSV row longer than the limit of "
                                                         f"{limit}, from line {self.row_start}")
            yield line

    def row_read(self) -> None:
        self.used = 0


def jsonable(value: Any) -> Any:
    """A value as JSON holds it: dates ISO, exact amounts as text, anything else by its repr."""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):  # exact amounts stay exact, as text
        return str(value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return repr(value)


def record_hash(values: dict, columns: tuple[str, ...]) -> str:
    """A stable fingerprint of a row's business content (lineage excluded)."""
    canonical = json.dumps([jsonable(values.get(c)) for c in columns], ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


# JSON feeds (the registry API, credit-fund reports) share these field conversions.
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def json_date(row: ParsedRow, document: dict, key: str) -> date | None:
    """`YYYY-MM-DD` → date; anything else fails the row (missing → None)."""
    value = document.get(key)
    if value is None:
        return None
    if isinstance(value, str) and _ISO_DATE.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    row.fail(key, "is_date", value, "not a calendar date YYYY-MM-DD")
    return None


def json_timestamp(row: ParsedRow, document: dict, key: str) -> datetime | None:
    """RFC 3339 with an offset → aware datetime; a naive or malformed one fails the row."""
    value = document.get(key)
    if value is None:
        return None
    try:
        parsed = (datetime.fromisoformat(value.replace("Z", "+00:00"))
                  if isinstance(value, str) else None)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        row.fail(key, "is_rfc3339", value, "not an RFC 3339 timestamp with offset")
        return None
    return parsed


# Spreadsheet feeds (support lending, plan targets) share these cell conversions.
def excel_decimal(value: Any) -> Decimal | None:
    """A numeric cell as an exact Decimal at Excel's 15 significant digits; None if not a number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float) and math.isfinite(value):
        number = Decimal(format(value, ".15g"))
        whole = number == number.to_integral_value()
        return number.quantize(Decimal(1)) if whole else number.normalize()
    return None


def cell_text(value: Any) -> str | None:
    """Text as NFC with whitespace collapsed; whole numbers without '.0'; None when empty."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = " ".join(unicodedata.normalize("NFC", str(value)).split())
    return text or None


def blank_cell(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


# --- conversions every parser may share ---------------------------------------------------------

def holds(rule: Callable[[], bool], *inputs) -> bool | None:
    """A derived check: None (not checkable) when an input is missing, else the rule's verdict."""
    return None if any(x is None for x in inputs) else rule()


def json_text(row: ParsedRow, document: dict, key: str, personal: bool = False) -> str | None:
    """A JSON string as NFC with whitespace collapsed (None when absent or empty); anything but
    a string, or one holding NUL, fails the row. `personal`: a failure names the field, never
    its value (the reason reaches logs, Data Docs and alerts; the quarantined record keeps it)."""
    value = document.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        row.fail(key, "is_text", REDACTED if personal else value, "expected a string")
        return None
    if "\x00" in value:
        row.fail(key, "no_nul", REDACTED if personal else value, "contains a NUL character")
        return None
    return " ".join(unicodedata.normalize("NFC", value).split()) or None


def json_whole_number(row: ParsedRow, field_name: str, value: Any,
                      limit: int = 2**63) -> int | None:
    """A JSON number that is whole (12, 12.0; Decimal or float as the reader gave it) → int;
    anything else fails the row (is_integer), as does one of `limit` or more (in_range)."""
    if value is None:
        return None
    finite = (isinstance(value, int) and not isinstance(value, bool)
              or isinstance(value, float) and math.isfinite(value)
              or isinstance(value, Decimal) and value.is_finite())
    # `// 1`, not int(): a Decimal beyond its context's precision (1e308) raises, as the credit
    # funds' reader always did — an error no rule foresaw, which rejects that delivery alone.
    if not finite or value != value // 1:  # JSON NaN/Infinity, text, objects: no number
        row.fail(field_name, "is_integer", value, "expected a whole number")
        return None
    if abs(value) >= limit:
        row.fail(field_name, "in_range", value, "too large")
        return None
    return int(value)


class HeaderProblems(NamedTuple):
    """What keeps a header row from being exactly the contract's columns (in any order)."""
    missing: list[str]      # the contract's, absent
    unexpected: list[str]   # not the contract's
    repeated: list[str]     # given more than once, sorted

    @classmethod
    def of(cls, names: list[str], expected) -> "HeaderProblems":
        return cls([name for name in expected if name not in names],
                   [name for name in names if name not in expected],
                   sorted({name for name in names if names.count(name) > 1}))


def delimiter_found(header_cell: str, candidates: str) -> str | None:
    """The first of `candidates` in a header read as one cell: the delimiter the file uses."""
    return next((d for d in candidates if d in header_cell), None)


def header_positions(cells: tuple, expected: list[str], header_row: int, source_object: str,
                     first: int = 1) -> dict[str, int]:
    """Contract header → its column in a spreadsheet's header row (numbered from `first`),
    found by name (cell_text); a header missing or given twice rejects the file."""
    found: dict[str, int] = {}
    for column, value in enumerate(cells, start=first):
        name = cell_text(value)
        if name is None:
            continue
        if name in found and name in expected:
            raise RejectedObject(source_object,
                                 f"column {name!r} appears twice in row {header_row}")
        found.setdefault(name, column)
    missing = [name for name in expected if name not in found]
    if missing:
        raise RejectedObject(
            source_object,
            f"row {header_row} lacks the column(s) {', '.join(map(repr, missing))}; it holds "
            f"{', '.join(map(repr, found)) or 'nothing'}")
    return {name: found[name] for name in expected}
