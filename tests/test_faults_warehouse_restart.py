"""The warehouse restarted while a feed loads: the task fails with the driver's clear error,
nothing of its transaction stays behind, the batch is left for the retry, and the retry loads it
exactly as an undisturbed run would.

The restart is a real `pg_ctl restart -m fast` of a dedicated second local server (the other tests
share the main one), taken while the load is stopped inside its COPY (faults_support.Gate).
"""
import psycopg2
import pytest

from conftest import as_dags_login, query
from faults_support import (Gate, drop, fresh_warehouse, in_thread, run_feed, second_server,
                            snapshot, tax_file)
from htx import localpg, pipeline

FEED = "tax_declarations"
FILE = "tax/to_khai_202409.csv"
RUN = pipeline.RunInfo("htx_feed_tax_declarations", "scheduled__2024-10-01", "test")


@pytest.fixture
def delivered(landing):
    drop(landing, FILE, tax_file())
    return landing


def test_a_restart_during_a_load_fails_the_task_cleanly_and_the_retry_loads_it(
        delivered, monkeypatch, tmp_path):
    with second_server() as (server, datadir), fresh_warehouse(server) as dsn:
        monkeypatch.setenv("AIRFLOW_CONN_HTX_WAREHOUSE", as_dags_login(dsn))
        (batch,) = pipeline.extract_to_landing(FEED, RUN)
        with Gate(dsn, "staging.tax_declarations", "NEW.source_row = 6") as gate:
            thread, outcome = in_thread(pipeline.validate_and_stage, FEED, batch)
            gate.wait_for_waiters(1, [thread])
            localpg.restart(datadir)
            thread.join(60)
        assert not thread.is_alive()
        # What the task fails with: the driver's own words, no partial state, nothing swallowed.
        assert isinstance(outcome.error, psycopg2.OperationalError), repr(outcome.error)
        assert any(words in str(outcome.error) for words in (
            "terminating connection due to administrator command",
            "server closed the connection unexpectedly")), str(outcome.error)
        assert query(dsn, "SELECT status, rows_in FROM audit.load_batch") == [("running", None)]
        assert query(dsn, "SELECT count(*) FROM staging.tax_declarations") == [(0,)]
        # Airflow's retry of the task, then the rest of the run.
        pipeline.validate_and_stage(FEED, batch)
        pipeline.merge_into_core(FEED, batch)
        pipeline.publish(FEED, batch)
        after_restart = snapshot(dsn, delivered)

    clean_landing = tmp_path / "clean"
    drop(clean_landing, FILE, tax_file())
    monkeypatch.setenv("HTX_LANDING_URL", str(clean_landing))
    with fresh_warehouse() as dsn:
        monkeypatch.setenv("AIRFLOW_CONN_HTX_WAREHOUSE", as_dags_login(dsn))
        run_feed(FEED, RUN)
        assert after_restart == snapshot(dsn, clean_landing)
