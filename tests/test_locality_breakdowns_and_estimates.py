"""`locality=` breakdowns across the 2025 reform and year-end estimates, on registry states built
here (none of them in the sample), with every answer worked out by hand below; and the refresh's
locality check broken four ways, each refused with the previous marts kept.

One warehouse and one refresh for the module: cooperatives registered since 2020 whose states
were recorded on both sides of 01/07/2025 — a split commune (Hà Khẩu), a shared name decided by
its kind word (xã Bắc Sơn of Móng Cái), a new unit spanning two old districts (Tiên Yên), a
locality in neither map — new cooperatives in 2023, 2024 and 2025, a cooperative group, and the
2025 target annex (feed 6, through the pipeline).

    entity  registered  recorded    locality, address           old map  new map
    A       2020        2024-03-01  TP Hạ Long, phường Hà Khẩu  193      — (split)
    B       2020        2025-06-30  TP Móng Cái, xã Bắc Sơn     194      06724
    C       2020        2025-07-01  P. Hà Tu                    193      06652
    D       2020        2024-03-01  Hà Nội                      —        —
    E       2020        2025-08-04  xã Tiên Yên                 — (two)  06862
    Q, R    2023-02-01, 2023-11-05  as B                        194      06724
    N, M    2024-05-10, 2024-11-20  as B                        194      06724
    P       2025-03-15              as A                        193      —
    T (THT) 2020        2024-03-01  TP Hạ Long, phường Hà Tu    193      06652
"""
import os
import shutil
import uuid

import pytest

from conftest import SERVER, query
from htx import marts, pipeline
from htx.dev import localpg
from htx.migrate import migrate
from plan_targets_support import annex_bytes, target_row

CODES = dict(zip("ABCDEQRNMPT", ["5700100104", "5700100263", "5700101274", "5700101443",
                                 "5700101683", "5700101852", "5701001057", "5701001064",
                                 "5701001071", "5701001089", "5701001096"]))
HA_KHAU = ("TP Hạ Long", "Tổ 3, phường Hà Khẩu, TP Hạ Long, tỉnh Quảng Ninh")
BAC_SON = ("TP Móng Cái", "Thôn 1, xã Bắc Sơn, thành phố Móng Cái")
STATES = [  # entity, type, registered on, recorded on, (locality, address)
    ("A", "HTX", "2020-01-01", "2024-03-01", HA_KHAU),
    ("B", "HTX", "2020-01-01", "2025-06-30", BAC_SON),
    ("C", "HTX", "2020-01-01", "2025-07-01", ("P. Hà Tu", "Số 12 đường Trần Phú, phường Hà Tu")),
    ("D", "HTX", "2020-01-01", "2024-03-01", ("Hà Nội", "Số 1 Tràng Tiền")),
    ("E", "HTX", "2020-01-01", "2025-08-04", ("xã Tiên Yên", "Thôn 2, xã Tiên Yên")),
    ("Q", "HTX", "2023-02-01", "2023-02-01", BAC_SON),
    ("R", "HTX", "2023-11-05", "2023-11-05", BAC_SON),
    ("N", "HTX", "2024-05-10", "2024-05-10", BAC_SON),
    ("M", "HTX", "2024-11-20", "2024-11-20", BAC_SON),
    ("P", "HTX", "2025-03-15", "2025-03-15", HA_KHAU),
    ("T", "THT", "2020-01-01", "2024-03-01", ("TP Hạ Long", "Khu 5, phường Hà Tu, TP Hạ Long")),
]
AUGUST_2025 = ("2025-01-01", "2025-08-31")
SEPTEMBER_2024 = ("2024-01-01", "2024-09-30")


@pytest.fixture(scope="module")
def refreshed(tmp_path_factory):
    name = f"htx_t_{uuid.uuid4().hex[:10]}"
    localpg.create_database(SERVER, name)
    dsn = SERVER.uri(name)
    landing = tmp_path_factory.mktemp("landing")
    settings = {"AIRFLOW_CONN_HTX_WAREHOUSE": dsn, "HTX_LANDING_URL": str(landing)}
    saved = {key: os.environ.get(key) for key in settings}
    os.environ.update(settings)
    try:
        migrate(dsn)
        for row, (entity, kind, registered, recorded, (locality, address)) in enumerate(STATES):
            query(dsn, """
                INSERT INTO core.registration_state (entity_code, updated_at, entity_type, name,
                    main_vsic, locality_raw, address, registered_on, status, status_since,
                    charter_capital_vnd, members, record_hash, batch_id, source_object, source_row)
                VALUES (%s, %s, %s, 'Hợp tác xã Thử', '0111', %s, %s, %s, 'dang_hoat_dong', %s,
                        1000000000, 10, 'h', 0, 'test', %s)""",
                  (CODES[entity], f"{recorded}T10:00:00+07:00", kind, locality, address,
                   registered, registered, row))
        migrate(dsn)   # places every stored state on both maps
        folder = landing / "plan_targets"
        folder.mkdir()
        (folder / "chi_tieu_2025.xlsx").write_bytes(annex_bytes(
            [target_row("HTX_TOTAL", None, 20), target_row("HTX_NEW", None, 4, stt=2)],
            year=2025))
        run = pipeline.RunInfo("test_locality_estimates", "run", "test")
        batches = pipeline.extract_to_landing("plan_targets", run)
        pipeline.stage_batches("plan_targets", batches)
        pipeline.merge_batches("plan_targets", batches)
        pipeline.publish_batches("plan_targets", batches)
        marts.refresh(dsn=dsn)
        yield dsn
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        localpg.drop_database(SERVER, name)


