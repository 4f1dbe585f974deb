"""Reference data kept in the repository (`include/reference/`), loaded into the warehouse.

The parsers read the same files as the warehouse's reference tables, so validation and the SQL
marts agree by construction: the VSIC divisions, the indicator catalogue (`indicators.csv`: each
indicator declared once — its unit and breakdowns, which the plan-targets feed checks, and how the
marts derive it and estimate its year end) and the administrative maps (htx.admin_map).
"""
from __future__ import annotations

import csv
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from psycopg2.extras import execute_values

from htx import admin_map
from htx.paths import REFERENCE_DIR


def _read(name: str) -> list[dict]:
    with open(REFERENCE_DIR / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


@lru_cache(maxsize=1)
def _vsic_divisions() -> tuple[dict, ...]:
    return tuple(_read("vsic_divisions.csv"))


@lru_cache(maxsize=1)
def _vsic_division_numbers() -> frozenset[int]:
    return frozenset(
        division for row in _vsic_divisions()
        for division in range(int(row["division_from"]), int(row["division_to"]) + 1))


def vsic_division_known(vsic: str | None) -> bool:
    """Whether a VSIC class's first two digits name a VSIC 2018 division."""
    return bool(vsic) and vsic[:2].isdigit() and int(vsic[:2]) in _vsic_division_numbers()


# --- the indicator catalogue ----------------------------------------------------------------

@dataclass(frozen=True)
class Indicator:
    """One code of the indicator catalogue (include/reference/indicators.csv)."""
    code: str
    unit: str                         # count, percent, trieu_dong, nguoi
    has_total: bool                   # a row with breakdown '' (the total)
    breakdown_keys: tuple[str, ...]   # keys of its key=value breakdowns: sector, locality
    sector_values: str | None         # the vsic_divisions.csv column sector= takes
    aggregation: str | None           # how the marts derive it from its members: count, sum,
                                      # mean, weighted_mean; None: a share, ratio or own figure
    year_end_estimate: str | None     # counted_in_period, as_of_period_end; None: no estimate

    def breakdown_allowed(self, breakdown: str, plan_year: int) -> bool:
        """Whether the indicator has this breakdown in that plan year: the total, a sector of
        its grouping, or a unit of the administrative map(s) in force during the year."""
        if breakdown == "":
            return self.has_total
        key, _, value = breakdown.partition("=")
        if key not in self.breakdown_keys or not value:
            return False
        if key == "sector":
            return value in {row[self.sector_values] for row in _vsic_divisions()}
        return value in admin_map.admin_maps().unit_codes_in_year(plan_year)


@lru_cache(maxsize=1)
def indicator_catalogue() -> dict[str, Indicator]:
    catalogue = {}
    for row in _read("indicators.csv"):
        kinds = row["breakdowns"].split("|")
        catalogue[row["indicator_code"]] = Indicator(
            row["indicator_code"], row["unit"], "total" in kinds,
            tuple(k for k in kinds if k != "total"), row["sector_values"] or None,
            row["aggregation"] or None, row["year_end_estimate"] or None)
    return catalogue


# --- loading --------------------------------------------------------------------------------

def load(cur) -> None:
    """Replace the reference tables with the files' contents, then place the stored registry
    states on the (possibly corrected) maps again (idempotent)."""
    # Children first: the admin units reference their map, aliases their unit.
    for emptied in ("DELETE FROM core.ref_vsic_division", "DELETE FROM core.ref_indicator",
                    "DELETE FROM core.ref_admin_crosswalk", "DELETE FROM core.ref_admin_unit_alias",
                    "DELETE FROM core.ref_admin_unit", "DELETE FROM core.ref_admin_map"):
        cur.execute(emptied)
    execute_values(cur, "INSERT INTO core.ref_vsic_division VALUES %s", [
        (division, row["section"], row["plan_sector"], row["tht_group"], row["lhhtx_group"])
        for row in _vsic_divisions()
        for division in range(int(row["division_from"]), int(row["division_to"]) + 1)])
    execute_values(cur, "INSERT INTO core.ref_indicator (indicator_code, unit, has_total,"
                        " breakdown_keys, sector_values, aggregation, year_end_estimate)"
                        " VALUES %s", [
        (i.code, i.unit, i.has_total, list(i.breakdown_keys), i.sector_values, i.aggregation,
         i.year_end_estimate) for i in indicator_catalogue().values()])
    maps = admin_map.read_maps()
    execute_values(cur, "INSERT INTO core.ref_admin_map VALUES %s", [
        (m["map_version"], m["locality_level"], m["valid_from"] or None, m["valid_to"] or None,
         m["legal_basis"]) for m in maps])
    execute_values(cur, "INSERT INTO core.ref_admin_unit VALUES %s", [
        (u.map_version, u.level, u.code, u.name, u.kind, u.district_code)
        for m in maps for u in admin_map.read_units(m)])
    execute_values(cur, "INSERT INTO core.ref_admin_unit_alias VALUES %s", [
        (a["map_version"], a["level"], a["unit_code"], a["alias"], a["why"])
        for a in admin_map.read_aliases()])
    execute_values(cur, "INSERT INTO core.ref_admin_crosswalk VALUES %s", [
        (old, new, "whole" if whole else "part") for old, new, whole in admin_map.read_crosswalk()])
    admin_map.place_registry_states(cur)
