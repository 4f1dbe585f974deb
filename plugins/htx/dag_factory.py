"""Builds the project's DAGs from configuration; DAG files only call these.

Everything here runs at DAG parse time, so it imports nothing heavy and reads no connection:
task bodies import the pipeline when they run.

Every task has an `execution_timeout` (TASK_TIMEOUTS, each replaced by the environment setting
`HTX_TIMEOUT_<TASK_ID>` in seconds) and runs under `fail_fast`: a transient failure (the
warehouse, the network) is retried after RETRY_DELAY (`HTX_RETRY_DELAY_SECONDS`), doubling; any
other — bad data, a refused setting, a rejected delivery — fails the task at once
(AirflowFailException), never waiting through retry delays. A task cut off by its timeout is
retried (a hang is mostly the network's or the warehouse's).
"""
from __future__ import annotations

import functools
import os
from datetime import timedelta
from functools import reduce
from operator import or_

from htx.alerts import on_task_failure
from htx.feeds.config import FEEDS, Feed
from htx.tags import Tag

OWNER = "htx-data"
TIMEZONE = "Asia/Ho_Chi_Minh"
RETRIES = 2
RETRY_DELAY = timedelta(minutes=5)
# Per task kind: generous for national-scale data on a small machine (bench/results.md: a
# 10,000,000-row tax file validates and stages in about 2 minutes, the marts refresh in 41 s).
TASK_TIMEOUTS = {
    "extract_to_landing": timedelta(hours=1),
    "validate_and_stage": timedelta(hours=2),
    "merge_into_core": timedelta(hours=1),
    "publish": timedelta(minutes=15),
    "needs_refresh": timedelta(minutes=15),
    "refresh_marts": timedelta(hours=1),
    "write_exports": timedelta(minutes=30),
    "check_freshness": timedelta(minutes=15),
    "build_data_docs": timedelta(minutes=30),
}


def _seconds_setting(name: str, default: timedelta, minimum: int) -> timedelta:
    """A duration setting in whole seconds; a value that is not one is refused (the DAG file
    does not import, naming the setting)."""
    text = os.environ.get(name)
    if text is None:
        return default
    if not text.strip().isdigit() or int(text) < minimum:
        raise ValueError(f"setting {name} must be a whole number of seconds, at least {minimum}"
                         f" (given {text!r})")
    return timedelta(seconds=int(text))


def execution_timeout(task_id: str) -> timedelta:
    return _seconds_setting(f"HTX_TIMEOUT_{task_id.upper()}", TASK_TIMEOUTS[task_id], 1)


def default_args() -> dict:
    """Every task's arguments, settings read now (at parse time, from the environment only)."""
    return {
        "owner": OWNER,
        "retries": RETRIES,
        "retry_delay": _seconds_setting("HTX_RETRY_DELAY_SECONDS", RETRY_DELAY, 0),
        "retry_exponential_backoff": True,
        "on_failure_callback": on_task_failure,
    }


def fail_fast(body):
    """The task body, with what it raises told to Airflow as htx.errors.for_airflow says:
    transient → retried, anything else → failed at once; redacted, without chained causes."""
    @functools.wraps(body)
    def run(*args, **kwargs):
        try:
            return body(*args, **kwargs)
        except Exception as err:
            from htx.errors import for_airflow

            raise for_airflow(err) from None
    return run


