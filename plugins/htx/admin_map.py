"""The province's administrative maps across the 2025 reform, and where a registry state lies on
each of them (the catalogue's rule "Locality of an entity … across the 2025 reform", as the
README's "The administrative map across the 2025 reform" tells it).

Reference data (include/reference/): `admin_maps.csv` (each map's validity: the pre-reform map of
13 district-level units until 30/06/2025, the 54 commune-level units from 01/07/2025),
`admin_units/` (both maps and the crosswalk of old communes into new units, with SOURCES.md) and
`admin_unit_aliases.csv` (names of units merged before these maps, e.g. huyện Hoành Bồ).

Names match in NFC ignoring case, the two tone placements of oa/oe/uy and the kind words
(`thành phố`/`TP.`, `thị xã`/`TX.`, `huyện`/`H.`, `phường`/`P.`, `xã`/`X.`, `thị trấn`/`TT.`,
`đặc khu`). A kind word of the other level never matches (`huyện Tiên Yên` after the reform names
the abolished district, not xã Tiên Yên). A name two units of one map and level share (old
communes: Bắc Sơn, Thanh Sơn, Hải Hòa, Đầm Hà) is decided by the kind word alone, and without one
places nothing. Diacritics are not ignored: "Ha Long" is no name of the maps.

The registry parser places every state here (htx.feeds.registrations), and `place_registry_states`
places the stored ones again when the reference data changes (run by `htx migrate`), so the
resolution is Python's alone — Vietnamese case folding and tone placement do not depend on the
warehouse server's locale — and a corrected map needs no replay.
"""
from __future__ import annotations

import csv
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache

from psycopg2.extras import execute_values

from htx.paths import REFERENCE_DIR

VN = timezone(timedelta(hours=7))
CROSSWALK_FILE = "admin_units/quang_ninh_crosswalk_2025.csv"
DISTRICT_KINDS = frozenset({"thanh_pho", "thi_xa", "huyen"})
COMMUNE_KINDS = frozenset({"phuong", "xa", "thi_tran", "dac_khu"})
LEVEL_KINDS = {"district": DISTRICT_KINDS, "commune": COMMUNE_KINDS}

# Kind words as written (folded), each with its kind. Full words need a space after them,
# abbreviations a dot or a space ("Tp.Hạ Long", "TP Hạ Long", "P. Hà Tu").
_KIND_WORDS = {"thành phố": "thanh_pho", "thị xã": "thi_xa", "thị trấn": "thi_tran",
               "huyện": "huyen", "phường": "phuong", "xã": "xa", "đặc khu": "dac_khu"}
_KIND_ABBREVIATIONS = {"tp": "thanh_pho", "tx": "thi_xa", "tt": "thi_tran", "h": "huyen",
                       "p": "phuong", "x": "xa"}


def _either(words) -> str:
    """A regex alternation of the words, longest first ("thị xã" before "xã")."""
    return "|".join(map(re.escape, sorted(words, key=len, reverse=True)))


_LEADING_KIND = re.compile(rf"^(?:(?P<word>{_either(_KIND_WORDS)})\.?\s+"
                           rf"|(?P<abbr>{_either(_KIND_ABBREVIATIONS)})(?:\.\s*|\s+))"
                           r"(?P<name>\S.*)$")
# Where a kind word starts a unit inside an address part ("Thôn 8 xã Đồn Đạc"); inside text an
# abbreviation needs its dot.
_KIND_START = re.compile(rf"(?:^|(?<=\s))(?:(?:{_either(_KIND_WORDS)})\.?\s"
                         rf"|(?:{_either(_KIND_ABBREVIATIONS)})\.)")
_TONES = "\u0300\u0301\u0303\u0309\u0323"   # huyền, sắc, ngã, hỏi, nặng (decomposed)
# oà/òa, oè/òe, uỳ/ùy: a tone written on the first vowel moves to the second (one spelling).
_TONE_ON_FIRST = re.compile(f"(?:(o)([{_TONES}])([ae])|(u)([{_TONES}])(y))"
                            f"(?![\u0302\u0306\u031b{_TONES}])")


def fold(text: str) -> str:
    """A name as the maps compare it: NFC, case folded, one tone placement, spaces collapsed."""
    decomposed = unicodedata.normalize("NFD", text.casefold())
    decomposed = _TONE_ON_FIRST.sub(lambda m: "".join(filter(None, (
        m[1], m[3], m[2], m[4], m[6], m[5]))), decomposed)
    return " ".join(unicodedata.normalize("NFC", decomposed).split()).strip(" .,;:-")


def split_kind(folded: str) -> tuple[str | None, str]:
    """(kind, name) of a folded unit text: `tp. hạ long` → (thanh_pho, hạ long)."""
    found = _LEADING_KIND.match(folded)
    if not found:
        return None, folded
    kind = _KIND_WORDS.get(found["word"]) or _KIND_ABBREVIATIONS[found["abbr"]]
    return kind, found["name"].strip()


