"""A failed run, as ops need it: its batches marked failed in audit.load_batch with the task that
failed, and an alert naming the feed, the batches, the files and the reason. The recent failures
are `audit.failed_loads` (migration 0011)."""
from __future__ import annotations

import logging

from psycopg2 import sql

from htx import db
from htx.errors import describe
from htx.feeds.config import FEEDS
from htx.ops.notify import Alert, airflow_base_url, run_url
from htx.pipeline import mark_run_failed

log = logging.getLogger("htx.alerts")

FEED_DAG_PREFIX = "htx_feed_"


def feed_of(dag_id: str | None) -> str | None:
    name = (dag_id or "").removeprefix(FEED_DAG_PREFIX)
    return name if dag_id and dag_id.startswith(FEED_DAG_PREFIX) and name in FEEDS else None


def alert_for_failure(dag_id: str, run_id: str, task_id: str, reason: str) -> Alert:
    """Record the failure against the run's batches and describe it. When the warehouse itself
    is what failed, the alert still goes out, saying the batches could not be read."""
    feed = feed_of(dag_id)
    alert = Alert(kind="failed_load" if feed else "task_failed", error=reason, feed=feed,
                  dag_id=dag_id, run_id=run_id, task_id=task_id, run_url=run_url(dag_id, run_id))
    try:
        batches = record_failure(dag_id, run_id, task_id, reason)
    except Exception as err:  # the warehouse may be down: say so, and still alert
        log.exception("could not record the failure in audit.load_batch")
        alert.details.append({"warehouse": f"the run's batches could not be read or marked "
                                           f"failed: {describe(err)}"})
        return alert
    for batch_id, status, source_object, error in batches:
        alert.batches.append(batch_id)
        alert.files.append(source_object)
        alert.details.append({"batch_id": batch_id, "file": source_object, "status": status,
                              "error": error})
    return alert


def record_failure(dag_id: str, run_id: str, task_id: str, reason: str) -> list[tuple]:
    """Mark the run's unfinished batches failed, name the failed task on every batch the run
    did not load, and return those batches: (batch_id, status, source_object, error)."""
    mark_run_failed(dag_id, run_id, f"{reason} (task {task_id})")
    with db.transaction() as conn, conn.cursor() as cur:
        cur.execute(
            "UPDATE audit.load_batch SET task_id = %s"
            " WHERE dag_id = %s AND run_id = %s AND status IN ('failed', 'rejected')"
            " RETURNING batch_id, status, source_object, error", (task_id, dag_id, run_id))
        return sorted(cur.fetchall())


# The reason before the object, as everywhere.
FAILED_LOAD_COLUMNS = ("feed", "batch_id", "status", "error", "source_object", "landed_objects",
                       "rows_in", "started_at", "finished_at", "dag_id", "run_id", "task_id",
                       "run_url", "resolved_by_batch")


def failed_loads(days: int = 7, dsn: str | None = None) -> list[dict]:
    """audit.failed_loads(days), with run URLs under this environment's HTX_AIRFLOW_BASE_URL."""
    columns = sql.SQL(", ").join(sql.Identifier(c) for c in FAILED_LOAD_COLUMNS)
    with db.transaction(dsn) as conn, conn.cursor() as cur:
        cur.execute(sql.SQL("SELECT {} FROM audit.failed_loads(%s, %s)").format(columns),
                    (days, airflow_base_url()))
        return [dict(zip(FAILED_LOAD_COLUMNS, row)) for row in cur.fetchall()]
