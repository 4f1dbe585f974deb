"""Refresh the plan's indicator marts: the reporting periods (include/sql/marts/periods/), then
every model of include/sql/marts/, in name order, in one transaction, so readers see either the
previous complete set or the new one, never a mix. After feed runs, only the models whose sources
changed, for the periods the changes reach (htx.marts_incremental, htx.marts_models).

Each model (100–500) writes the entities behind its indicators (mart.plan_indicator_members, a
view of the member rows and of the registry's members stored once per period × entity:
migration 0190);
then their upkeep (MEMBERS_UPKEEP) runs, and one generic step (700–800) derives their counts,
sums and means as the indicator catalogue declares (core.ref_indicator, seen as
mart.indicator_aggregation), then shares (810), year-end estimates (850) and targets (900)
follow. The members are unlogged (migrations 0160, 0190): a refresh finding them lost in a crash
recomputes every period, even when asked for an incremental one. Before it commits, the refresh
runs its checks (include/sql/marts/checks/): every such value is the aggregate of its members,
and every `locality=` breakdown lists the units of the map in force and adds up to its total. A
break fails the refresh, which leaves the previous marts in place.

`HTX_REPORTING_YEARS` (environment; default 10, at least 2) bounds the reporting periods: the
latest two years with data month by month, earlier years of that many years' window as full
years only (include/sql/marts/periods/reporting_period.sql). It reaches the SQL as the
transaction-local setting `htx.reporting_years`, so no model is built from a value.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from htx import db, marts_incremental
from htx.ops import freshness
from htx.paths import MARTS_SQL_DIR

log = logging.getLogger(__name__)

SHOWN_BREAKS = 5    # groups named in the error when a check fails

REPORTING_YEARS_ENV = "HTX_REPORTING_YEARS"
DEFAULT_REPORTING_YEARS = 10
# Memory for the refresh's sorts and hashes (one transaction, SET LOCAL): the national registry
# × the reporting periods is a few million rows, which 4 MB (the server default) spills to disk.
REFRESH_WORK_MEM = "256MB"
# The models read the published periods and the estimates' others through views of both
# (`WHERE published` / `WHERE NOT published`, 010_registry_as_of.sql): with exclusion on, the
# planner drops a branch whose conditions contradict the query's instead of scanning its table
# for nothing (the server default, `partition`, does that for partitions only).
REFRESH_CONSTRAINT_EXCLUSION = "on"
# Upkeep of the members' tables, run once every model writing members has run, before the
# first reading them back (MEMBER_TOTALS): their index summarized, their statistics, and the mark
# that they are whole (audit.marts_members_intact, migration 0160).
MEMBERS_UPKEEP = MARTS_SQL_DIR / "upkeep" / "members_written.sql"
MEMBER_TOTALS = MARTS_SQL_DIR / "700_member_totals.sql"


class RefreshCheckFailed(RuntimeError):
    """A check of the refresh found a break: the refresh is rolled back."""


class MembersMismatch(RefreshCheckFailed):
    """An indicator value that is not the aggregate of its members."""


class LocalityMismatch(RefreshCheckFailed):
    """A `locality=` breakdown that misses a unit of the map in force, names one outside it, or
    does not add up to its total."""


@dataclass(frozen=True)
class Check:
    """A query returning (reason, indicator, breakdown, start, end, value, expected) per break."""
    sql: Path
    error: type[RefreshCheckFailed]
    breaks: str         # what is broken, for the error's opening
    expected_as: str    # how the error names the figure the value is held against


CHECKS = (
    Check(MARTS_SQL_DIR / "checks" / "values_are_aggregates_of_members.sql", MembersMismatch,
          "values not the aggregate of their members", "members give"),
    Check(MARTS_SQL_DIR / "checks" / "locality_breakdowns_sum_to_totals.sql", LocalityMismatch,
          "locality breakdowns not matching the map in force or their totals", "the total is"),
)


def reporting_years() -> int:
    """How many years (the latest with data and those before it) the marts cover."""
    raw = os.environ.get(REPORTING_YEARS_ENV, "").strip()
    if not raw:
        return DEFAULT_REPORTING_YEARS
    try:
        years = int(raw)
    except ValueError:
        raise ValueError(f"{REPORTING_YEARS_ENV} must be a whole number of years, not {raw!r}")
    if years < 2:
        raise ValueError(f"{REPORTING_YEARS_ENV} must be at least 2 (the plan year and the year"
                         f" before), not {years}")
    return years


def _prepare(cur) -> None:
    """Transaction-local settings the models read or run under."""
    cur.execute("SELECT set_config('htx.reporting_years', %s, true),"
                " set_config('work_mem', %s, true), set_config('constraint_exclusion', %s, true)",
                (str(reporting_years()), REFRESH_WORK_MEM, REFRESH_CONSTRAINT_EXCLUSION))


def refresh(dag_run_id: str | None = None, dsn: str | None = None,
            incremental: bool = False) -> dict:
    """Every period recomputed; `incremental`: only those the changes merged since the last
    refresh can change (htx.marts_incremental), with the same result."""
    with db.transaction(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(hashtext('mart refresh'))")
        _prepare(cur)
        incremental = incremental and _members_intact(cur)
        models = sorted(MARTS_SQL_DIR.glob("*.sql"))
        with marts_incremental.refreshing(cur, incremental, models) as scope:
            marts_incremental.run_models(cur, scope, before={MEMBER_TOTALS: MEMBERS_UPKEEP})
            for check in CHECKS:
                _run_check(cur, check)
        cur.execute("SELECT count(*) FROM mart.reporting_period")
        (periods,) = cur.fetchone()
        cur.execute("SELECT count(*) FROM mart.plan_indicator")
        (rows,) = cur.fetchone()
        stale = freshness.stale_feeds(cur)  # built anyway; readers see which feeds lag
        cur.execute("INSERT INTO mart.refresh_log (periods, indicator_rows, dag_run_id,"
                    " stale_feeds, data_from) SELECT %s, %s, %s, %s, first_day FROM data_span",
                    (periods, rows, dag_run_id, stale))
    log.info("marts refreshed: %d periods (%s), %d indicator rows; late feeds: %s", periods,
             marts_incremental.describe(scope), rows, ", ".join(stale) or "none")
    return {"periods": periods, "indicator_rows": rows, "stale_feeds": stale,
            "periods_recomputed": scope.periods, "member_rows_deleted": scope.members_deleted,
            "models_run": [path.name for path, recomputed_from in scope.models.items()
                           if recomputed_from is not None]}


def _members_intact(cur) -> bool:
    """Whether the members hold what the last refresh wrote: their tables are unlogged
    (migrations 0160, 0190), so a server crash empties them — and the mark of their last refresh —
    while mart.plan_indicator keeps the values taken from them. Then every period is recomputed."""
    cur.execute("SELECT EXISTS (SELECT FROM audit.marts_members_intact)"
                " OR NOT EXISTS (SELECT FROM mart.plan_indicator)")
    (intact,) = cur.fetchone()
    if not intact:
        log.warning("members of the marts lost (their tables are unlogged: emptied by a server"
                    " crash or a migration, or restored from a base backup): every period"
                    " recomputed")
    return intact


def needs_refresh(run_type: str, dsn: str | None = None) -> bool:
    """Whether a marts DAG run should refresh: always when a feed's Asset or a person asked;
    a run of the clock (the hourly check, a backfill) only when a publish is newer than the
    marts' last refresh."""
    if run_type in ("asset_triggered", "manual"):
        return True
    with db.transaction(dsn) as conn, conn.cursor() as cur:
        lag = freshness.marts_lag(cur)
    if lag:
        log.warning("marts behind: %s; refreshing", lag.describe())
    return lag is not None


