"""Builds the project's DAGs from configuration; DAG files only call these.

Everything here runs at DAG parse time, so it imports nothing heavy and reads no connection:
task bodies import the pipeline when they run.
"""
from __future__ import annotations

from datetime import timedelta

from htx.alerts import on_task_failure
from htx.feeds.config import FEEDS, Feed
from htx.tags import Tag

OWNER = "htx-data"
TIMEZONE = "Asia/Ho_Chi_Minh"
DEFAULT_ARGS = {
    "owner": OWNER,
    "retries": 2,
    "retry_delay": timedelta(minutes=5),
    "retry_exponential_backoff": True,
    "on_failure_callback": on_task_failure,
}


def _start_date():
    import pendulum

    return pendulum.datetime(2024, 1, 1, tz=TIMEZONE)


def feed_asset(feed: Feed):
    from airflow.sdk import Asset

    return Asset(name=feed.asset_name, uri=feed.asset_uri, group="htx_core")


MARTS_DAG_ID = "htx_plan_marts"
MARTS_ASSET_NAME = "htx_mart_plan_indicator"


def build_feed_dag(feed: Feed):
    """extract → land → parse/validate → stage → merge → publish the core Asset."""
    from airflow.sdk import dag, get_current_context
    from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

    from htx.lineage import feed_tasks

    task = feed_tasks(feed)  # @task, each task telling OpenLineage what it reads and writes
    source_tag = Tag.API if feed.source == "api" else Tag.FILE_DROP

    @dag(dag_id=feed.dag_id, description=feed.title, schedule=feed.schedule,
         start_date=_start_date(), catchup=False, max_active_runs=1, default_args=DEFAULT_ARGS,
         tags=[Tag.HTX.value, Tag.FEED.value, source_tag.value], doc_md=_feed_doc(feed))
    def feed_pipeline():
        @task
        def extract_to_landing() -> list[int]:
            from htx import pipeline
            from htx.registry_api.client import RegistryApiError

            context = get_current_context()
            run = pipeline.RunInfo(context["dag"].dag_id, context["run_id"], context["ti"].task_id)
            try:
                return pipeline.extract_to_landing(feed.name, run)
            except RegistryApiError as err:  # a bad token, a refused pull: retrying cannot help
                raise AirflowFailException(str(err)) from None

        @task
        def validate_and_stage(batch_ids: list[int]) -> dict:
            from htx import pipeline

            return pipeline.stage_batches(feed.name, batch_ids)

        @task
        def merge_into_core(batch_ids: list[int]) -> list[int]:
            from htx import pipeline

            return pipeline.merge_batches(feed.name, batch_ids)

        @task(outlets=[feed_asset(feed)])
        def publish(batch_ids: list[int]) -> dict:
            """Updates the core Asset only when every batch of the run loaded: a rejected file
            fails the run (ops are alerted) and the marts keep their last complete state."""
            from htx import pipeline

            if not batch_ids:
                raise AirflowSkipException(f"{feed.name}: nothing new delivered")
            summary = pipeline.publish_batches(feed.name, batch_ids)
            if summary["rejected"]:
                raise AirflowFailException("; ".join(f"{r['file']}: {r['error']}"
                                                     for r in summary["rejected"]))
            return summary

        @task
        def build_data_docs() -> str:
            """The Data Docs, rebuilt after every run whatever its outcome: a teardown, so it
            never changes the run's state, and a site that cannot be built is only logged."""
            from htx.ops import data_docs

            context = get_current_context()
            return data_docs.refresh(context["dag"].dag_id, context["run_id"])

        batch_ids = extract_to_landing()
        merged = merge_into_core(batch_ids)
        (validate_and_stage(batch_ids) >> merged >> publish(batch_ids)
         >> build_data_docs().as_teardown())

    return feed_pipeline()


# The marts DAG's catch-up check: hourly, besides the feeds' Assets (see build_marts_dag).
MARTS_CATCH_UP_SCHEDULE = "0 * * * *"


def build_marts_dag():
    """Refresh mart.plan_indicator whenever any feed's core Asset is updated.

    Airflow drops the Asset events of a paused DAG, so a marts DAG paused when a feed publishes
    would never run for that publish: it is created unpaused whatever
    `dags_are_paused_at_creation` says (it only ever follows the feeds), and an hourly run
    refreshes the marts when they miss a publish — nothing otherwise. `python -m htx health`
    shows such a lag at once, and the daily check alerts on it (htx.ops.freshness)."""
    from functools import reduce
    from operator import or_

    from airflow.sdk import (Asset, AssetOrTimeSchedule, CronTriggerTimetable, dag,
                             get_current_context)
    from airflow.sdk import task as plain_task

    from htx.lineage import step_tasks as task

    core_assets = [feed_asset(feed) for feed in FEEDS.values()]

    @dag(dag_id=MARTS_DAG_ID, description="Chỉ tiêu kế hoạch (plan indicators) marts",
         schedule=AssetOrTimeSchedule(
             timetable=CronTriggerTimetable(MARTS_CATCH_UP_SCHEDULE, timezone=TIMEZONE),
             assets=reduce(or_, core_assets)),
         start_date=_start_date(), catchup=False, is_paused_upon_creation=False,
         max_active_runs=1, default_args=DEFAULT_ARGS, tags=[Tag.HTX.value, Tag.MARTS.value],
         doc_md=build_marts_dag.__doc__)
    def plan_marts():
        @plain_task.short_circuit   # reads only mart.refresh_log and audit.load_batch: no lineage
        def needs_refresh() -> bool:
            """A feed's Asset or a person asked: refresh. The hourly check: only when a publish
            is newer than the last refresh."""
            from htx import marts

            return marts.needs_refresh(str(get_current_context()["dag_run"].run_type))

        @task(outlets=[Asset(name=MARTS_ASSET_NAME, uri="htx://warehouse/mart/plan_indicator",
                             group="htx_mart")])
        def refresh_marts() -> dict:
            from htx import marts

            return marts.refresh(get_current_context()["run_id"])

        @task
        def write_exports() -> list[dict]:
            """The plan's tables (XLSX) and the HTML report of the newest year-to-date period
            and the newest full year, from the marts only, into HTX_EXPORT_DIR."""
            from htx import exports

            return [{kind: str(path) for kind, path in written.items()}
                    for written in exports.write_latest()]

        needs_refresh() >> refresh_marts() >> write_exports()

    return plan_marts()


def _feed_doc(feed: Feed) -> str:
    return (f"### {feed.title}\n\n{feed.doc}\n\n"
            f"| | |\n|---|---|\n| source | {feed.source} |\n| schedule | `{feed.schedule}` "
            f"({TIMEZONE}) |\n| writes | `{feed.staging_table}`, `{feed.core_table}`, "
            f"`{feed.quarantine_table}`, `audit.load_batch` |\n| suite | "
            f"`include/expectations/{feed.suite_file}` |\n")
