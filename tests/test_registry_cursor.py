"""The registry cursor cannot be poisoned (issue 11 §4). One item with `updated_at` in 2204 once
moved the cursor to 2204, even quarantined, and every later change was silently never pulled.
Now a timestamp beyond now plus HTX_MAX_CLOCK_SKEW_SECONDS is quarantined with its reason, the
cursor follows merged rows only, and never passes the pull's own start. Through the real
stand-in API and the pipeline's steps, as the DAG's tasks call them.
"""
from datetime import datetime, timedelta, timezone

from conftest import query
from faults_support import run_feed, valid_codes
from htx import pipeline


def state(code: str, updated_at: str, status: str = "dang_hoat_dong",
          since: str = "2020-01-01") -> dict:
    return {"entity_code": code, "entity_type": "HTX", "name": "Hợp tác xã Thử",
            "main_vsic": "0111", "locality": "Hạ Long", "registered_on": "2020-01-01",
            "status": status, "status_since": since, "updated_at": updated_at}


def pull() -> int:
    (batch,) = run_feed("registrations", pipeline.RunInfo("htx_feed_registrations",
                                                          f"run-{datetime.now().timestamp()}"))
    return batch


def test_a_timestamp_in_2204_is_quarantined_and_later_changes_are_still_pulled(
        warehouse, landing, registry_api):
    a, b = valid_codes(2)
    server = registry_api([state(a, "2024-03-01T10:00:00+07:00"),
                           state(b, "2204-03-01T10:00:00+07:00")])
    first = pull()
    ((row, reason),) = query(warehouse, "SELECT source_row, reason FROM quarantine.registrations"
                                        " WHERE batch_id = %s", (first,))
    assert row == 2 and reason.startswith(
        "updated_at: updated_at lies in the future, beyond now plus HTX_MAX_CLOCK_SKEW_SECONDS")
    assert "2204-03-01" in reason
    assert query(warehouse, "SELECT cursor_value FROM audit.source_cursor") == [
        (datetime(2024, 3, 1, 3, tzinfo=timezone.utc),)]
    # A real change recorded afterwards is pulled (the 2204 item with it, quarantined again).
    server.publish([state(a, "2024-06-02T10:00:00+07:00", "tam_ngung_kinh_doanh", "2024-06-01")])
    second = pull()
    assert query(warehouse, "SELECT status FROM core.registry_current WHERE entity_code = %s",
                 (a,)) == [("tam_ngung_kinh_doanh",)]
    # Loaded: the new state, and the cursor's own item read again (a no-op in core).
    assert query(warehouse, "SELECT rows_loaded, rows_quarantined FROM audit.load_batch"
                            " WHERE batch_id = %s", (second,)) == [(2, 1)]
    assert query(warehouse, "SELECT count(*) FROM core.registration_state WHERE entity_code = %s",
                 (b,)) == [(0,)]


def test_the_cursor_never_passes_the_start_of_the_pull_that_set_it(warehouse, landing,
                                                                  registry_api):
    """A change stamped a few minutes ahead (a source clock a little fast, within the
    tolerance) loads, but the cursor stops at the pull's start: a change the source records
    meanwhile with an earlier stamp is still pulled next time."""
    (a,) = valid_codes(1)
    ahead = (datetime.now(timezone.utc) + timedelta(minutes=5)).isoformat()
    registry_api([state(a, "2024-03-01T10:00:00+07:00"), state(a, ahead, "dang_giai_the",
                                                                "2024-09-01")])
    batch = pull()
    assert query(warehouse, "SELECT rows_loaded, rows_quarantined FROM audit.load_batch"
                            " WHERE batch_id = %s", (batch,)) == [(2, 0)]
    ((cursor, started, newest),) = query(
        warehouse, "SELECT c.cursor_value, b.started_at, b.cursor_to FROM audit.source_cursor c"
                   " JOIN audit.load_batch b USING (batch_id)")
    assert newest == datetime.fromisoformat(ahead) and cursor == started < newest