@dataclass(frozen=True)
class Unit:
    map_version: str
    level: str                 # district | commune
    code: str                  # GSO code: 3 digits (district), 5 digits (commune)
    name: str
    kind: str
    district_code: str | None  # an old commune's district


@dataclass(frozen=True)
class AdminMap:
    version: str
    locality_level: str        # the level `locality` names in states recorded under this map
    valid_from: date | None
    valid_to: date | None

    def in_force_on(self, day: date) -> bool:
        return ((self.valid_from is None or self.valid_from <= day)
                and (self.valid_to is None or day <= self.valid_to))


@dataclass(frozen=True)
class Placement:
    """Where a registry state lies on each map, and why."""
    locality_code: str | None      # the unit `locality` names, in the map of the record date
    old_district_code: str | None  # pre-reform map (district-level)
    new_unit_code: str | None      # post-reform map (commune-level)
    rule: str


class _Names:
    """Units of one map and level by folded name (aliases included)."""

    def __init__(self, units: list[Unit], aliases: dict[tuple[str, str, str], list[str]]):
        self.by_name: dict[str, list[Unit]] = defaultdict(list)
        for unit in units:
            for name in (unit.name, *aliases.get((unit.map_version, unit.level, unit.code), ())):
                self.by_name[fold(name)].append(unit)

    def match(self, text: str, level: str) -> Unit | None:
        kind, name = split_kind(fold(text))
        if kind is not None and kind not in LEVEL_KINDS[level]:
            return None   # names a unit of the other level
        units = self.by_name.get(name, [])
        if len(units) > 1:  # a shared name: only the kind word decides
            units = [u for u in units if u.kind == kind] if kind else []
        return units[0] if len(units) == 1 else None


class AdminMaps:
    """Both maps, the crosswalk and the rules that place a state on them."""

    def __init__(self, maps: list[AdminMap], units: list[Unit], crosswalk: list[tuple],
                 aliases: list[dict]):
        self.maps = sorted(maps, key=lambda m: m.valid_from or date.min)
        self.old, self.new = self.maps[0], self.maps[-1]
        self.units = units
        alias_names = defaultdict(list)
        for alias in aliases:
            alias_names[(alias["map_version"], alias["level"], alias["unit_code"])].append(
                alias["alias"])
        self._names = {
            (m.version, level): _Names([u for u in units
                                        if u.map_version == m.version and u.level == level],
                                       alias_names)
            for m in self.maps for level in ("district", "commune")}
        self.into: dict[str, list[tuple[str, bool]]] = defaultdict(list)   # old commune → new
        self.old_districts_of: dict[str, set[str]] = defaultdict(set)       # new unit → districts
        district_of = {u.code: u.district_code for u in units
                       if u.map_version == self.old.version and u.level == "commune"}
        for old_code, new_code, whole in crosswalk:
            self.into[old_code].append((new_code, whole))
            self.old_districts_of[new_code].add(district_of[old_code])

    def map_on(self, day: date) -> AdminMap | None:
        return next((m for m in self.maps if m.in_force_on(day)), None)

    def unit_codes_in_year(self, year: int) -> set[str]:
        """Codes `locality=` may take for a plan year: the units named by locality in every map
        in force on some day of that year."""
        first, last = date(year, 1, 1), date(year, 12, 31)
        in_year = {m.version: m.locality_level for m in self.maps
                   if (m.valid_from is None or m.valid_from <= last)
                   and (m.valid_to is None or m.valid_to >= first)}
        return {u.code for u in self.units if in_year.get(u.map_version) == u.level}

    def place(self, locality: str | None, address: str | None,
              recorded_at: datetime | None) -> Placement:
        """A state's locality on both maps, by the catalogue's rules."""
        if recorded_at is None:
            return Placement(None, None, None, "no record time: no map")
        recorded_on = recorded_at.astimezone(VN).date()
        if self.map_on(recorded_on) is self.new:
            return self._place_after_reform(locality)
        return self._place_before_reform(locality, address)

    def _place_before_reform(self, locality: str | None, address: str | None) -> Placement:
        district = self._match(self.old, self.old.locality_level, locality)
        if district is None:
            return Placement(None, None, None, f"locality names no district-level unit of the "
                                               f"{self.old.version} map")
        communes = self._communes_in_address(address, district)
        if len(communes) != 1:
            why = ("address names no commune of the district" if not communes else
                   f"address names communes {', '.join(sorted(communes))} of the district")
            return Placement(district.code, district.code, None, f"district named; {why}")
        (commune,) = communes
        into = self.into.get(commune, [])
        if len(into) == 1 and into[0][1]:
            return Placement(district.code, district.code, into[0][0],
                             f"district named; address names commune {commune}, whole into "
                             f"{into[0][0]}")
        return Placement(district.code, district.code, None,
                         f"district named; address names commune {commune}, split between "
                         f"{', '.join(sorted(code for code, _ in into))}")

    def _place_after_reform(self, locality: str | None) -> Placement:
        unit = self._match(self.new, self.new.locality_level, locality)
        if unit is None:
            return Placement(None, None, None, f"locality names no commune-level unit of the "
                                               f"{self.new.version} map")
        districts = self.old_districts_of.get(unit.code, set())
        if len(districts) == 1:
            (district,) = districts
            return Placement(unit.code, district, unit.code,
                             f"new unit named; its old communes lay in district {district}")
        return Placement(unit.code, None, unit.code,
                         f"new unit named; its old communes lay in districts "
                         f"{', '.join(sorted(districts))}")

    def _match(self, admin_map: AdminMap, level: str, text: str | None) -> Unit | None:
        return self._names[(admin_map.version, level)].match(text, level) if text else None

    def _communes_in_address(self, address: str | None, district: Unit) -> set[str]:
        """Old communes of the district that the address's comma-separated parts name. A part
        naming the district itself (with its kind word, or bare) is the district."""
        found = set()
        for part in (address or "").split(","):
            for text in _unit_texts(part):
                kind, name = split_kind(fold(text))
                if kind is None and self._match(self.old, "district", name) == district:
                    continue
                commune = self._match(self.old, "commune", text)
                if commune is not None and commune.district_code == district.code:
                    found.add(commune.code)
        return found


