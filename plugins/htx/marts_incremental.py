"""Which reporting periods a marts refresh recomputes: after feed runs, only those their batches
can change (issue 15 §Marts), with the result of a full rebuild.

Every merge records in its own transaction the earliest reporting-period end its batch can
change (`record_merge`: the SQL its feed's configuration names as `marts_changes`, e.g.
include/sql/marts_changes/tax_declarations.sql, worked out before the merge; a feed without one
records NULL, "any period"), in audit.marts_change. An incremental refresh
(`refreshing`) takes the records it sees and recomputes every period ending on or after the
earliest of them, and every period new since the last refresh (a new month of data): the
periods' set is computed first (PERIODS_MODEL, outside the models' folder), the rows of the periods to recompute
and of the periods gone are deleted, and mart.reporting_period holds only the periods to
recompute while the models run — each model computes every period of it independently, and the
models reading the marts' own tables (700, 810, the members check) read those periods only
(`period_end >= htx.refresh_from`). It then holds every period again. A full refresh is the
same with every period recomputed; an incremental one is full when a record says NULL or the
marts were never refreshed. Changes merged while a refresh runs stay recorded for the next.

What else changes the marts records NULL: a replay or revalidation (htx.ops.reprocess), a reload
of reference data (htx.migrate).
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

from psycopg2 import sql

from htx import db
from htx.paths import MARTS_SQL_DIR

log = logging.getLogger(__name__)

# Which periods are reported, run by `refreshing` before the models (include/sql/marts/*.sql).
PERIODS_MODEL = MARTS_SQL_DIR / "periods" / "reporting_period.sql"
# The marts' tables with a row per period: the models only insert into them; a refresh deletes
# the periods it recomputes (every one, in full) and those no longer reported.
PERIOD_TABLES = ("mart.plan_indicator", "mart.plan_indicator_members",
                 "mart.locality_across_reform")


# --- recording what a merge changes -----------------------------------------------------------

def record_merge(cur, feed, batch_id: int) -> None:
    """Record the periods the batch's merge can change (the feed's `marts_changes` SQL; without
    one, any period); call it before the merge, in its transaction (what the merge replaces is
    still there to be measured)."""
    periods_from = None
    if feed.marts_changes is not None:
        db.run_sql_file(cur, feed.marts_changes, {"batch_id": batch_id})
        (periods_from,) = cur.fetchone()
    record(cur, feed.name, periods_from, batch_id)


def record(cur, what: str, periods_from: date | None = None, batch_id: int | None = None) -> None:
    """Record a change of the marts' sources: periods ending on or after `periods_from`
    (None: any period) must be recomputed."""
    cur.execute("INSERT INTO audit.marts_change (batch_id, feed, periods_from)"
                " VALUES (%s, %s, %s)", (batch_id, what, periods_from))


# --- a refresh --------------------------------------------------------------------------------

@dataclass
class Scope:
    full: bool
    refresh_from: date | None   # the earliest period end recomputed (None: none is)
    periods: int = 0            # how many periods are recomputed


@contextmanager
def refreshing(cur, incremental: bool):
    """Inside: mart.reporting_period holds the periods to recompute, their rows and those of
    periods gone deleted; the models run there. On exit it holds every period again."""
    cur.execute("DELETE FROM audit.marts_change RETURNING periods_from")
    bounds = [periods_from for (periods_from,) in cur.fetchall()]
    cur.execute("CREATE TEMPORARY TABLE previous_period ON COMMIT DROP AS"
                " SELECT period_start, period_end FROM mart.reporting_period")
    db.run_sql_file(cur, PERIODS_MODEL)
    cur.execute("SELECT EXISTS (SELECT 1 FROM mart.refresh_log)")
    (refreshed_before,) = cur.fetchone()
    full = not (incremental and refreshed_before and None not in bounds)
    scope = Scope(full, date.min if full else _refresh_from(cur, min(bounds, default=None)))
    _delete_recomputed(cur, scope)
    # Every period reported, recomputed or not (the estimates' basis reads it: 001_*.sql).
    cur.execute("CREATE TEMPORARY TABLE all_period ON COMMIT DROP AS"
                " SELECT * FROM mart.reporting_period")
    cur.execute("DELETE FROM mart.reporting_period WHERE period_end < %s",
                (scope.refresh_from or date.max,))
    cur.execute("SELECT count(*) FROM mart.reporting_period")
    (scope.periods,) = cur.fetchone()
    cur.execute("SELECT set_config('htx.refresh_from', %s, true)",
                (str(scope.refresh_from or "infinity"),))
    log.info("marts refresh: %s", describe(scope))
    yield scope
    cur.execute("DELETE FROM mart.reporting_period")
    cur.execute("INSERT INTO mart.reporting_period SELECT * FROM all_period")


def _refresh_from(cur, changed_from: date | None) -> date | None:
    """The earliest period end to recompute: that of the earliest change, or of a period new
    since the last refresh; None when there is neither."""
    cur.execute("SELECT least(min(period_end) FILTER (WHERE period_end >= %s),"
                "             min(period_end) FILTER (WHERE (period_start, period_end) NOT IN"
                "                 (SELECT period_start, period_end FROM previous_period)))"
                " FROM mart.reporting_period", (changed_from or date.max,))
    return cur.fetchone()[0]


def _delete_recomputed(cur, scope: Scope) -> None:
    """The marts' rows of the periods recomputed, and of the periods no longer reported (one
    period at a time: the members' BRIN index finds each)."""
    cur.execute("SELECT period_start, period_end FROM previous_period EXCEPT"
                " SELECT period_start, period_end FROM mart.reporting_period")
    gone = cur.fetchall()
    for table in map(sql.SQL, PERIOD_TABLES):
        if scope.full:
            cur.execute(sql.SQL("DELETE FROM {}").format(table))
            continue
        if scope.refresh_from is not None:
            cur.execute(sql.SQL("DELETE FROM {} WHERE period_end >= %s").format(table),
                        (scope.refresh_from,))
        for period_start, period_end in gone:
            cur.execute(sql.SQL("DELETE FROM {} WHERE period_end = %s AND period_start = %s")
                        .format(table), (period_end, period_start))


def describe(scope: Scope) -> str:
    if scope.full:
        return "every period recomputed"
    if scope.refresh_from is None:
        return "no period changed"
    return f"periods ending from {scope.refresh_from:%d/%m/%Y} recomputed"
