"""Nothing runs forever, and only what a retry can fix is retried (issue 11 §1), through Airflow.

Every task has an execution timeout (htx.dag_factory.TASK_TIMEOUTS, each a setting; see
tests/test_dag_validity.py). A deterministic failure — here a refused setting — fails its task at
once, whatever retries are left; a transient one — the warehouse unreachable, an API that hangs
past the task's timeout — is retried. The retry delay is set to 0 s (HTX_RETRY_DELAY_SECONDS) so
that a retry, had there been one, would show at once in the try number.
"""
from __future__ import annotations

import socket

import pytest

from conftest import query
from faults_support import valid_codes
from htx.cli import run_dag
from htx.dag_factory import RETRIES

TAX_DAG = "htx_feed_tax_declarations"


@pytest.fixture(autouse=True)
def no_retry_delay(monkeypatch):
    monkeypatch.setenv("HTX_RETRY_DELAY_SECONDS", "0")


def tries(run) -> dict[str, tuple[str, int]]:
    from airflow.utils.session import create_session

    with create_session() as session:
        return {ti.task_id: (str(getattr(ti.state, "value", ti.state)), ti.try_number)
                for ti in run.get_task_instances(session=session)}


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_refused_setting_fails_the_task_at_once(warehouse, airflow_db, monkeypatch):
    monkeypatch.delenv("HTX_LANDING_URL", raising=False)   # no landing zone configured
    run = run_dag(TAX_DAG, must_succeed=False)
    assert tries(run)["extract_to_landing"] == ("failed", 1)


def test_the_warehouse_unreachable_is_retried(landing, airflow_db, monkeypatch):
    from airflow.dag_processing.dagbag import DagBag

    from htx.paths import DAGS_DIR

    monkeypatch.setenv("AIRFLOW_CONN_HTX_WAREHOUSE",
                       f"postgresql://htx_dags:x@127.0.0.1:{closed_port()}/htx_warehouse")
    run = DagBag(dag_folder=str(DAGS_DIR)).dags[TAX_DAG].test()  # run_dag would read the warehouse
    assert tries(run)["extract_to_landing"] == ("failed", 1 + RETRIES)


def test_a_task_past_its_timeout_is_stopped_and_retried(warehouse, landing, registry_api,
                                                         airflow_db, monkeypatch):
    """The registry API answers each request 8 s late; the pull's timeout is 2 s."""
    items = [{"entity_code": code, "entity_type": "HTX", "name": "Hợp tác xã Thử",
              "main_vsic": "0111", "locality": "Hạ Long", "registered_on": "2020-01-01",
              "status": "dang_hoat_dong", "status_since": "2020-01-01",
              "updated_at": "2024-03-01T10:00:00+07:00"} for code in valid_codes(2)]
    server = registry_api(items)
    server.queue_faults(*[{"delay": 8}] * 10)   # every request of every try answered late
    monkeypatch.setenv("HTX_TIMEOUT_EXTRACT_TO_LANDING", "2")
    run = run_dag("htx_feed_registrations", must_succeed=False)
    assert tries(run)["extract_to_landing"] == ("failed", 1 + RETRIES)
    # Not the delivery's fault: its batch is left for the next run, never rejected.
    assert {status for (status,) in query(warehouse, "SELECT status FROM audit.load_batch")} == {
        "failed"}