def task_of(kind: str, lineage_task, **options):
    """The task of this kind: made by `lineage_task` (htx.lineage: `@task` telling OpenLineage
    what it reads and writes) with its id and its execution timeout, its body under fail_fast."""
    def decorate(body):
        return lineage_task(task_id=kind, execution_timeout=execution_timeout(kind), **options)(
            fail_fast(body))
    return decorate


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
    source_tag = Tag.API if feed.source.kind == "api" else Tag.FILE_DROP

    @dag(dag_id=feed.dag_id, description=feed.title, schedule=feed.schedule,
         start_date=_start_date(), catchup=False, max_active_runs=1, default_args=default_args(),
         tags=[Tag.HTX.value, Tag.FEED.value, source_tag.value], doc_md=_feed_doc(feed))
    def feed_pipeline():
        @task_of("extract_to_landing", task)
        def extract_to_landing() -> list[int]:
            """A pull rejected (a refused token, a malformed page) fails here at once: it is
            the run's one delivery. A file that cannot be landed is rejected alone."""
            from htx import pipeline

            context = get_current_context()
            run = pipeline.RunInfo(context["dag"].dag_id, context["run_id"], context["ti"].task_id)
            return pipeline.extract_to_landing(feed.name, run)

        @task_of("validate_and_stage", task)
        def validate_and_stage(batch_ids: list[int]) -> dict:
            from htx import pipeline

            return pipeline.stage_batches(feed.name, batch_ids)

        @task_of("merge_into_core", task)
        def merge_into_core(batch_ids: list[int]) -> list[int]:
            from htx import pipeline

            return pipeline.merge_batches(feed.name, batch_ids)

        @task_of("publish", task, outlets=[feed_asset(feed)])
        def publish(batch_ids: list[int]) -> dict:
            """Updates the core Asset only when every batch of the run loaded: a rejected file
            fails the run (ops are alerted) while the run's other deliveries are published, and
            the marts keep their last complete state."""
            from htx import pipeline

            if not batch_ids:
                raise AirflowSkipException(f"{feed.name}: nothing new delivered")
            summary = pipeline.publish_batches(feed.name, batch_ids)
            if summary["rejected"]:
                from htx.errors import with_object

                raise AirflowFailException("; ".join(with_object(r["error"], r["file"])
                                                     for r in summary["rejected"]))
            return summary

        @task_of("build_data_docs", task)
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
    from airflow.sdk import (Asset, AssetOrTimeSchedule, CronTriggerTimetable, dag,
                             get_current_context)

    from htx.lineage import step_tasks

    core_assets = [feed_asset(feed) for feed in FEEDS.values()]

    @dag(dag_id=MARTS_DAG_ID, description="Chỉ tiêu kế hoạch (plan indicators) marts",
         schedule=AssetOrTimeSchedule(
             timetable=CronTriggerTimetable(MARTS_CATCH_UP_SCHEDULE, timezone=TIMEZONE),
             assets=reduce(or_, core_assets)),
         start_date=_start_date(), catchup=False, is_paused_upon_creation=False,
         max_active_runs=1, default_args=default_args(), tags=[Tag.HTX.value, Tag.MARTS.value],
         doc_md=build_marts_dag.__doc__)
    def plan_marts():
        @task_of("needs_refresh", step_tasks, short_circuit=True)
        def needs_refresh() -> bool:
            """A feed's Asset or a person asked: refresh. The hourly check: only when a publish
            is newer than the last refresh."""
            from htx import marts

            return marts.needs_refresh(str(get_current_context()["dag_run"].run_type))

        @task_of("refresh_marts", step_tasks, outlets=[Asset(
            name=MARTS_ASSET_NAME, uri="htx://warehouse/mart/plan_indicator", group="htx_mart")])
        def refresh_marts() -> dict:
            """After feed runs (their Asset, the hourly check): the periods their batches can
            change (htx.marts_incremental). Triggered by a person: every period."""
            from htx import marts

            context = get_current_context()
            return marts.refresh(context["run_id"],
                                 incremental=str(context["dag_run"].run_type) != "manual")

        @task_of("write_exports", step_tasks)
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
            f"| | |\n|---|---|\n| source | {feed.source.kind} |\n| schedule | `{feed.schedule}` "
            f"({TIMEZONE}) |\n| writes | `{feed.staging_table}`, `{feed.core_table}`, "
            f"`{feed.quarantine_table}`, `audit.load_batch` |\n| suite | "
            f"`{feed.suite_file}` |\n")
