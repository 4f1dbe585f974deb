"""What a marts refresh recomputes: after feed runs, only the models whose sources changed, for
the reporting periods those changes can reach (issue 15 §Marts), with the result of a full
rebuild.

Every merge records in its own transaction the earliest reporting-period end its batch can
change (`record_merge`: the SQL its feed's configuration names as `marts_changes`, e.g.
include/sql/marts_changes/tax_declarations.sql, worked out before the merge; a feed without one
records NULL, "any period"), in audit.marts_change. An incremental refresh (`refreshing`) takes
the records it sees; each model declares the feeds it reads (htx.marts_models), and recomputes
the periods ending on or after the earliest change of one of them, and every period new since
the last refresh (a new month of data: every model). The periods' set is computed first
(PERIODS_MODEL, outside the models' folder); the rows those models write again (their
indicators', in those periods) and those of the periods gone are deleted — the others are kept,
and `kept_indicator` (a temporary table) names them. Each model then runs (`run_models`) with
mart.reporting_period holding its own periods, and computes each of them independently; the
models preparing for or deriving from the others (estimate basis, the registry as of each
period, member totals, values, shares, estimates) run for every period recomputed
(`htx.refresh_from` and after: `period_end >= (SELECT current_setting('htx.refresh_from')::date)`,
read once per statement) and read or write only the rows not kept. mart.reporting_period then
holds every period again. A full refresh recomputes every model and period; an incremental one
is full when a record says NULL or names a source no model declares, a model file is not
declared, the marts were never refreshed, or the data's first year moved (last year's periods
the estimates have: 001_year_end_estimate_basis.sql). Changes merged while a refresh runs stay
recorded for the next.

What else changes the marts records NULL: a replay or revalidation (htx.ops.reprocess), a reload
of reference data (htx.migrate).
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from psycopg2 import sql

from htx import db, marts_models
from htx.paths import MARTS_SQL_DIR

log = logging.getLogger(__name__)

# Which periods are reported, run by `refreshing` before the models (include/sql/marts/*.sql).
PERIODS_MODEL = MARTS_SQL_DIR / "periods" / "reporting_period.sql"
# The marts' tables with a row per indicator and period: the models only insert into them; a
# refresh deletes the rows it recomputes (every one, in full) and those of periods no longer
# reported. The members are stored as rows (MEMBERS_TABLE, read through the view
# mart.plan_indicator_members) and in tables of one model's (marts_models.Model.tables).
MEMBERS_TABLE = "mart.plan_indicator_member_rows"
PERIOD_TABLES = ("mart.plan_indicator", MEMBERS_TABLE, "mart.locality_across_reform")


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
    refresh_from: date | None = None   # the earliest period end recomputed (None: none is)
    periods: int = 0                   # how many periods are recomputed
    # Each model file, in name order, with the earliest period end it recomputes (it computes
    # every period from there; None: it does not run).
    models: dict[Path, date | None] = field(default_factory=dict)
    members_deleted: int = 0


@contextmanager
def refreshing(cur, incremental: bool, model_files: list[Path]):
    """Inside: mart.reporting_period holds the periods to recompute, the rows the models write
    again are deleted (and those of periods gone), kept_indicator names the rows kept; run the
    models there with `run_models`. On exit mart.reporting_period holds every period again."""
    cur.execute("DELETE FROM audit.marts_change RETURNING feed, periods_from")
    changes = cur.fetchall()
    cur.execute("CREATE TEMPORARY TABLE previous_period ON COMMIT DROP AS"
                " SELECT period_start, period_end FROM mart.reporting_period")
    db.run_sql_file(cur, PERIODS_MODEL)
    whole = _whole_because(cur, changes, model_files) if incremental else "asked"
    if whole is None:
        scope = _scope(_periods(cur), changes, model_files)
    else:
        log.info("marts refresh: every model recomputed (%s)", whole)
        scope = Scope(True, date.min, models=dict.fromkeys(model_files, date.min))
    _delete_recomputed(cur, scope, _keep_rows(cur, scope))
    # Every period reported, recomputed or not (the estimates' basis reads it: 001_*.sql).
    cur.execute("CREATE TEMPORARY TABLE all_period ON COMMIT DROP AS"
                " SELECT * FROM mart.reporting_period")
    _hold_periods_from(cur, scope.refresh_from)
    cur.execute("SELECT count(*) FROM mart.reporting_period")
    (scope.periods,) = cur.fetchone()
    cur.execute("SELECT set_config('htx.refresh_from', %s, true)",
                (str(scope.refresh_from or "infinity"),))
    log.info("marts refresh: %s", describe(scope))
    yield scope
    cur.execute("DELETE FROM mart.reporting_period")
    cur.execute("INSERT INTO mart.reporting_period SELECT * FROM all_period")


def run_models(cur, scope: Scope, before: dict[Path, Path]) -> None:
    """The models that run, in name order, each with mart.reporting_period holding the periods
    it recomputes (and the SQL `before` names for it run first); then every period recomputed
    again (for the checks)."""
    held = scope.refresh_from
    for path, recomputed_from in scope.models.items():
        if recomputed_from is None and not _every_period(path):
            continue
        if recomputed_from != held:
            _hold_periods_from(cur, recomputed_from)
            held = recomputed_from
        if path in before:
            db.run_sql_file(cur, before[path])
        db.run_sql_file(cur, path)
    if held != scope.refresh_from:
        _hold_periods_from(cur, scope.refresh_from)


def _every_period(path: Path) -> bool:
    model = marts_models.MODELS.get(path.name)
    return model is None or model.every_period


def _hold_periods_from(cur, period_end: date | None) -> None:
    """mart.reporting_period: the periods reported (all_period) ending on or after
    `period_end` (None: none)."""
    cur.execute("DELETE FROM mart.reporting_period")
    cur.execute("INSERT INTO mart.reporting_period SELECT * FROM all_period"
                " WHERE period_end >= %s", (period_end or date.max,))


def _whole_because(cur, changes: list[tuple], model_files: list[Path]) -> str | None:
    """Why a refresh after feed runs recomputes every model and period, if it must: a change of
    any period, or of a source no model declares reading; a model not declared
    (htx.marts_models); the marts never refreshed; the data's first year moved (which of last
    year's periods the year-end estimates have: 001_year_end_estimate_basis.sql)."""
    declared = marts_models.feeds_read()
    unbounded = sorted({feed for feed, periods_from in changes
                        if periods_from is None or feed not in declared})
    if unbounded:
        return f"a change of any period or of an undeclared source: {', '.join(unbounded)}"
    undeclared = [path.name for path in model_files if path.name not in marts_models.MODELS]
    if undeclared:
        return f"models not declared in htx.marts_models: {', '.join(undeclared)}"
    cur.execute("SELECT NOT EXISTS (SELECT FROM mart.refresh_log),"
                " date_trunc('year', (SELECT first_day FROM data_span)) IS DISTINCT FROM"
                " date_trunc('year', (SELECT data_from FROM mart.refresh_log"
                "                     ORDER BY refresh_id DESC LIMIT 1))")
    never, moved = cur.fetchone()
    if never:
        return "the marts were never refreshed"
    return "the data's first year moved" if moved else None


