"""What happens when a task fails: the failure is logged with its feed, batch and reason, the
run's unfinished batches are marked failed in audit.load_batch (ops read failures there, and in
audit.failed_loads), and an alert goes to the configured channels — e-mail (connection
`htx_alert_smtp`) and/or a webhook (`htx_alert_webhook`); neither configured: the log only
(htx.ops.notify). A task that prepared its own alert (the freshness check's late feeds) raises an
exception carrying it as `htx_alert`, and that alert is sent instead.

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
    try:  # nothing here may raise: the task's own failure is what Airflow must report
        from htx.ops.failures import alert_for_failure
        from htx.ops.notify import send

        alert = getattr(error, "htx_alert", None) or alert_for_failure(dag_id, run_id, task_id,
                                                                       reason)
        send(alert)
    except Exception:  # the log line above still stands
        log.exception("could not record or send the failure alert")
