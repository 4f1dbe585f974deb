"""A registration API that pages without end, or sends more than a pull may hold (issue 11 §1):
each pull stops with its reason first, its batch rejected — nothing merged, the cursor unmoved —
and is never retried. Through the real stand-in server and the pipeline's own steps (the last
through Airflow, `dag.test()`), under the limits `make demo` runs with unless a test says.
"""
import json

import pytest

from conftest import query
from faults_support import run_feed, valid_codes
from htx import pipeline

RUN = pipeline.RunInfo("htx_feed_registrations", "manual__1", "test")
MIB = 1 << 20


def item(code: str, day: int = 1) -> dict:
    return {"entity_code": code, "entity_type": "HTX", "name": "Hợp tác xã Thử",
            "main_vsic": "0111", "locality": "Hạ Long", "registered_on": "2020-01-01",
            "status": "dang_hoat_dong", "status_since": "2020-01-01",
            "updated_at": f"2024-03-{day:02d}T10:00:00+07:00"}


@pytest.fixture
def refused(warehouse, landing, registry_api):
    """Run one pull that must be refused; returns (stand-in, the batch's error)."""
    def pull(items, paging=None, *faults):
        server = registry_api(items)
        server.misbehave(paging)
        server.queue_faults(*faults)
        with pytest.raises(pipeline.BatchRejected) as caught:
            run_feed("registrations", RUN)
        ((status, error),) = query(warehouse, "SELECT status, error FROM audit.load_batch")
        assert (status, error) == ("rejected", str(caught.value))
        assert error.rpartition(" — ")[2].startswith("GET /api/v1/entities?"), "the request last"
        assert query(warehouse, "SELECT count(*) FROM core.registration_state") == [(0,)]
        assert query(warehouse, "SELECT count(*) FROM audit.source_cursor") == [(0,)]
        return server, error
    return pull


def test_a_next_page_token_sent_again_stops_the_pull(refused):
    server, reason = refused([item(code) for code in valid_codes(3)], "same_token")
    assert reason.startswith("the API sent next_page_token 'same' a second time, on page 2: "
                             "the pull would never end")
    assert len(server.requests) == 2


def test_a_growing_token_over_the_same_page_stops_the_pull(refused):
    server, reason = refused([item(code) for code in valid_codes(3)], "growing_token")
    assert reason.startswith("page 2 repeats the items of page 1 under a new next_page_token: "
                             "the page sequence does not advance")
    assert len(server.requests) == 2


def test_empty_pages_without_end_stop_the_pull(refused):
    server, reason = refused([], "empty_pages")
    assert reason.startswith("6 empty pages in a row, each with a next_page_token: the page "
                             "sequence does not advance")
    assert len(server.requests) == 6


def test_new_pages_without_end_stop_at_the_page_limit(refused, warehouse, monkeypatch):
    monkeypatch.setenv("HTX_MAX_API_PAGES", "100")   # 2,000 by default: the same code, slower
    server, reason = refused([], "endless")
    assert reason.startswith("the pull reached its limit of 100 pages (HTX_MAX_API_PAGES) "
                             "with pages still to come")
    assert len(server.requests) == 100
    # The pages before the one that broke the pull stay for inspection, with the batch.
    assert query(warehouse, "SELECT count(*) FROM audit.landed_object") == [(99,)]


def test_a_pull_beyond_its_byte_limit_stops(refused, monkeypatch):
    monkeypatch.setenv("HTX_MAX_API_PULL_BYTES", "20000")   # 1 GiB by default
    server, reason = refused([], "endless")
    assert reason.startswith("the pull passed its limit of 20,000 bytes (HTX_MAX_API_PULL_BYTES)"
                             " at page ")
    assert len(server.requests) < 2_000


@pytest.mark.parametrize("unsized", [False, True])
def test_a_page_beyond_the_json_limit_stops_the_pull_without_being_read_whole(refused, unsized):
    """Announced (Content-Length) or not: a 5 MiB page is refused at 4 MiB, not retried."""
    server, reason = refused([item(code) for code in valid_codes(3)], None,
                             {"pad": 5 * MIB, "unsized": unsized})
    found = reason.split(" — ")[0]
    limit = "the limit of 4,194,304 bytes (HTX_MAX_JSON_BYTES)"
    if unsized:   # counted while read
        assert found == f"a page larger than {limit}"
    else:         # refused on its Content-Length, before any of it is read
        assert found.startswith("a page of 5,") and found.endswith(f" bytes, beyond {limit}")
    assert len(server.requests) == 1


def test_a_page_nested_beyond_the_depth_limit_stops_the_pull(refused):
    deep = json.loads("[" * 40 + "]" * 40)
    _, reason = refused([{**item(code), "ghi_chu": deep} for code in valid_codes(2)])
    assert reason.startswith("malformed page: nested deeper than the limit of 32 levels "
                             "(HTX_MAX_JSON_DEPTH)")


def test_a_page_dripping_in_past_its_read_time_is_cut_and_fetched_again(
        warehouse, landing, registry_api, monkeypatch):
    monkeypatch.setenv("HTX_MAX_API_PAGE_SECONDS", "1")
    server = registry_api([item(code) for code in valid_codes(3)])
    server.queue_faults({"drip": 0.4})   # ten pieces 0.4 s apart: four seconds for the page
    run_feed("registrations", RUN)
    assert len(server.requests) == 2, "cut after a second, then the page again"
    assert query(warehouse, "SELECT status, rows_loaded FROM audit.load_batch") == [
        ("published", 3)]


def test_a_looping_pull_fails_its_dag_run_at_once_without_retrying(
        warehouse, landing, registry_api, airflow_db):
    from airflow.utils.session import create_session

    from htx.cli import run_dag

    server = registry_api([item(code) for code in valid_codes(3)])
    server.misbehave("same_token")
    run = run_dag("htx_feed_registrations", must_succeed=False)
    assert str(getattr(run.state, "value", run.state)) == "failed"
    with create_session() as session:
        tries = {ti.task_id: (str(ti.state), ti.try_number)
                 for ti in run.get_task_instances(session=session)}
    assert tries["extract_to_landing"] == ("failed", 1)
    assert len(server.requests) == 2, "a refused pull is never pulled again"
    ((status, error),) = query(warehouse, "SELECT status, error FROM audit.load_batch")
    assert status == "rejected"
    assert error.startswith("the API sent next_page_token 'same' a second time")
    assert query(warehouse, "SELECT count(*) FROM core.registration_state") == [(0,)]
    assert query(warehouse, "SELECT count(*) FROM audit.source_cursor") == [(0,)]
