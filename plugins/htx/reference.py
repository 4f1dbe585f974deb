"""Reference data kept in the repository (`include/reference/*.csv`), loaded into the warehouse.

The locality matcher and the VSIC mapping read the same files, so the parser and the SQL marts
agree by construction.
"""
from __future__ import annotations

import csv
import re
import unicodedata
from functools import lru_cache

from htx.paths import REFERENCE_DIR


def _read(name: str) -> list[dict]:
    with open(REFERENCE_DIR / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _fold(text: str) -> str:
    """Lower-case, without diacritics or spaces: 'TP. Hạ  Long' and 'ha long' fold alike."""
    decomposed = unicodedata.normalize("NFD", text.casefold()).replace("đ", "d")
    letters = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]", "", letters)


# Administrative prefixes written before a locality's name, folded: thành phố / TP, thị xã / TX,
# huyện / H. Longest first, so 'thanhpho' is removed before 'tp' could match.
_PREFIXES = ("thanhpho", "thixa", "huyen", "tp", "tx", "h")


@lru_cache(maxsize=1)
def _locality_keys() -> dict[str, str]:
    keys: dict[str, str] = {}
    for row in _read("localities.csv"):
        for spelling in [row["name"], *filter(None, row["aliases"].split("|"))]:
            keys[_fold(spelling)] = row["locality_code"]
    return keys


def locality_code(raw: str | None) -> str | None:
    """One of the 13 localities' codes for a freely written locality, or None if unknown."""
    if not raw:
        return None
    folded = _fold(raw)
    keys = _locality_keys()
    if folded in keys:
        return keys[folded]
    for prefix in _PREFIXES:
        if folded.startswith(prefix) and folded[len(prefix):] in keys:
            return keys[folded[len(prefix):]]
    return None


@lru_cache(maxsize=1)
def _vsic_divisions() -> frozenset[int]:
    return frozenset(
        division for row in _read("vsic_divisions.csv")
        for division in range(int(row["division_from"]), int(row["division_to"]) + 1))


def vsic_division_known(vsic: str | None) -> bool:
    """Whether a VSIC class's first two digits name a VSIC 2018 division."""
    return bool(vsic) and vsic[:2].isdigit() and int(vsic[:2]) in _vsic_divisions()


def load(cur) -> None:
    """Replace the reference tables with the CSVs' contents (idempotent)."""
    cur.execute("DELETE FROM core.ref_locality")
    for row in _read("localities.csv"):
        cur.execute("INSERT INTO core.ref_locality VALUES (%s, %s, %s)",
                    (row["locality_code"], row["name"], row["kind"]))
    cur.execute("DELETE FROM core.ref_vsic_division")
    for row in _read("vsic_divisions.csv"):
        for division in range(int(row["division_from"]), int(row["division_to"]) + 1):
            cur.execute("INSERT INTO core.ref_vsic_division VALUES (%s, %s, %s, %s, %s)",
                        (division, row["section"], row["plan_sector"], row["tht_group"],
                         row["lhhtx_group"]))
    cur.execute("DELETE FROM mart.plan_target")
    for row in _read("plan_targets.csv"):
        cur.execute("INSERT INTO mart.plan_target VALUES (%s, %s, %s, %s)",
                    (int(row["plan_year"]), row["indicator_code"], row["breakdown"], row["target"]))
