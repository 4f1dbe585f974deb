"""A task process killed (SIGKILL: no exception handler, no failure callback) in the middle of a
load or of a merge: its transaction never commits, the batch stays where a retry takes it up,
and the retry leaves the warehouse exactly as a clean run does.

The step runs in a child Python process, as an Airflow worker runs a task; the test stops it
inside its transaction (faults_support.Gate), kills it there, and lets the server end its session.
"""
import os
import signal

import pytest
from psycopg2 import sql

from conftest import as_dags_login, query
from faults_support import (Gate, drop, fresh_warehouse, run_feed, snapshot, start_step,
                            tax_file, wait_until_gone)
from htx import pipeline

FEED = "tax_declarations"
FILE = "tax/to_khai_202409.csv"
RUN = pipeline.RunInfo("htx_feed_tax_declarations", "scheduled__2024-10-01", "test")


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory):
    """The warehouse one undisturbed run leaves."""
    landing = tmp_path_factory.mktemp("clean_landing")
    drop(landing, FILE, tax_file())
    saved = {k: os.environ[k] for k in ("AIRFLOW_CONN_HTX_WAREHOUSE",)}
    saved["HTX_LANDING_URL"] = os.environ.get("HTX_LANDING_URL")
    with fresh_warehouse() as dsn:
        try:
            os.environ.update({"AIRFLOW_CONN_HTX_WAREHOUSE": as_dags_login(dsn),
                               "HTX_LANDING_URL": str(landing)})
            run_feed(FEED, RUN)
            return snapshot(dsn, landing)
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


@pytest.fixture
def landed(warehouse, landing):
    drop(landing, FILE, tax_file())
    (batch,) = pipeline.extract_to_landing(FEED, RUN)
    return warehouse, landing, batch


def kill_inside(dsn: str, table: str, when: str, code: str) -> None:
    """Run `code` in a child process, stop it when it writes the matching row of `table`, SIGKILL
    it there, and wait until the server has ended (rolled back) its session."""
    with Gate(dsn, table, when) as gate:
        child = start_step(code)
        try:
            (backend,) = gate.wait_for_waiters(1, [child])
            # Rows are written inside the open transaction, but nobody else sees any of them.
            assert query(dsn, sql.SQL("SELECT count(*) FROM {}").format(
                sql.Identifier(*table.split(".")))) == [(0,)]
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait()
        assert child.returncode == -signal.SIGKILL
    wait_until_gone(dsn, [backend])


def test_a_load_killed_in_the_middle_of_its_copy_is_redone_by_the_retry(landed, clean_run):
    dsn, landing, batch = landed
    kill_inside(dsn, "staging.tax_declarations", "NEW.source_row = 6",
                f"from htx import pipeline; pipeline.validate_and_stage({FEED!r}, {batch})")
    assert query(dsn, "SELECT status, rows_in FROM audit.load_batch") == [("running", None)]
    assert query(dsn, "SELECT count(*) FROM quarantine.tax_declarations") == [(0,)]
    # Airflow's retry of the task, then the rest of the run.
    pipeline.validate_and_stage(FEED, batch)
    assert pipeline.merge_into_core(FEED, batch) is True
    pipeline.publish(FEED, batch)
    assert snapshot(dsn, landing) == clean_run


def test_a_merge_killed_halfway_through_core_is_redone_by_the_retry(landed, clean_run):
    dsn, landing, batch = landed
    pipeline.validate_and_stage(FEED, batch)
    staged = query(dsn, "SELECT * FROM staging.tax_declarations ORDER BY source_row")
    kill_inside(dsn, "core.tax_declaration", "NEW.source_row = 6",
                f"from htx import pipeline; pipeline.merge_into_core({FEED!r}, {batch})")
    assert query(dsn, "SELECT count(*) FROM core.tax_declaration") == [(0,)]
    assert query(dsn, "SELECT status FROM audit.load_batch") == [("staged",)]
    assert query(dsn, "SELECT * FROM staging.tax_declarations ORDER BY source_row") == staged
    assert pipeline.merge_into_core(FEED, batch) is True
    pipeline.publish(FEED, batch)
    assert snapshot(dsn, landing) == clean_run
