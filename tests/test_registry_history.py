"""Registry history in core and the as-of figures it gives, on small hand-made pulls.

Each test loads pulls through the real pipeline (stand-in API → landing → GX → staging → merge)
and refreshes the real marts, then checks values computed by hand here.
"""
import uuid

import pytest

from conftest import query
from htx import marts, pipeline
from stdnum.vn import mst

_codes = iter(range(1000, 9999))


def new_code() -> str:
    while True:
        prefix = f"57{next(_codes):07d}"
        check = mst.calc_check_digit(prefix)
        if len(check) == 1:
            return prefix + check


def state(code, status, since, recorded, *, registered="2020-01-01", members=10, **extra):
    return {"entity_code": code, "entity_type": extra.pop("entity_type", "HTX"),
            "name": "Hợp tác xã Thử", "main_vsic": extra.pop("main_vsic", "0111"),
            "locality": "Hạ Long", "address": "x", "registered_on": registered,
            "status": status, "status_since": since, "charter_capital_vnd": 10**9,
            "members": members, "legal_representative": {"full_name": "A", "id_number": "1"},
            "updated_at": f"{recorded}T10:00:00+07:00", **extra}


def load_pull() -> int:
    run = pipeline.RunInfo("test", f"run-{uuid.uuid4().hex[:8]}", "t")
    (batch,) = pipeline.extract_to_landing("registrations", run)
    pipeline.validate_and_stage("registrations", batch)
    pipeline.merge_into_core("registrations", batch)
    pipeline.publish("registrations", batch)
    marts.refresh()
    return batch


def value(dsn, code, end, start=None, breakdown=""):
    start = start or end[:4] + "-01-01"
    rows = query(dsn, "SELECT value FROM mart.plan_indicator WHERE indicator_code = %s"
                      " AND breakdown = %s AND period_start = %s AND period_end = %s",
                 (code, breakdown, start, end))
    return rows[0][0] if rows else None


@pytest.fixture
def pulls(warehouse, landing, registry_api):
    server = registry_api([])

    def pull(*items):
        server.publish(list(items))
        return load_pull()

    return pull


def test_a_late_dissolution_dated_inside_a_closed_period_changes_that_period(warehouse, pulls):
    a, b = new_code(), new_code()
    pulls(state(a, "dang_hoat_dong", "2020-01-01", "2024-01-05"),
          state(b, "dang_hoat_dong", "2020-01-01", "2024-01-05"))
    assert value(warehouse, "HTX_TOTAL", "2024-01-31") == 2
    assert value(warehouse, "HTX_TOTAL", "2024-02-29") is None  # no data for February yet
    pulls(state(a, "da_giai_the", "2024-02-10", "2024-06-01"))
    assert value(warehouse, "HTX_TOTAL", "2024-01-31") == 2
    assert value(warehouse, "HTX_TOTAL", "2024-02-29") == 1
    assert value(warehouse, "HTX_DISSOLVED", "2024-02-29") == 1
    assert value(warehouse, "HTX_DISSOLVED", "2024-01-31") == 0


def test_an_older_state_arriving_late_takes_its_place_in_history_only(warehouse, pulls):
    b = new_code()
    pulls(state(b, "dang_hoat_dong", "2020-01-01", "2024-01-05"),
          state(b, "tam_ngung_kinh_doanh", "2024-05-01", "2024-05-02"))
    pulls(state(b, "khong_hoat_dong_tai_dia_chi", "2023-01-01", "2024-07-01"))
    history = query(warehouse, "SELECT status, valid_from::text, valid_to::text"
                               " FROM core.registration_state WHERE entity_code = %s"
                               " ORDER BY valid_from", (b,))
    assert history == [("dang_hoat_dong", "2020-01-01", "2023-01-01"),
                       ("khong_hoat_dong_tai_dia_chi", "2023-01-01", "2024-05-01"),
                       ("tam_ngung_kinh_doanh", "2024-05-01", None)]
    assert query(warehouse, "SELECT status FROM core.registry_current WHERE entity_code = %s",
                 (b,)) == [("tam_ngung_kinh_doanh",)]


def test_states_of_one_day_are_ordered_by_updated_at(warehouse, pulls):
    c = new_code()
    pulls(state(c, "dang_hoat_dong", "2020-01-01", "2024-01-05", members=10),
          state(c, "dang_hoat_dong", "2020-01-01", "2024-03-05", members=25),
          state(c, "dang_hoat_dong", "2020-01-01", "2024-02-05", members=15))
    assert value(warehouse, "HTX_MEMBERS", "2024-03-31") == 25
    current = query(warehouse, "SELECT members FROM core.registry_current WHERE entity_code = %s",
                    (c,))
    assert current == [(25,)]