def breakdown(dsn, code, period) -> dict[str, int]:
    """{locality: value} of the indicator's locality= rows that are not 0."""
    rows = query(dsn, "SELECT breakdown, value FROM mart.plan_indicator WHERE indicator_code = %s"
                      " AND breakdown LIKE 'locality=%%' AND period_start = %s AND period_end = %s",
                 (code, *period))
    return {key.removeprefix("locality="): value for key, value in rows if value}


def reported_units(dsn, code, period) -> int:
    return query(dsn, "SELECT count(*) FROM mart.plan_indicator WHERE indicator_code = %s"
                      " AND breakdown LIKE 'locality=%%' AND period_start = %s"
                      " AND period_end = %s", (code, *period))[0][0]


def members(dsn, code, breakdown_, period) -> set[str]:
    codes = {v: k for k, v in CODES.items()}
    return {codes[c] for (c,) in query(
        dsn, "SELECT entity_code FROM mart.plan_indicator_members WHERE indicator_code = %s"
             " AND breakdown = %s AND period_start = %s AND period_end = %s",
        (code, breakdown_, *period))}


# --- localities -----------------------------------------------------------------------------

def test_before_the_reform_the_13_districts_and_khong_xac_dinh_add_up_to_the_total(refreshed):
    assert breakdown(refreshed, "HTX_TOTAL", SEPTEMBER_2024) == {
        "193": 2, "194": 4, "khong_xac_dinh": 2}            # A C | B Q R N | D E
    assert members(refreshed, "HTX_TOTAL", "locality=khong_xac_dinh", SEPTEMBER_2024) == {"D", "E"}
    assert breakdown(refreshed, "HTX_NEW", SEPTEMBER_2024) == {"194": 1}          # N
    assert breakdown(refreshed, "THT_TOTAL", SEPTEMBER_2024) == {"193": 1}        # T
    for code in ("HTX_TOTAL", "HTX_NEW", "THT_TOTAL"):
        assert reported_units(refreshed, code, SEPTEMBER_2024) == 13 + 1


def test_after_the_reform_the_54_new_units_and_khong_xac_dinh_add_up_to_the_total(refreshed):
    assert breakdown(refreshed, "HTX_TOTAL", AUGUST_2025) == {
        "06724": 5, "06652": 1, "06862": 1, "khong_xac_dinh": 3}  # B Q R N M | C | E | A D P
    assert members(refreshed, "HTX_TOTAL", "locality=khong_xac_dinh", AUGUST_2025) == {
        "A", "D", "P"}
    assert breakdown(refreshed, "HTX_NEW", AUGUST_2025) == {"khong_xac_dinh": 1}  # P, split
    assert breakdown(refreshed, "THT_TOTAL", AUGUST_2025) == {"06652": 1}
    for code in ("HTX_TOTAL", "HTX_NEW", "THT_TOTAL"):
        assert reported_units(refreshed, code, AUGUST_2025) == 54 + 1


def test_the_members_on_both_maps_give_the_old_districts_beside_the_new_units(refreshed):
    assert sorted(query(refreshed, """
        SELECT old_district_code, new_unit_code, entities FROM mart.locality_across_reform
        WHERE indicator_code = 'HTX_TOTAL' AND period_start = %s AND period_end = %s""",
                        AUGUST_2025), key=str) == sorted([
        ("193", None, 2), ("193", "06652", 1), ("194", "06724", 5), (None, None, 1),
        (None, "06862", 1)], key=str)
    names = dict(query(refreshed, "SELECT unit_code, name FROM mart.locality_unit"
                                  " WHERE map_version = '2025'"))
    assert len(names) == 54 and names["06724"] == "Hải Sơn"
    assert query(refreshed, "SELECT old_district_codes FROM mart.locality_unit"
                            " WHERE unit_code = '06862' AND map_version = '2025'") == [
        (["198", "199"],)]                      # Tiên Yên took a part of Vô Ngại (Bình Liêu)


# --- year-end estimates ---------------------------------------------------------------------

def estimates(dsn, period) -> dict[tuple[str, str], tuple]:
    return {(code, b): (estimate, attained) for code, b, estimate, attained in query(
        dsn, "SELECT indicator_code, breakdown, estimate_full_year, estimate_attainment_pct"
             " FROM mart.plan_indicator WHERE period_start = %s AND period_end = %s", period)}