def latest_complete_period(dsn: str | None = None) -> tuple | None:
    """(start, end) of the newest period mart.plan_indicator holds that has ended (before
    today in Vietnam); None when it holds none."""
    today = datetime.now(freshness.LOCAL).date()
    with db.transaction(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT period_start, period_end FROM mart.plan_indicator"
                    " WHERE period_end < %s ORDER BY period_end DESC, period_start DESC LIMIT 1",
                    (today,))
        return cur.fetchone()


def _run_check(cur, check: Check) -> None:
    """Fail the refresh when the check finds a break, naming the first few."""
    db.run_sql_file(cur, check.sql)
    breaks = cur.fetchall()
    if not breaks:
        return
    shown = "; ".join(
        f"{reason}: {code}, breakdown {breakdown!r}, period {start:%d/%m/%Y}–{end:%d/%m/%Y}"
        + ("" if value is None and expected is None else
           f" (value {_or_none(value)}, {check.expected_as} {_or_none(expected)})")
        for reason, code, breakdown, start, end, value, expected in breaks[:SHOWN_BREAKS])
    more = f"; and {len(breaks) - SHOWN_BREAKS} more" if len(breaks) > SHOWN_BREAKS else ""
    raise check.error(f"{check.breaks} in {len(breaks)} group(s), marts not refreshed: {shown}"
                      f"{more}")


def _or_none(number) -> str:
    return "none" if number is None else str(number)


def indicators_for(period_start, period_end, dsn: str | None = None) -> list[tuple]:
    with db.transaction(dsn) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT indicator_code, breakdown, value, unit, target, attainment_pct,"
            " estimate_full_year, estimate_attainment_pct"
            " FROM mart.plan_indicator WHERE period_start = %s AND period_end = %s"
            " ORDER BY indicator_code, breakdown", (period_start, period_end))
        return cur.fetchall()
