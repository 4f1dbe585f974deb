"""The same delivery processed twice — at the same time or one after the other — leaves the
warehouse exactly as one clean run does: nothing lost, nothing duplicated.

Each concurrent case forces its interleaving: the first run is stopped inside its transaction
(faults_support.Gate) and the test waits until the second one is provably blocked too (the
server's lock table), then lets both go. Every case here failed before the locks pipeline.py now
takes (see the comments at its FOR UPDATE statements).
"""
import os

import pytest

from conftest import as_dags_login, query
from faults_support import Gate, drop, in_thread, run_feed, snapshot, tax_file
from htx import pipeline

FEED = "tax_declarations"
FILE = "tax/to_khai_202409.csv"


def run_info(name: str) -> pipeline.RunInfo:
    return pipeline.RunInfo("htx_feed_tax_declarations", name, "test")


@pytest.fixture
def delivered(warehouse, landing):
    drop(landing, FILE, tax_file())
    return warehouse, landing


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """The warehouse one undisturbed run leaves, for comparison (built once per delivery)."""
    from faults_support import fresh_warehouse

    built: dict = {}

    def build(feed: str, files: dict[str, bytes], run: pipeline.RunInfo):
        key = (feed, tuple(sorted(files.items())), run)
        if key not in built:
            built[key] = _build(feed, files, run)
        return built[key]

    def _build(feed: str, files: dict[str, bytes], run: pipeline.RunInfo):
        landing = tmp_path_factory.mktemp("clean_landing")
        for name, data in files.items():
            drop(landing, name, data)
        saved = {k: os.environ[k] for k in ("AIRFLOW_CONN_HTX_WAREHOUSE", "HTX_LANDING_URL")}
        with fresh_warehouse() as dsn:
            try:
                os.environ.update({"AIRFLOW_CONN_HTX_WAREHOUSE": as_dags_login(dsn),
                                   "HTX_LANDING_URL": str(landing)})
                run_feed(feed, run)
                return snapshot(dsn, landing)
            finally:
                os.environ.update(saved)

    return build


def joined(*threads_and_outcomes):
    for thread, outcome in threads_and_outcomes:
        thread.join(120)
        assert not thread.is_alive(), "a step never finished"
        if outcome.error is not None:
            raise outcome.error
    return [outcome.value for _, outcome in threads_and_outcomes]


def test_two_runs_staging_the_same_file_at_once_stage_it_once(delivered, clean):
    dsn, landing = delivered
    with Gate(dsn, "staging.tax_declarations") as gate:
        first = in_thread(run_feed, FEED, run_info("a"))
        gate.wait_for_waiters(1, [first[0]])        # run a is inside its COPY into staging
        second = in_thread(run_feed, FEED, run_info("b"))
        gate.wait_for_waiters(2, [first[0], second[0]])  # run b is blocked behind it
        gate.release()
        batches = joined(first, second)
    assert batches == [[1], [1]]
    assert query(dsn, "SELECT status FROM audit.load_batch") == [("published",)]
    expected = clean(FEED, {FILE: tax_file()}, run_info("a"))
    assert _without_run(snapshot(dsn, landing)) == _without_run(expected)


def test_a_run_finding_a_file_while_another_merges_it_leaves_it_merged(delivered, clean):
    dsn, landing = delivered
    (batch,) = pipeline.extract_to_landing(FEED, run_info("a"))
    pipeline.validate_and_stage(FEED, batch)
    with Gate(dsn, "core.tax_declaration") as gate:
        merging = in_thread(pipeline.merge_into_core, FEED, batch)
        gate.wait_for_waiters(1, [merging[0]])       # run a is inside its merge
        finding = in_thread(pipeline.extract_to_landing, FEED, run_info("b"))
        gate.wait_for_waiters(2, [merging[0], finding[0]])
        gate.release()
        merged, found = joined(merging, finding)
    assert (merged, found) == (True, [])            # run b has nothing new to do
    pipeline.publish(FEED, batch)                   # and run a's publish still finds it merged
    assert snapshot(dsn, landing) == clean(FEED, {FILE: tax_file()}, run_info("a"))


def test_two_merges_of_one_batch_at_once_merge_it_once(delivered, clean):
    dsn, landing = delivered
    (batch,) = pipeline.extract_to_landing(FEED, run_info("a"))
    pipeline.validate_and_stage(FEED, batch)
    with Gate(dsn, "core.tax_declaration") as gate:
        first = in_thread(pipeline.merge_into_core, FEED, batch)
        gate.wait_for_waiters(1, [first[0]])
        second = in_thread(pipeline.merge_into_core, FEED, batch)
        gate.wait_for_waiters(2, [first[0], second[0]])
        gate.release()
        assert sorted(joined(first, second)) == [False, True]
    pipeline.publish(FEED, batch)
    assert snapshot(dsn, landing) == clean(FEED, {FILE: tax_file()}, run_info("a"))


def test_every_step_run_again_after_the_run_changes_nothing(delivered, clean):
    dsn, landing = delivered
    (batch,) = run_feed(FEED, run_info("a"))
    after_one_run = snapshot(dsn, landing)
    # What retries and manual re-runs do: every step again on the same batch, then a new run.
    pipeline.validate_and_stage(FEED, batch)
    assert pipeline.merge_into_core(FEED, batch) is False
    pipeline.publish(FEED, batch)
    assert run_feed(FEED, run_info("b")) == []
    assert snapshot(dsn, landing) == after_one_run
    assert query(dsn, "SELECT status, rows_in, rows_loaded, rows_quarantined"
                      " FROM audit.load_batch") == [("published", 12, 9, 3)]
    assert after_one_run == clean(FEED, {FILE: tax_file()}, run_info("a"))


def test_the_same_api_pull_landed_twice_at_once_keeps_one_set_of_pages(
        warehouse, landing, registry_api, clean):
    from faults_support import valid_codes

    items = [{"entity_code": code, "entity_type": "HTX", "name": "Hợp tác xã Thử",
              "main_vsic": "0111", "locality": "Hạ Long", "registered_on": "2020-01-01",
              "status": "dang_hoat_dong", "status_since": "2020-01-01",
              "updated_at": f"2024-01-{i + 1:02d}T10:00:00+07:00"}
             for i, code in enumerate(valid_codes(5))]
    server = registry_api(items)
    run = pipeline.RunInfo("htx_feed_registrations", "scheduled__1", "extract_to_landing")
    with Gate(warehouse, "audit.landed_object") as gate:
        first = in_thread(pipeline.extract_to_landing, "registrations", run)
        gate.wait_for_waiters(1, [first[0]])
        second = in_thread(pipeline.extract_to_landing, "registrations", run)
        gate.wait_for_waiters(2, [first[0], second[0]])
        gate.release()
        assert joined(first, second) == [[1], [1]]
    assert len(server.requests) == 2
    pipeline.validate_and_stage("registrations", 1)   # the run goes on with its one batch
    pipeline.merge_into_core("registrations", 1)
    pipeline.publish("registrations", 1)
    assert query(warehouse, "SELECT count(*) FROM core.registration_state") == [(5,)]
    # The stand-in still serves the same items to the clean run.
    assert snapshot(warehouse, landing) == clean("registrations", {}, run)


def _without_run(found: dict) -> dict:
    """Which of two simultaneous runs ended owning the batch is not part of the guarantee."""
    owner = ("dag_id", "run_id", "task_id")
    return {**found, "audit.load_batch": [{k: v for k, v in row.items() if k not in owner}
                                          for row in found["audit.load_batch"]]}
