"""Ops DAG `htx_ops_freshness`, daily: is every feed's data on time, are the marts up to date?

`check_freshness` compares each feed's newest published batch with its deadline
(htx.ops.freshness), looks for batches of the last day that quarantined an unusual share of their
rows, and compares the marts' last refresh with the newest publish (htx.ops.checks). Anything
found fails the task, and the failure callback sends one alert — feeds late, due when, last
delivery; spikes; stale marts — to the same channels as a failed load (connections `htx_alert_smtp` / `htx_alert_webhook`). It alerts again
every day until the delivery arrives. `build_data_docs` rebuilds the Great Expectations Data Docs
from the kept validation results (HTX_DATA_DOCS_DIR). What to do: docs/runbook.md.

Built at parse time: nothing heavy is imported and no connection is read here.
"""
from __future__ import annotations

from htx.dag_factory import TIMEZONE, default_args, task_of
from htx.tags import Tag

FRESHNESS_DAG_ID = "htx_ops_freshness"
# 09:00 Vietnam time: after the morning's file-drop looks (06:30–07:15) and the first registry pull.
FRESHNESS_SCHEDULE = "0 9 * * *"


def build_freshness_dag():
    import pendulum
    from airflow.sdk import dag

    from htx.lineage import step_tasks

    @dag(dag_id=FRESHNESS_DAG_ID, description="Feeds on time? Marts up to date? Data Docs.",
         schedule=FRESHNESS_SCHEDULE, start_date=pendulum.datetime(2024, 1, 1, tz=TIMEZONE),
         catchup=False, max_active_runs=1, default_args=default_args(),
         tags=[Tag.HTX.value, Tag.OPS.value], doc_md=__doc__)
    def ops_freshness():
        @task_of("check_freshness", step_tasks)
        def check_freshness() -> dict:
            from airflow.sdk.exceptions import AirflowFailException

            from htx.ops import checks
            from htx.ops.notify import run_url

            alert = checks.daily_alert()
            if alert is None:
                return {"late": []}
            from airflow.sdk import get_current_context

            context = get_current_context()
            alert.dag_id, alert.run_id = context["dag"].dag_id, context["run_id"]
            alert.task_id = context["ti"].task_id
            alert.run_url = run_url(alert.dag_id, alert.run_id)
            failure = AirflowFailException(alert.error)  # no retry: only a delivery fixes it
            failure.htx_alert = alert  # the failure callback sends this one (htx.alerts)
            raise failure

        @task_of("build_data_docs", step_tasks)
        def build_data_docs() -> str:
            from htx.ops import data_docs

            return str(data_docs.build())

        check_freshness()
        build_data_docs()

    return ops_freshness()