def _unit_texts(part: str) -> list[str]:
    """The texts of an address part that could name a unit: the part, and each stretch of it
    that a kind word starts ("Thôn 8 xã Đồn Đạc" → "xã Đồn Đạc")."""
    folded = fold(part)
    starts = [found.start() for found in _KIND_START.finditer(folded)]
    stretches = [folded[start:end].strip() for start, end in zip(starts, starts[1:] + [None])]
    return [folded] + [text for text in stretches if text != folded]


# --- reference data -----------------------------------------------------------------------

def _read(name: str) -> list[dict]:
    with open(REFERENCE_DIR / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _day(text: str) -> date | None:
    return date.fromisoformat(text) if text else None


def read_maps() -> list[dict]:
    return _read("admin_maps.csv")


def read_units(map_row: dict) -> list[Unit]:
    """A map's units: the 2024 file holds districts and their communes, the 2025 file communes."""
    version, units, districts = map_row["map_version"], [], {}
    for row in _read(map_row["units_file"]):
        if "district_code" in row:
            districts[row["district_code"]] = Unit(version, "district", row["district_code"],
                                                   row["district_name"], row["district_kind"], None)
        units.append(Unit(version, "commune", row["commune_code"], row["commune_name"],
                          row["commune_kind"], row.get("district_code")))
    return list(districts.values()) + units


def read_crosswalk() -> list[tuple[str, str, bool]]:
    return [(row["old_commune_code"], row["new_commune_code"], row["whole_or_part"] == "whole")
            for row in _read(CROSSWALK_FILE)]


def read_aliases() -> list[dict]:
    return _read("admin_unit_aliases.csv")


@lru_cache(maxsize=1)
def admin_maps() -> AdminMaps:
    rows = read_maps()
    maps = [AdminMap(r["map_version"], r["locality_level"], _day(r["valid_from"]),
                     _day(r["valid_to"])) for r in rows]
    units = [unit for row in rows for unit in read_units(row)]
    return AdminMaps(maps, units, read_crosswalk(), read_aliases())


def place(locality: str | None, address: str | None, recorded_at: datetime | None) -> Placement:
    return admin_maps().place(locality, address, recorded_at)


def place_registry_states(cur) -> int:
    """Place every stored registry state again (the reference data may have changed); returns
    how many states moved."""
    cur.execute("SELECT entity_code, updated_at, locality_raw, address, locality_code,"
                " old_district_code, new_unit_code, locality_rule FROM core.registration_state")
    moved = []
    for code, updated_at, locality, address, *held in cur.fetchall():
        placed = place(locality, address, updated_at)
        now = [placed.locality_code, placed.old_district_code, placed.new_unit_code, placed.rule]
        if now != held:
            moved.append((code, updated_at, *now))
    execute_values(cur, """
        UPDATE core.registration_state AS s
        SET locality_code = m.locality_code, old_district_code = m.old_district_code,
            new_unit_code = m.new_unit_code, locality_rule = m.locality_rule
        FROM (VALUES %s) AS m (entity_code, updated_at, locality_code, old_district_code,
                                 new_unit_code, locality_rule)
        WHERE s.entity_code = m.entity_code AND s.updated_at = m.updated_at::timestamptz""",
                   moved, page_size=1000)
    return len(moved)
