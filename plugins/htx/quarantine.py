"""Quarantined rows, written with their reasons: one place for both ingest paths, the Python
parser's (htx.pipeline) and the database reader's (htx.bulk)."""
from __future__ import annotations

import json
import math
from typing import Iterable

from htx import db
from htx.feeds.common import jsonable


def quarantine_rows(cur, feed, batch_id: int, source_object: str,
                    rows: Iterable[tuple[int, list, object]]) -> int:
    """COPY (source_row, failures, record as delivered) into the feed's quarantine table."""
    return db.copy_rows(
        cur, feed.quarantine_table,
        ("batch_id", "source_object", "source_row", "reason", "failures", "record"),
        ((batch_id, source_object, source_row, "; ".join(f.describe() for f in failures),
          jsonb([f.as_json() for f in failures]), jsonb(jsonable(record)))
         for source_row, failures, record in rows))


def jsonb(value) -> str:
    """JSON text for a jsonb column. jsonb holds neither U+0000 nor NaN/Infinity, which a hostile
    source may send (the COPY then failed the whole batch with a bare error): they are kept as
    ␀ (U+2400) and as the text "NaN"/"Infinity"; the landed object keeps the exact bytes."""
    def visible(v):
        if isinstance(v, str):
            return v.replace("\x00", "\u2400")
        if isinstance(v, float) and not math.isfinite(v):
            return json.dumps(v)
        if isinstance(v, dict):
            return {visible(k): visible(x) for k, x in v.items()}
        if isinstance(v, list):
            return [visible(x) for x in v]
        return v
    return json.dumps(visible(value), ensure_ascii=False, allow_nan=False)