def test_dissolved_on_the_last_day_of_the_period(warehouse, pulls):
    d, e = new_code(), new_code()
    pulls(state(d, "dang_hoat_dong", "2020-01-01", "2024-01-05"),
          state(d, "da_giai_the", "2024-09-30", "2024-10-01"),
          state(e, "dang_hoat_dong", "2020-01-01", "2024-01-05"))
    assert value(warehouse, "HTX_TOTAL", "2024-09-30") == 1
    assert value(warehouse, "HTX_TOTAL", "2024-08-31") == 2
    assert value(warehouse, "HTX_DISSOLVED", "2024-09-30") == 1


def test_the_second_pull_is_incremental_and_a_repeat_changes_nothing(warehouse, pulls):
    f = new_code()
    first = pulls(state(f, "dang_hoat_dong", "2020-01-01", "2024-01-05"))
    before = query(warehouse, "SELECT * FROM core.registration_state ORDER BY 1, 2")
    second = pulls()
    assert query(warehouse, "SELECT * FROM core.registration_state ORDER BY 1, 2") == before
    cursor_from, rows_in = query(warehouse, "SELECT cursor_from, rows_in FROM audit.load_batch"
                                            " WHERE batch_id = %s", (second,))[0]
    assert cursor_from is not None and rows_in == 1  # the boundary item is re-read, merged as no-op
    g = new_code()
    third = pulls(state(g, "dang_hoat_dong", "2024-02-01", "2024-08-01", registered="2024-02-01"))
    # Only what changed since the cursor (less the overlap): f's boundary state and g.
    assert query(warehouse, "SELECT rows_in FROM audit.load_batch WHERE batch_id = %s",
                 (third,)) == [(2,)]
    assert value(warehouse, "HTX_NEW", "2024-08-31") == 1
    assert first < second < third


def test_an_unknown_status_is_quarantined_and_the_entity_keeps_its_valid_states(warehouse, pulls):
    h = new_code()
    batch = pulls(state(h, "dang_hoat_dong", "2020-01-01", "2024-01-05"),
                  state(h, "hoat_dong", "2024-03-01", "2024-03-02"))
    assert query(warehouse, "SELECT source_row, reason FROM quarantine.registrations"
                            " WHERE batch_id = %s", (batch,))[0][1].startswith("status:")
    assert value(warehouse, "HTX_TOTAL", "2024-01-31") == 1
    # Only the merged state moves the cursor: the quarantined one is pulled again next time.
    assert query(warehouse, "SELECT cursor_value::date::text FROM audit.source_cursor") == [
        ("2024-01-05",)]
    assert query(warehouse, "SELECT rows_in, rows_loaded, rows_quarantined FROM audit.load_batch"
                            " WHERE batch_id = %s", (batch,)) == [(2, 1, 1)]


def test_unions_and_groups_are_grouped_by_their_own_breakdowns(warehouse, pulls):
    pulls(state(new_code(), "dang_hoat_dong", "2020-01-01", "2024-01-05", entity_type="LHHTX",
                main_vsic="0146", members=4),
          state(new_code(), "dang_hoat_dong", "2020-01-01", "2024-01-05", entity_type="LHHTX",
                main_vsic="4620", members=3),
          state(new_code(), "dang_hoat_dong", "2020-01-01", "2024-01-05", entity_type="THT",
                main_vsic="1010", members=6),
          state(new_code(), "dang_hoat_dong", "2020-01-01", "2024-01-05", entity_type="THT",
                main_vsic="5610", members=9))
    end = "2024-01-31"
    assert value(warehouse, "LHHTX_TOTAL", end, breakdown="sector=nong_nghiep") == 1
    assert value(warehouse, "LHHTX_TOTAL", end, breakdown="sector=phi_nong_nghiep") == 1
    assert value(warehouse, "LHHTX_MEMBER_COOPS", end) == 7
    assert value(warehouse, "THT_TOTAL", end, breakdown="sector=cong_nghiep_tthc") == 1
    assert value(warehouse, "THT_TOTAL", end, breakdown="sector=khac") == 1
    assert value(warehouse, "THT_SECTOR_SHARE", end, breakdown="sector=khac") == 50
    assert value(warehouse, "HTX_TOTAL", end) == 0
