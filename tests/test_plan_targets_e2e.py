"""Feed 6 end to end through Airflow (`dag.test()`): annexes dropped in the landing zone, the
feed's DAG (rejecting a broken file while the good one loads), its core Asset, the marts DAG
that runs on it, and an adjusted annex re-sent during the year."""
from airflow.dag_processing.dagbag import DagBag

from conftest import query
from htx.cli import run_dag
from htx.paths import DAGS_DIR
from plan_targets_support import annex_bytes, target_row


def drop(landing, year: int, rows, **kwargs):
    folder = landing / "plan_targets"
    folder.mkdir(exist_ok=True)
    (folder / f"chi_tieu_{year}.xlsx").write_bytes(annex_bytes(rows, year=year, **kwargs))


def registered(dsn, code: str, on: str, recorded: str):
    query(dsn, "INSERT INTO core.registration_state (entity_code, updated_at, entity_type, name,"
               " main_vsic, registered_on, status, status_since, record_hash, batch_id,"
               " source_object, source_row) VALUES (%s, %s, 'HTX', 'Hợp tác xã Thử', '0111', %s,"
               " 'dang_hoat_dong', %s, 'x', 0, 'test', 1)", (code, recorded, on, on))


def attainment(dsn, code: str, end: str):
    return query(dsn, "SELECT target, attainment_pct FROM mart.plan_indicator"
                      " WHERE indicator_code = %s AND breakdown = '' AND period_start = '2025-01-01'"
                      " AND period_end = %s", (code, end))


def test_the_marts_dag_runs_on_the_feeds_core_asset(airflow_db):
    bag = DagBag(dag_folder=str(DAGS_DIR))
    publish = bag.dags["htx_feed_plan_targets"].get_task("publish")
    assert [asset.name for asset in publish.outlets] == ["htx_core_plan_target"]
    assert "htx_core_plan_target" in str(bag.dags["htx_plan_marts"].timetable.asset_condition)


def test_annexes_load_through_airflow_and_an_adjustment_takes_over(
        warehouse, landing, airflow_db):
    registered(warehouse, "5700100104", "2025-02-01", "2025-02-02T09:00:00+07:00")
    registered(warehouse, "5700100263", "2025-08-01", "2025-09-02T09:00:00+07:00")
    drop(landing, 2025, [target_row("HTX_TOTAL", None, 4), target_row("HTX_NEW", None, 8),
                         target_row("HTX_TOTAL", "locality=9999", 1)],
         document="(Kèm theo Kế hoạch số 247/KH-UBND ngày 25/10/2024 của UBND tỉnh Quảng Ninh)")
    # The 2024 annex (title NĂM 2024) saved as 2023's.
    (landing / "plan_targets" / "chi_tieu_2023.xlsx").write_bytes(annex_bytes())
    run = run_dag("htx_feed_plan_targets", must_succeed=False)
    assert str(getattr(run.state, "value", run.state)) == "failed"
    batches = query(warehouse, "SELECT source_object, status, rows_in, rows_loaded,"
                               " rows_quarantined, error FROM audit.load_batch"
                               " WHERE feed = 'plan_targets' ORDER BY source_object")
    (broken, good) = batches
    assert broken[:2] == ("plan_targets/chi_tieu_2023.xlsx", "rejected")
    assert "chi_tieu_2023" in broken[5] and "is not the file name's year 2023" in broken[5]
    assert good[:5] == ("plan_targets/chi_tieu_2025.xlsx", "published", 3, 2, 1)
    assert query(warehouse, "SELECT source_row, reason FROM quarantine.plan_targets") == [
        (7, "breakdown: Phân tổ is a breakdown the indicator does not have (in the plan "
            "year's administrative map, for locality=) ('locality=9999')")]

    run_dag("htx_plan_marts")
    assert attainment(warehouse, "HTX_TOTAL", "2025-09-30") == [(4, 50)]
    assert attainment(warehouse, "HTX_NEW", "2025-09-30") == [(8, 25)]
    run_dag("htx_feed_plan_targets")   # nothing new (the broken file is known): a quiet success

    # The plan adjusted in August: the re-sent annex is in force from its delivery on.
    drop(landing, 2025, [target_row("HTX_TOTAL", None, 5)],
         document="(Kèm theo Kế hoạch số 152/KH-UBND ngày 12/08/2025 của UBND tỉnh Quảng Ninh)")
    run_dag("htx_feed_plan_targets")
    run_dag("htx_plan_marts")
    assert attainment(warehouse, "HTX_TOTAL", "2025-09-30") == [(5, 40)]
    assert attainment(warehouse, "HTX_NEW", "2025-09-30") == [(None, None)]
    assert query(warehouse, "SELECT plan_document_no, in_force FROM core.plan_target_annex"
                            " ORDER BY batch_id") == [("247/KH-UBND", False),
                                                      ("152/KH-UBND", True)]
    assert query(warehouse, "SELECT count(*) FROM audit.unreconciled_batch") == [(0,)]
    # Both versions stay on record.
    assert query(warehouse, "SELECT plan_document_no, indicator_code, target FROM core.plan_target"
                            " ORDER BY batch_id, source_row") == [
        ("247/KH-UBND", "HTX_TOTAL", 4), ("247/KH-UBND", "HTX_NEW", 8),
        ("152/KH-UBND", "HTX_TOTAL", 5)]
