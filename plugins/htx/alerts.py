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
    reason = _reason(error)
    log.error("htx task failed: %s (dag=%s run=%s task=%s)", reason, dag_id, run_id, task_id)
    try:  # nothing here may raise: the task's own failure is what Airflow must report
        from htx.ops.failures import alert_for_failure
        from htx.ops.notify import send

        alert = getattr(error, "htx_alert", None) or alert_for_failure(dag_id, run_id, task_id,
                                                                       reason)
        send(alert)
    except Exception as err:  # the log line above still stands
        log.error("could not record or send the failure alert: %s", _reason(err))


def _reason(error) -> str:
    """Why the task failed, in one redacted line: `Class: message`, or the message alone of
    what htx.errors.for_airflow raised (which says it already)."""
    from airflow.sdk.exceptions import AirflowFailException

    from htx.errors import TransientFailure, describe
    from htx.redaction import redact

    if error is None:
        return "unknown error"
    if isinstance(error, (AirflowFailException, TransientFailure)):
        return redact(str(error))
    return describe(error)
