"""Refresh the plan's indicator marts: every file of include/sql/marts/, in name order, in one
transaction, so readers see either the previous complete set or the new one, never a mix."""
from __future__ import annotations

import logging

from htx import db
from htx.ops import freshness
from htx.paths import MARTS_SQL_DIR

log = logging.getLogger(__name__)


def refresh(dag_run_id: str | None = None, dsn: str | None = None) -> dict:
    with db.transaction(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(hashtext('mart refresh'))")
        cur.execute("DELETE FROM mart.plan_indicator")
        cur.execute("DELETE FROM mart.plan_indicator_members")
        for model in sorted(MARTS_SQL_DIR.glob("*.sql")):
            db.run_sql_file(cur, model)
        cur.execute("SELECT count(*) FROM mart.reporting_period")
        (periods,) = cur.fetchone()
        cur.execute("SELECT count(*) FROM mart.plan_indicator")
        (rows,) = cur.fetchone()
        stale = freshness.stale_feeds(cur)  # built anyway; readers see which feeds lag
        cur.execute("INSERT INTO mart.refresh_log (periods, indicator_rows, dag_run_id,"
                    " stale_feeds) VALUES (%s, %s, %s, %s)", (periods, rows, dag_run_id, stale))
    log.info("marts refreshed: %d periods, %d indicator rows; late feeds: %s", periods, rows,
             ", ".join(stale) or "none")
    return {"periods": periods, "indicator_rows": rows, "stale_feeds": stale}


def indicators_for(period_start, period_end, dsn: str | None = None) -> list[tuple]:
    with db.transaction(dsn) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT indicator_code, breakdown, value, unit, target, attainment_pct"
            " FROM mart.plan_indicator WHERE period_start = %s AND period_end = %s"
            " ORDER BY indicator_code, breakdown", (period_start, period_end))
        return cur.fetchall()
