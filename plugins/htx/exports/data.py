"""What the exports read: mart tables only (mart.plan_indicator, mart.reporting_period,
mart.refresh_log) — never core, so a report can be produced with an analyst's read-only rights
on the marts and always agrees with what analysts query."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from htx import db

TREND_INDICATORS = ("HTX_TOTAL", "HTX_NEW")


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


@dataclass(frozen=True)
class PeriodData:
    start: date
    end: date
    values: dict[tuple[str, str], Indicator]     # (indicator_code, breakdown) → its row
    trend: dict[str, list[tuple[date, Decimal]]]  # year-to-date value at each month end ≤ end
    refreshed_at: datetime | None


def load(start: date, end: date, dsn: str | None = None) -> PeriodData:
    with db.transaction(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT indicator_code, breakdown, value, unit, target, attainment_pct"
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
    return PeriodData(start, end, values, trend, refreshed_at)


def latest_periods(dsn: str | None = None) -> list[tuple[date, date]]:
    """The newest year-to-date period and the newest full calendar year (one period when they
    are the same, none before the first refresh)."""
    with db.transaction(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT (SELECT max(period_end) FROM mart.reporting_period),"
                    " (SELECT max(period_end) FROM mart.reporting_period WHERE months = 12)")
        newest, full_year = cur.fetchone()
    ends = [end for end in (newest, full_year) if end is not None]
    return [(date(end.year, 1, 1), end) for end in dict.fromkeys(ends)]
