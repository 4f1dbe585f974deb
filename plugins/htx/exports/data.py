"""What the exports read: mart tables only (mart.plan_indicator, mart.plan_target,
mart.locality_unit, mart.locality_across_reform, mart.reporting_period, mart.refresh_log) — never
core, so a report can be produced with an analyst's read-only rights on the marts and always
agrees with what analysts query."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from htx import db

TREND_INDICATORS = ("HTX_TOTAL", "HTX_NEW")
LOCALITY_INDICATORS = ("HTX_TOTAL", "HTX_NEW", "THT_TOTAL")   # broken down by locality=
UNPLACED = "khong_xac_dinh"          # the locality= bucket of entities no rule places
COMPARED_ACROSS_REFORM = "HTX_TOTAL"  # the indicator of the old-vs-new districts table


class NoIndicators(LookupError):
    """mart.plan_indicator holds nothing for the period asked for."""

    @classmethod
    def for_period(cls, start: date, end: date) -> "NoIndicators":
        return cls(f"mart.plan_indicator holds no indicators for {start:%d/%m/%Y} – {end:%d/%m/%Y}")


@dataclass(frozen=True)
class Indicator:
    value: Decimal
    unit: str
    target: Decimal | None
    attainment_pct: Decimal | None
    estimate_full_year: Decimal | None = None
    estimate_attainment_pct: Decimal | None = None


@dataclass(frozen=True)
class Unit:
    """A unit of an administrative map, as `locality=<code>` names it."""
    code: str
    name: str
    kind: str            # thanh_pho, thi_xa, huyen, phuong, xa, thi_tran, dac_khu


@dataclass(frozen=True)
class DistrictAcrossReform:
    """One pre-reform district beside the new units its communes went into (the crosswalk), by
    the members of COMPARED_ACROSS_REFORM: `previous` in last year's report (same months, old
    map), `current` this period counted on the old map, `new_units` (unit, of them from this
    district, the unit's whole count). `district` None: entities no old district holds."""
    district: Unit | None
    previous: Decimal | None
    current: int
    new_units: list[tuple[Unit | None, int, Decimal | None]]


@dataclass(frozen=True)
class PeriodData:
    start: date
    end: date
    values: dict[tuple[str, str], Indicator]     # (indicator_code, breakdown) → its row
    trend: dict[str, list[tuple[date, Decimal]]]  # year-to-date value at each month end ≤ end
    refreshed_at: datetime | None
    plan_documents: dict[tuple[str, str], str] = field(default_factory=dict)  # "247/KH-UBND
                                                  # ngày 25/10/2024" of each target in force
    localities: list[Unit] = field(default_factory=list)   # the map in force at `end`
    across_reform: list[DistrictAcrossReform] = field(default_factory=list)  # after a reform


def load(start: date, end: date, dsn: str | None = None) -> PeriodData:
    with db.transaction(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT indicator_code, breakdown, value, unit, target, attainment_pct,"
                    " estimate_full_year, estimate_attainment_pct"
                    " FROM mart.plan_indicator WHERE period_start = %s AND period_end = %s",
                    (start, end))
        values = {(code, breakdown): Indicator(*rest) for code, breakdown, *rest in cur.fetchall()}
        if not values:
            raise NoIndicators.for_period(start, end)
        cur.execute("SELECT indicator_code, period_end, value FROM mart.plan_indicator"
                    " WHERE indicator_code = ANY(%s) AND breakdown = ''"
                    " AND period_start = %s AND period_end <= %s ORDER BY period_end",
                    (list(TREND_INDICATORS), start, end))
        trend: dict[str, list[tuple[date, Decimal]]] = {code: [] for code in TREND_INDICATORS}
        for code, period_end, value in cur.fetchall():
            trend[code].append((period_end, value))
        cur.execute("SELECT max(refreshed_at) FROM mart.refresh_log")
        (refreshed_at,) = cur.fetchone()
        documents = _plan_documents(cur, end.year)
        localities, districts = _maps(cur, end)
        across = _across_reform(cur, start, end, districts) if districts else []
    return PeriodData(start, end, values, trend, refreshed_at, documents, localities, across)


def _plan_documents(cur, plan_year: int) -> dict[tuple[str, str], str]:
    cur.execute("SELECT indicator_code, breakdown, plan_document_no, plan_document_date"
                " FROM mart.plan_target WHERE plan_year = %s", (plan_year,))
    return {(code, breakdown): f"{number} ngày {day:%d/%m/%Y}"
            for code, breakdown, number, day in cur.fetchall()}


def _maps(cur, end: date) -> tuple[list[Unit], dict[str, Unit]]:
    """The units of the map in force at `end`, and — when that map followed another — the
    previous map's units by code (else empty)."""
    cur.execute("SELECT unit_code, name, kind, valid_from FROM mart.locality_unit"
                " WHERE (valid_from IS NULL OR valid_from <= %(end)s)"
                " AND (valid_to IS NULL OR %(end)s <= valid_to) ORDER BY unit_code", {"end": end})
    rows = cur.fetchall()
    units = [Unit(code, name, kind) for code, name, kind, _ in rows]
    began = rows[0][3] if rows else None
    if began is None:
        return units, {}
    cur.execute("SELECT unit_code, name, kind FROM mart.locality_unit WHERE valid_to = %s",
                (began - timedelta(days=1),))
    return units, {code: Unit(code, name, kind) for code, name, kind in cur.fetchall()}


def _across_reform(cur, start: date, end: date,
                   districts: dict[str, Unit]) -> list[DistrictAcrossReform]:
    """Each old district's members this period and last year's same months (old map), with
    the new units they now lie in; the new units' own counts from mart.plan_indicator."""
    cur.execute("SELECT old_district_code, new_unit_code, entities"
                " FROM mart.locality_across_reform WHERE indicator_code = %s"
                " AND period_start = %s AND period_end = %s",
                (COMPARED_ACROSS_REFORM, start, end))
    pairs = cur.fetchall()
    cur.execute("SELECT breakdown, value FROM mart.plan_indicator WHERE indicator_code = %s"
                " AND breakdown LIKE 'locality=%%' AND period_start = %s AND period_end = %s",
                (COMPARED_ACROSS_REFORM, start, end))
    unit_totals = {b.removeprefix("locality="): v for b, v in cur.fetchall()}
    last_year = _same_months_last_year(start, end)
    cur.execute("SELECT breakdown, value FROM mart.plan_indicator WHERE indicator_code = %s"
                " AND breakdown LIKE 'locality=%%' AND period_start = %s AND period_end = %s",
                (COMPARED_ACROSS_REFORM, *last_year))
    previous = {b.removeprefix("locality="): v for b, v in cur.fetchall()}
    cur.execute("SELECT unit_code, name, kind FROM mart.locality_unit WHERE valid_from <= %(end)s"
                " AND (valid_to IS NULL OR %(end)s <= valid_to)", {"end": end})
    new_units = {code: Unit(code, name, kind) for code, name, kind in cur.fetchall()}
    rows = []
    for code in [*sorted(districts), None]:
        mine = sorted(((new, n) for old, new, n in pairs if old == code),
                      key=lambda p: (p[0] is None, p[0] or ""))
        if code is None and not mine:
            continue
        rows.append(DistrictAcrossReform(
            districts[code] if code else None, previous.get(code or UNPLACED),
            sum(n for _, n in mine),
            [(new_units.get(new) if new else None, n, unit_totals.get(new or UNPLACED))
             for new, n in mine]))
    return rows


def _same_months_last_year(start: date, end: date) -> tuple[date, date]:
    """1 January → the same month end, a year earlier (29 February → 28 February)."""
    first_of_next = date(end.year - 1 + end.month // 12, end.month % 12 + 1, 1)
    return start.replace(year=start.year - 1), first_of_next - timedelta(days=1)


def latest_periods(dsn: str | None = None) -> list[tuple[date, date]]:
    """The newest year-to-date period and the newest full calendar year (one period when they
    are the same, none before the first refresh)."""
    with db.transaction(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT (SELECT max(period_end) FROM mart.reporting_period),"
                    " (SELECT max(period_end) FROM mart.reporting_period WHERE months = 12)")
        newest, full_year = cur.fetchone()
    ends = [end for end in (newest, full_year) if end is not None]
    return [(date(end.year, 1, 1), end) for end in dict.fromkeys(ends)]
