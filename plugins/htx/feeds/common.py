"""What every contract parser produces: typed rows that remember where they came from."""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class Failure:
    """One broken rule of one row: the quarantine reason names the field, rule and value."""
    field: str
    rule: str
    value: Any
    message: str

    def describe(self) -> str:
        return f"{self.field}: {self.message} ({_jsonable(self.value)!r})"

    def as_json(self) -> dict:
        return {"field": self.field, "rule": self.rule, "value": _jsonable(self.value),
                "message": self.message}


@dataclass
class ParsedRow:
    source_object: str
    source_row: int            # 1-based position in the source object
    record: Any                # the row as delivered, for quarantine
    values: dict = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)

    def fail(self, field_name: str, rule: str, value: Any, message: str) -> None:
        self.failures.append(Failure(field_name, rule, value, message))


class RejectedObject(Exception):
    """The whole delivered object is unusable (not the contract's format): nothing of it loads.
    Its message gives the reason first, then the object (a long landed path must not hide it)."""

    def __init__(self, source_object: str, message: str):
        super().__init__(f"{message} — {source_object}")
        self.source_object = source_object
        self.reason = message


def _jsonable(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):  # exact amounts stay exact, as text
        return str(value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return repr(value)


def jsonable(value: Any) -> Any:
    return _jsonable(value)


def record_hash(values: dict, columns: tuple[str, ...]) -> str:
    """A stable fingerprint of a row's business content (lineage excluded)."""
    canonical = json.dumps([_jsonable(values.get(c)) for c in columns], ensure_ascii=False)
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