def _periods(cur) -> list[tuple[date, bool]]:
    """Each period's end, and whether the period is new since the last refresh, in order."""
    cur.execute("SELECT period_end, (period_start, period_end) NOT IN"
                "     (SELECT period_start, period_end FROM previous_period)"
                " FROM mart.reporting_period ORDER BY period_end")
    return cur.fetchall()


def _scope(periods: list[tuple[date, bool]], changes: list[tuple],
           model_files: list[Path]) -> Scope:
    """Each model recomputes the periods ending on or after the earliest change of a feed it
    reads, and every period new since the last refresh (a period ends on the last day of a
    month: the first period end from there on); a model preparing for, or deriving from, the
    others, every period one of them recomputes."""
    changed_from: dict[str, date] = {}
    for feed, periods_from in changes:
        changed_from[feed] = min(periods_from, changed_from.get(feed, date.max))
    new_from = min((end for end, new in periods if new), default=date.max)
    models: dict[Path, date | None] = {}
    for path in model_files:
        model = marts_models.MODELS[path.name]
        if not model.every_period:
            bound = min([new_from, *(changed_from[f] for f in model.reads if f in changed_from)])
            models[path] = next((end for end, _ in periods if end >= bound), None)
    refresh_from = min(filter(None, models.values()), default=None)
    return Scope(False, refresh_from, models={
        path: models[path] if path in models else refresh_from for path in model_files})


