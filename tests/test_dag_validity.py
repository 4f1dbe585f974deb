"""Every DAG imports cleanly and carries what operations relies on."""
import subprocess
import sys

import pytest

from htx.paths import DAGS_DIR
from htx.feeds.config import FEEDS
from htx.tags import VOCABULARY


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_DIR))


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert {"htx_feed_registrations", "htx_plan_marts"} <= set(dagbag.dags)


def test_every_dag_has_owner_tags_retries_and_a_failure_callback(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags and set(dag.tags) <= VOCABULARY, dag_id
        assert dag.doc_md, dag_id
        for task in dag.tasks:
            assert task.owner == "htx-data", (dag_id, task.task_id)
            assert task.retries >= 1, (dag_id, task.task_id)
            assert task.on_failure_callback, (dag_id, task.task_id)


def test_every_task_has_the_execution_timeout_of_its_kind(dagbag):
    from htx.dag_factory import TASK_TIMEOUTS

    for dag_id, dag in dagbag.dags.items():
        for task in dag.tasks:
            assert task.execution_timeout == TASK_TIMEOUTS[task.task_id], (dag_id, task.task_id)


def _parsed_with(env: dict) -> tuple[dict, dict]:
    """(task id → execution timeout in seconds and retry delay, import errors) of a DAG folder
    parsed in a fresh process with these settings."""
    import json
    import os

    code = ("import json; from airflow.dag_processing.dagbag import DagBag\n"
            f"bag = DagBag(dag_folder={str(DAGS_DIR)!r})\n"
            "print(json.dumps([{t.task_id: [t.execution_timeout.total_seconds(),"
            " t.retry_delay.total_seconds()] for d in bag.dags.values() for t in d.tasks},"
            " {k: str(v) for k, v in bag.import_errors.items()}]))")
    done = subprocess.run([sys.executable, "-c", code], env={**os.environ, **env},
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    return tuple(json.loads(done.stdout.strip().splitlines()[-1]))


def test_timeouts_and_the_retry_delay_are_settings():
    tasks, errors = _parsed_with({"HTX_TIMEOUT_VALIDATE_AND_STAGE": "90",
                                  "HTX_RETRY_DELAY_SECONDS": "7"})
    assert errors == {}
    assert tasks["validate_and_stage"] == [90, 7] and tasks["publish"] == [15 * 60, 7]
    _, errors = _parsed_with({"HTX_TIMEOUT_PUBLISH": "soon"})
    assert errors and all("HTX_TIMEOUT_PUBLISH must be a whole number of seconds" in e
                          for e in errors.values())


def test_feed_dags_are_scheduled_and_have_the_one_shape(dagbag):
    feeds = [d for d in dagbag.dags.values() if d.dag_id.startswith("htx_feed_")]
    for dag in feeds:
        assert getattr(dag.timetable, "expression", None) == FEEDS[dag.dag_id[9:]].schedule
        assert [t.task_id for t in dag.topological_sort()] == [
            "extract_to_landing", "validate_and_stage", "merge_into_core", "publish",
            "build_data_docs"]
        assert dag.get_task("publish").outlets, dag.dag_id
        # Rebuilt after every run, failed or not, without deciding the run's state.
        docs = dag.get_task("build_data_docs")
        assert docs.is_teardown and not docs.on_failure_fail_dagrun, dag.dag_id
        assert docs.upstream_task_ids == {"publish"}, dag.dag_id


def test_marts_dag_runs_on_the_feeds_core_assets(dagbag):
    marts = dagbag.dags["htx_plan_marts"]
    assert "htx_core_registration_state" in str(marts.timetable.asset_condition)


def test_marts_dag_is_never_paused_at_creation_and_checks_hourly_that_it_holds_every_publish(
        dagbag):
    """Airflow drops a paused DAG's Asset events: the marts start unpaused even where
    dags_are_paused_at_creation is true (docker-compose.yml), and an hourly run catches up."""
    from htx.dag_factory import MARTS_CATCH_UP_SCHEDULE

    marts = dagbag.dags["htx_plan_marts"]
    assert marts.is_paused_upon_creation is False
    assert marts.timetable.timetable.expression == MARTS_CATCH_UP_SCHEDULE == "0 * * * *"
    assert [t.task_id for t in marts.topological_sort()] == [
        "needs_refresh", "refresh_marts", "write_exports"]


def _modules_loaded_by(statement: str) -> set[str]:
    heavy = ["pandas", "great_expectations", "psycopg2", "openpyxl", "requests", "stdnum", "numpy"]
    code = (f"import sys; sys.path.insert(0, {str(DAGS_DIR.parent / 'plugins')!r})\n{statement}\n"
            f"print(','.join(m for m in {heavy!r} if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    return set(filter(None, done.stdout.strip().splitlines()[-1].split(",")))


def test_dag_files_import_no_heavy_library_at_parse_time():
    """Parse time: DAG files add no heavy import to what airflow.sdk itself loads to define an
    Asset (its first Asset loads every installed provider's Asset URI handlers: the Amazon
    provider's brings boto3 and requests)."""
    baseline = _modules_loaded_by("import airflow.sdk; airflow.sdk.Asset(name='a', uri='x://y/z')")
    parsed = _modules_loaded_by(
        "import runpy, glob\n"
        f"for f in sorted(glob.glob({str(DAGS_DIR / '*.py')!r})): runpy.run_path(f)")
    assert parsed - baseline == set()