def test_the_year_end_estimates_follow_the_catalogue_and_meet_the_target(refreshed):
    found = estimates(refreshed, AUGUST_2025)
    # As of the period end: 10 + (9 at 31/12/2024 − 8 at 31/08/2024).
    assert found[("HTX_TOTAL", "")] == (11, 55)                  # target 20
    assert found[("HTX_BY_SECTOR", "sector=nong_nghiep")] == (11, None)
    assert found[("HTX_MEMBERS", "")] == (110, None)             # 100 + (90 − 80)
    assert found[("HTX_CHARTER_CAPITAL", "")] == (11000, None)
    assert found[("THT_TOTAL", "")] == (1, None)
    # Counted in the period: 1 × 2 (2024) ÷ 1 (Jan–Aug 2024).
    assert found[("HTX_NEW", "")] == (2, 50)                     # target 4
    assert found[("HTX_DISSOLVED", "")] == (0, None)             # 0 × 12 ÷ 8
    # None for locality=, shares, tax and every indicator the catalogue does not estimate.
    assert found[("HTX_TOTAL", "locality=06724")] == (None, None)
    assert found[("HTX_SECTOR_SHARE", "sector=nong_nghiep")] == (None, None)
    assert found[("HTX_TAX_ACTIVE", "")] == (None, None)


def test_an_estimate_rests_on_the_previous_year_even_where_it_is_not_published(refreshed):
    # 2023 is published as a full year only: its January–September is computed for the estimate.
    assert query(refreshed, "SELECT count(*) FROM mart.plan_indicator WHERE period_start ="
                            " '2023-01-01' AND period_end <> '2023-12-31'") == [(0,)]
    found = estimates(refreshed, SEPTEMBER_2024)
    assert found[("HTX_TOTAL", "")] == (9, None)                 # 8 + (7 − 6)
    assert found[("HTX_NEW", "")] == (2, None)                   # 1 × 2 ÷ 1 (Q, R; Q)
    # No new cooperative in January–March 2024: 1 (P) × 12 ÷ 3.
    assert estimates(refreshed, ("2025-01-01", "2025-03-31"))[("HTX_NEW", "")] == (4, 100)
    # A full year has no estimate.
    assert set(estimates(refreshed, ("2024-01-01", "2024-12-31")).values()) == {(None, None)}


# --- the refresh's locality check -----------------------------------------------------------

PERIOD = "period 01/01/2025–31/08/2025"


@pytest.mark.parametrize("model, statement, reason", [
    ("850_drops_a_bucket.sql",
     "DELETE FROM mart.plan_indicator WHERE breakdown = 'locality=khong_xac_dinh'"
     " AND indicator_code = 'THT_TOTAL' AND period_end = '2025-08-31'",
     f"a unit of the map in force at the period end is not reported: THT_TOTAL, breakdown"
     f" 'locality=khong_xac_dinh', {PERIOD}"),
    ("650_loses_a_member.sql",
     "DELETE FROM mart.plan_indicator_member_rows WHERE breakdown = 'locality=khong_xac_dinh'"
     f" AND indicator_code = 'HTX_NEW' AND period_end = '2025-08-31'",
     f"the locality breakdown does not add up to the total: HTX_NEW, breakdown 'locality=*',"
     f" {PERIOD} (value 0, the total is 1)"),
    ("650_counts_one_in_two_places.sql",
     "INSERT INTO mart.plan_indicator_members (indicator_code, breakdown, period_start,"
     " period_end, entity_code, contribution) SELECT indicator_code, 'locality=06724',"
     " period_start, period_end, entity_code, 1 FROM mart.plan_indicator_members"
     " WHERE indicator_code = 'HTX_TOTAL' AND breakdown = 'locality=06652'"
     " AND period_end = '2025-08-31'",
     "members of the total not in exactly one locality, or of a locality not in the total:"
     f" HTX_TOTAL, breakdown 'locality=*', {PERIOD}"),
    ("650_names_an_old_district.sql",
     "UPDATE mart.registry_member_period SET locality = '193'"
     " WHERE entity_type = 'HTX' AND locality = '06652' AND period_end = '2025-08-31'",
     "a locality outside the map in force at the period end is reported: HTX_TOTAL, breakdown"
     f" 'locality=193', {PERIOD}"),
    ("150_forgets_the_old_districts.sql",
     "DELETE FROM mart.locality_across_reform WHERE indicator_code = 'THT_TOTAL'",
     "the members on both maps do not add up to the total: THT_TOTAL, breakdown ''"),
])
def test_a_locality_breakdown_that_misses_its_total_fails_the_refresh(
        refreshed, monkeypatch, tmp_path, model, statement, reason):
    before = query(refreshed, "SELECT * FROM mart.plan_indicator ORDER BY 1, 2, 3, 4")
    for real in marts.MARTS_SQL_DIR.glob("*.sql"):
        shutil.copy(real, tmp_path)
    (tmp_path / model).write_text(statement)
    monkeypatch.setattr(marts, "MARTS_SQL_DIR", tmp_path)
    with pytest.raises(marts.LocalityMismatch) as refused:
        marts.refresh(dsn=refreshed)
    message = str(refused.value)
    assert message.startswith("locality breakdowns not matching the map in force or their totals")
    assert reason in message
    assert query(refreshed, "SELECT * FROM mart.plan_indicator ORDER BY 1, 2, 3, 4") == before

