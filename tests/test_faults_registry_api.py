"""The registration API misbehaving, beyond tests/test_registry_client.py: an item repeated in a
page, a connection cut in the middle of a page, and a refused token ending the DAG run at once —
each through the real stand-in server and the real pipeline (the last through Airflow)."""
import json

import pytest

from conftest import query
from faults_support import run_feed, valid_codes
from htx import pipeline
from htx.registry_api.client import RetryPolicy, fetch_pages
from htx.settings import RegistryApi

RUN = pipeline.RunInfo("htx_feed_registrations", "manual__1", "test")


def item(code: str, day: int = 1, status: str = "dang_hoat_dong") -> dict:
    return {"entity_code": code, "entity_type": "HTX", "name": "Hợp tác xã Thử",
            "main_vsic": "0111", "locality": "Hạ Long", "registered_on": "2020-01-01",
            "status": status, "status_since": "2020-01-01",
            "updated_at": f"2024-03-{day:02d}T10:00:00+07:00"}


@pytest.fixture
def pulled(warehouse, landing, registry_api):
    def pull(items, *faults):
        server = registry_api(items)
        server.queue_faults(*faults)
        run_feed("registrations", RUN)
        return server
    return pull


def test_an_item_repeated_in_a_page_is_one_state_in_core(pulled, warehouse):
    a, b = valid_codes(2)
    pulled([item(a), item(b), item(a)])
    assert query(warehouse, "SELECT count(*) FROM audit.landed_object") == [(1,)]  # one page
    assert query(warehouse, "SELECT rows_in, rows_loaded, rows_quarantined, status"
                            " FROM audit.load_batch") == [(3, 3, 0, "published")]
    assert query(warehouse, "SELECT entity_code, count(*) FROM core.registration_state"
                            " GROUP BY 1 ORDER BY 1") == [(a, 1), (b, 1)]


def test_a_page_cut_short_by_a_reset_is_fetched_again_and_landed_whole(pulled, warehouse,
                                                                        landing):
    import hashlib
    from urllib.parse import urlparse

    codes = valid_codes(30)
    server = pulled([item(code, 1 + i % 28) for i, code in enumerate(codes)], {"cut": True})
    assert len(server.requests) == 2  # the cut answer, then the page again
    ((url, sha256),) = query(warehouse, "SELECT object_url, sha256 FROM audit.landed_object")
    body = open(urlparse(url).path, "rb").read()
    assert hashlib.sha256(body).hexdigest() == sha256 and len(json.loads(body)["items"]) == 30
    assert query(warehouse, "SELECT count(*) FROM core.registration_state") == [(30,)]


def test_a_cut_page_is_retried_by_the_client_with_backoff(registry_api):
    server = registry_api([item(code) for code in valid_codes(25)])
    server.queue_faults({"cut": True}, {"cut": True})
    waits: list[float] = []
    pages = list(fetch_pages(RegistryApi(server.base_url, server.token), None, 10,
                             RetryPolicy(attempts=4), sleep=waits.append))
    assert sum(len(json.loads(body)["items"]) for _, body in pages) == 25
    assert len(waits) == 2 and waits[0] <= 1.0 < waits[1] <= 2.0


def test_a_refused_token_ends_the_dag_run_at_once_with_a_clear_message(
        warehouse, landing, registry_api, airflow_db, monkeypatch):
    from airflow.utils.session import create_session

    from htx.cli import run_dag

    server = registry_api([item(code) for code in valid_codes(3)])
    monkeypatch.setenv("AIRFLOW_CONN_HTX_REGISTRY_API", json.dumps(
        {"conn_type": "http", "host": server.base_url, "password": "revoked-token"}))
    run = run_dag("htx_feed_registrations", must_succeed=False)
    assert str(getattr(run.state, "value", run.state)) == "failed"
    assert len(server.requests) == 1, "a 401 is never retried"
    with create_session() as session:
        tries = {ti.task_id: (str(ti.state), ti.try_number)
                 for ti in run.get_task_instances(session=session)}
    assert tries["extract_to_landing"] == ("failed", 1)
    assert tries.pop("build_data_docs")[0] == "success"   # the teardown: Data Docs, whatever
    assert {state for task, (state, _) in tries.items() if task != "extract_to_landing"} == {
        "upstream_failed"}
    # Ops read the reason in audit.load_batch: the pull's batch rejected, with the error's
    # class and message, the reason first.
    ((status, error),) = query(warehouse, "SELECT status, error FROM audit.load_batch")
    assert status == "rejected"
    assert error.startswith("RegistryApiError: registry API refused the token (401)")
    assert "htx_registry_api" in error and "revoked-token" not in error
    assert query(warehouse, "SELECT count(*) FROM core.registration_state") == [(0,)]