def _keep_rows(cur, scope: Scope) -> dict[date, list[str]]:
    """kept_indicator: the indicators whose model recomputes fewer periods than the refresh (or
    none): their rows of the periods ending before kept_before are kept. Every other row of
    the periods recomputed is written again. Returns the kept indicators by kept_before."""
    cur.execute("CREATE TEMPORARY TABLE kept_indicator (indicator_code text PRIMARY KEY,"
                " kept_before date NOT NULL) ON COMMIT DROP")
    kept: dict[date, list[str]] = {}
    if scope.full or scope.refresh_from is None:
        return kept
    for path, recomputed_from in scope.models.items():
        before = recomputed_from or date.max
        if before > scope.refresh_from:
            kept.setdefault(before, []).extend(marts_models.MODELS[path.name].indicators)
    rows = [(code, before) for before, codes in kept.items() for code in codes]
    if rows:
        cur.execute("INSERT INTO kept_indicator SELECT * FROM unnest(%s::text[], %s::date[])",
                    ([code for code, _ in rows], [before for _, before in rows]))
        cur.execute("ANALYZE kept_indicator")
    return kept


def _delete_recomputed(cur, scope: Scope, kept: dict[date, list[str]]) -> None:
    """The marts' rows the models write again — from refresh_from every indicator's but the
    kept ones', and theirs from where their model starts — and those of the periods no longer
    reported (one period at a time). Each a bound the planner sees, read through the members'
    BRIN index: it estimates a scan of the whole table cheaper (the index lists the periods of
    each indicator, not the table's order), but a period's rows lie in few of its ranges."""
    cur.execute("SELECT period_start, period_end FROM previous_period EXCEPT"
                " SELECT period_start, period_end FROM mart.reporting_period")
    gone = cur.fetchall()
    with db.local_settings(cur, enable_seqscan="off"):
        _delete_indicator_rows(cur, scope, kept, gone)
        _delete_model_rows(cur, scope, gone)


def _delete_indicator_rows(cur, scope: Scope, kept: dict[date, list[str]],
                           gone: list[tuple]) -> None:
    """The rows of every indicator's table (PERIOD_TABLES) the models write again."""
    every_code = [code for codes in kept.values() for code in codes]
    for name in PERIOD_TABLES:
        table = sql.SQL(name)
        deleted = _delete_all_or_gone(cur, table, scope.full, gone)
        if not scope.full and scope.refresh_from is not None:
            cur.execute(sql.SQL("DELETE FROM {} WHERE period_end >= %s"
                                " AND indicator_code <> ALL (%s::text[])").format(table),
                        (scope.refresh_from, every_code))
            deleted += cur.rowcount
        for before, codes in kept.items():   # none in a full refresh
            if before == date.max:   # their models do not run
                continue
            cur.execute(sql.SQL("DELETE FROM {} WHERE period_end >= %s"
                                " AND indicator_code = ANY (%s::text[])").format(table),
                        (before, codes))
            deleted += cur.rowcount
        if name == MEMBERS_TABLE:
            scope.members_deleted += deleted
        log.info("marts refresh: %d rows of %s deleted", deleted, name)


def _delete_model_rows(cur, scope: Scope, gone: list[tuple]) -> None:
    """The rows of the tables a model writes alone (marts_models.Model.tables) it writes again."""
    for path, recomputed_from in scope.models.items():
        for name in marts_models.MODELS.get(path.name, marts_models.Model()).tables:
            # every row the model's: from the first period it recomputes (None: it does not run)
            table = sql.SQL(name)
            deleted = _delete_all_or_gone(cur, table, scope.full, gone)
            if not scope.full and recomputed_from is not None:
                cur.execute(sql.SQL("DELETE FROM {} WHERE period_end >= %s").format(table),
                            (recomputed_from,))
                deleted += cur.rowcount
            scope.members_deleted += deleted
            log.info("marts refresh: %d rows of %s deleted", deleted, name)


def _delete_all_or_gone(cur, table: sql.Composable, full: bool, gone: list[tuple]) -> int:
    """Every row of the table in a full refresh; else those of the periods no longer reported."""
    if full:
        cur.execute(sql.SQL("DELETE FROM {}").format(table))
        return cur.rowcount
    deleted = 0
    for period_start, period_end in gone:
        cur.execute(sql.SQL("DELETE FROM {} WHERE period_end = %s AND period_start = %s")
                    .format(table), (period_end, period_start))
        deleted += cur.rowcount
    return deleted


def describe(scope: Scope) -> str:
    if scope.full:
        return "every period recomputed"
    if scope.refresh_from is None:
        return "no period recomputed (the targets in force set again)"
    models = ", ".join(f"{path.stem} from {recomputed_from:%d/%m/%Y}"
                       for path, recomputed_from in scope.models.items()
                       if recomputed_from is not None and recomputed_from != scope.refresh_from)
    return (f"periods ending from {scope.refresh_from:%d/%m/%Y} recomputed"
            + (f" (fewer by some models: {models})" if models else ""))
