"""Feed 1 contract parser: one landed API page (JSON) → typed registration rows.

Parsing only converts (NFC text, dates, the MST check) and places the state on the administrative
maps (htx.admin_map: the unit `locality` names in the map in force when the state was recorded, and
the state's district before the reform and unit after it); rules about values (known status, valid
code, a locality the map knows, …) are the expectation suite's, so every rule lives in one place.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any, BinaryIO, Iterator

from stdnum.vn import mst

from htx import limits
from htx.admin_map import place
from htx.feeds import jsondoc
from htx.feeds.common import (REDACTED, ParsedRow, RejectedObject, json_date, json_text,
                              json_timestamp, json_whole_number, read_whole, record_hash)
from htx.reference import vsic_division_known

# Staged columns, in COPY order (lineage columns come first, added by the pipeline).
COLUMNS = (
    "entity_code", "entity_type", "name", "main_vsic", "locality_raw", "locality_code",
    "old_district_code", "new_unit_code", "locality_rule", "address", "registered_on", "status", "status_since", "charter_capital_vnd", "members",
    "legal_rep_name", "legal_rep_id_number", "updated_at", "record_hash",
)
# Columns the suite sees besides COLUMNS: derived facts that need code to compute.
CHECK_COLUMNS = ("entity_code_check_digit_ok", "main_vsic_division_known",
                 "updated_at_not_in_future")


def parse_object(raw: bytes | BinaryIO, source_object: str) -> Iterator[ParsedRow]:
    """Rows of one page `{"items": [...], "next_page_token": ...}`, in page order."""
    raw = read_whole(raw, source_object, limits.JSON_BYTES)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise RejectedObject(source_object, f"not a JSON page: {err}") from None
    page = jsondoc.loads(text, source_object, what="a JSON page")
    items = page.get("items") if isinstance(page, dict) else None
    if not isinstance(items, list):
        raise RejectedObject(source_object, "page has no 'items' list")
    latest = latest_believable()
    share = len(raw) // max(1, len(items))
    for position, item in enumerate(items, start=1):
        row = parse_item(item, source_object, position, latest)
        row.size = share
        yield row


def parse_item(item: Any, source_object: str, position: int,
               latest: datetime | None = None) -> ParsedRow:
    """One item; `latest`: the newest `updated_at` believed (default: now, plus the tolerance)."""
    row = ParsedRow(source_object, position, item)
    if not isinstance(item, dict):
        row.fail("item", "is_object", item, "item is not a JSON object")
        return row
    v = row.values
    v["entity_code"] = json_text(row, item, "entity_code")
    v["entity_type"] = _cased(json_text(row, item, "entity_type"), str.upper)
    v["name"] = json_text(row, item, "name")
    v["main_vsic"] = json_text(row, item, "main_vsic")
    v["locality_raw"] = json_text(row, item, "locality")
    v["address"] = json_text(row, item, "address")
    v["registered_on"] = json_date(row, item, "registered_on")
    v["status"] = _cased(json_text(row, item, "status"), str.lower)
    v["status_since"] = json_date(row, item, "status_since")
    v["charter_capital_vnd"] = json_whole_number(row, "charter_capital_vnd",
                                                 item.get("charter_capital_vnd"))
    # an integer column, not bigint
    v["members"] = json_whole_number(row, "members", item.get("members"), limit=2**31)
    v["legal_rep_name"], v["legal_rep_id_number"] = _representative(row, item)
    v["updated_at"] = json_timestamp(row, item, "updated_at")
    placed = place(v["locality_raw"], v["address"], v["updated_at"])
    v["locality_code"], v["old_district_code"] = placed.locality_code, placed.old_district_code
    v["new_unit_code"], v["locality_rule"] = placed.new_unit_code, placed.rule
    latest = latest or latest_believable()
    v["updated_at_not_in_future"] = None if v["updated_at"] is None else v["updated_at"] <= latest
    code = v["entity_code"]
    # None (not checked) unless the code has the shape the check digit applies to.
    v["entity_code_check_digit_ok"] = (mst.is_valid(code) if code and re.fullmatch(r"\d{10}", code)
                                       else None)
    v["main_vsic_division_known"] = (vsic_division_known(v["main_vsic"])
                                     if v["main_vsic"] and re.fullmatch(r"\d{4}", v["main_vsic"])
                                     else None)
    v["record_hash"] = record_hash(v, COLUMNS[:-1])
    return row


def latest_believable() -> datetime:
    """Now plus the tolerated clock skew. A change recorded later is a clock error at the
    source: loaded, it would carry the cursor past every real change to come."""
    return datetime.now(timezone.utc) + timedelta(seconds=limits.CLOCK_SKEW_SECONDS.value())


def _cased(text: str | None, case) -> str | None:
    return None if text is None else case(text)


def _representative(row: ParsedRow, item: dict) -> tuple[str | None, str | None]:
    rep = item.get("legal_representative")
    if rep is None:
        return None, None
    if not isinstance(rep, dict):
        row.fail("legal_representative", "is_object", REDACTED, "expected an object")
        return None, None
    return (json_text(row, rep, "full_name", personal=True),
            json_text(row, rep, "id_number", personal=True))
