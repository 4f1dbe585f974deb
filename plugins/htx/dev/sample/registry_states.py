"""The registry sample's sector vocabulary, and its items read as states as of a date: what the
registry generator, its reform (htx.dev.sample.reform) and the other feeds' generators share."""
from __future__ import annotations

from datetime import date, datetime

from stdnum.vn import mst

VSIC_BY_SECTOR = {
    "nong_nghiep": ["0111", "0112", "0118", "0121", "0145", "0146", "0161", "0162", "0210",
                    "0311", "0321", "0322"],
    "cong_nghiep": ["0810", "1010", "1020", "1079", "1610", "2392", "3100", "3510"],
    "ve_sinh_moi_truong": ["3600", "3811", "3821", "3900"],
    "xay_dung": ["4100", "4210", "4290", "4330"],
    "van_tai": ["4931", "4932", "4933", "5022", "5221"],
    "thuong_mai_dich_vu": ["4620", "4711", "4722", "5510", "5610", "6810", "7020", "7490",
                           "8130", "9312", "9610"],
    "khac": ["8510", "8532", "8610", "8810", "9700"],
}
VSIC_BY_THT_GROUP = {"nong_lam_ngu": VSIC_BY_SECTOR["nong_nghiep"],
                     "cong_nghiep_tthc": VSIC_BY_SECTOR["cong_nghiep"],
                     "khac": ["4711", "5610", "9610", "4933", "3811"]}


def states_as_of(items: list[dict], as_of: date) -> dict[str, dict]:
    """Each valid entity's state as of a date (latest status_since ≤ as_of, ties: updated_at),
    for generators of the other feeds that must agree with the registry. Invalid sample records
    (no code, bad check digit, unknown status, impossible dates) are left out, as the pipeline
    quarantines them."""
    valid_status = {"dang_hoat_dong", "tam_ngung_kinh_doanh", "dang_giai_the", "da_giai_the",
                    "bi_thu_hoi", "khong_hoat_dong_tai_dia_chi"}
    best: dict[str, dict] = {}
    for item in items:
        code = item.get("entity_code")
        if not code or not mst.is_valid(code) or item["status"] not in valid_status:
            continue
        try:
            since = date.fromisoformat(item["status_since"])
            date.fromisoformat(item["registered_on"])
        except ValueError:
            continue
        if since > as_of:
            continue
        key = (item["status_since"], datetime.fromisoformat(item["updated_at"]))
        held = best.get(code)
        if held is None or key > (held["status_since"], datetime.fromisoformat(held["updated_at"])):
            best[code] = item
    return best


def operating_as_of(items: list[dict], entity_type: str, as_of: date) -> list[dict]:
    """Entities of a type registered by `as_of` and not dissolved as of it, sorted by code."""
    return sorted((s for s in states_as_of(items, as_of).values()
                   if s["entity_type"] == entity_type and s["status"] != "da_giai_the"
                   and date.fromisoformat(s["registered_on"]) <= as_of),
                  key=lambda s: s["entity_code"])
