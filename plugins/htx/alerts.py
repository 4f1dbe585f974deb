"""What happens when a task fails: the failure is logged with its feed, batch and reason, and the
run's unfinished batches are marked failed in audit.load_batch (ops read failures there).

Kept light: DAG files import this module at parse time to attach the callback.
"""
from __future__ import annotations

import logging

log = logging.getLogger("htx.alerts")


def on_task_failure(context) -> None:
    dag_id = context["dag"].dag_id if context.get("dag") else "?"
    run_id = context.get("run_id", "?")
    task_id = context["ti"].task_id if context.get("ti") else "?"
    error = context.get("exception")
    reason = f"{type(error).__name__}: {error}" if error else "unknown error"
    log.error("htx task failed: dag=%s run=%s task=%s: %s", dag_id, run_id, task_id, reason)
    try:
        from htx.pipeline import mark_run_failed

        mark_run_failed(dag_id, run_id, f"{task_id}: {reason}")
    except Exception:  # the warehouse may be what failed; the log line above still stands
        log.exception("could not record the failure in audit.load_batch")
