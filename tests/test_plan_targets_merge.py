"""Feed 6 through the pipeline (landing, parser, Great Expectations, staging, merge) on hand-made
annexes, against a real warehouse: every version kept with its plan document, the latest
delivered one in force, re-sends, quarantine reasons, replay, and the attainment the marts give."""
from decimal import Decimal

from conftest import query
from htx import marts, pipeline
from htx.ops import reprocess
from plan_targets_support import annex_bytes, target_row

FEED = "plan_targets"
RUN = pipeline.RunInfo("test_plan_targets", "run", "test")


def document(number: str, day: str) -> str:
    return f"(Kèm theo Kế hoạch số {number} ngày {day} của UBND tỉnh Quảng Ninh)"


def deliver(landing, year: int, rows, number="247/KH-UBND", day="25/10/2024") -> list[int]:
    """Drop an annex and run the feed's steps over everything new in the drop folder."""
    folder = landing / "plan_targets"
    folder.mkdir(exist_ok=True)
    (folder / f"chi_tieu_{year}.xlsx").write_bytes(
        annex_bytes(rows, year=year, document=document(number, day)))
    batches = pipeline.extract_to_landing(FEED, RUN)
    pipeline.stage_batches(FEED, batches)
    pipeline.merge_batches(FEED, batches)
    pipeline.publish_batches(FEED, batches)
    return batches


def in_force(dsn) -> list[tuple]:
    return query(dsn, "SELECT plan_year, indicator_code, breakdown, target, plan_document_no"
                      " FROM mart.plan_target ORDER BY 1, 2, 3")


def versions(dsn) -> list[tuple]:
    return query(dsn, "SELECT plan_year, batch_id, plan_document_no, rows_loaded, in_force,"
                      " in_force_until IS NOT NULL FROM core.plan_target_annex ORDER BY 2")


def test_every_quarantine_reason_names_its_row_and_field(warehouse, landing):
    (batch,) = deliver(landing, 2025, [
        target_row("HTX_TOTAL", None, 950),                          # row 5: loaded
        target_row("HTX_DOANH_THU", None, 1000),                     # unknown code
        target_row("HTX_NEW", "sector=nong_nghiep", 40),             # a breakdown it lacks
        target_row("HTX_DISSOLVED", None, -2),                       # negative
        target_row("HTX_SECTOR_SHARE", "sector=nong_nghiep", 750),   # percentage above 100
        target_row("THT_TOTAL", None, 230), target_row("THT_TOTAL", None, 240),   # repeated
        target_row("HTX_MEMBERS", None, "sáu vạn"),                  # no number
        target_row(None, None, 5),                                   # no code
        target_row("HTX_NEW", "locality=193", 3),                    # a 2024 district: in force in 2025
    ])
    assert query(warehouse, "SELECT rows_in, rows_loaded, rows_quarantined, status"
                            " FROM audit.load_batch WHERE batch_id = %s", (batch,)) == [
        (10, 2, 8, "published")]
    reasons = dict(query(warehouse, "SELECT source_row, reason FROM quarantine.plan_targets"
                                    " ORDER BY 1"))
    assert reasons[6].startswith("indicator_code: Mã chỉ tiêu is not an indicator code")
    assert "'HTX_DOANH_THU'" in reasons[6]
    assert reasons[7].startswith("breakdown: Phân tổ is a breakdown the indicator does not have")
    assert reasons[8] == "target: the target is negative ('-2')"
    assert reasons[9] == "target: the target of a percentage is above 100 ('750')"
    assert reasons[10].startswith("breakdown: Mã chỉ tiêu and Phân tổ repeat in the file")
    assert reasons[11].startswith("breakdown: Mã chỉ tiêu and Phân tổ repeat in the file")
    assert reasons[12].startswith("target: Kế hoạch năm 2025 is not a number") and "sáu vạn" in reasons[12]
    assert reasons[13].startswith("indicator_code: Mã chỉ tiêu is missing")
    assert query(warehouse, "SELECT record ->> 'Mã chỉ tiêu' FROM quarantine.plan_targets"
                            " WHERE source_row = 6") == [("HTX_DOANH_THU",)]
    assert in_force(warehouse) == [(2025, "HTX_NEW", "locality=193", 3, "247/KH-UBND"),
                                   (2025, "HTX_TOTAL", "", 950, "247/KH-UBND")]


def test_a_resent_annex_is_a_new_version_in_force_from_its_delivery(warehouse, landing):
    (first,) = deliver(landing, 2025, [target_row("HTX_TOTAL", None, 950),
                                       target_row("HTX_NEW", None, 60)])
    (second,) = deliver(landing, 2025, [target_row("HTX_TOTAL", None, 940),
                                        target_row("HTX_NEW", "locality=06652", 5)],
                        number="152/KH-UBND", day="12/08/2025")
    assert versions(warehouse) == [(2025, first, "247/KH-UBND", 2, False, True),
                                   (2025, second, "152/KH-UBND", 2, True, False)]
    # The adjusted annex replaces the year's targets whole: HTX_NEW's total has none now.
    assert in_force(warehouse) == [(2025, "HTX_NEW", "locality=06652", 5, "152/KH-UBND"),
                                   (2025, "HTX_TOTAL", "", 940, "152/KH-UBND")]
    assert query(warehouse, "SELECT count(*) FROM core.plan_target") == [(4,)]   # on record
    (until,), = query(warehouse, "SELECT in_force_until FROM core.plan_target_annex"
                                 " WHERE batch_id = %s", (first,))
    assert query(warehouse, "SELECT in_force_from FROM mart.plan_target LIMIT 1") == [(until,)]
    assert query(warehouse, "SELECT DISTINCT plan_document_date::text FROM mart.plan_target") == [
        ("2025-08-12",)]


def test_the_same_annex_sent_again_changes_nothing(warehouse, landing):
    deliver(landing, 2025, [target_row("HTX_TOTAL", None, 950)])
    before = (versions(warehouse), in_force(warehouse))
    annex = landing / "plan_targets" / "chi_tieu_2025.xlsx"
    annex.write_bytes(annex.read_bytes())   # the same bytes again, under a new mtime
    assert pipeline.extract_to_landing(FEED, RUN) == []
    assert (versions(warehouse), in_force(warehouse)) == before


def test_each_year_has_its_own_annex_in_force(warehouse, landing):
    deliver(landing, 2024, [target_row("HTX_TOTAL", None, 747)], "263/KH-UBND", "30/10/2023")
    deliver(landing, 2025, [target_row("HTX_TOTAL", None, 950)])
    deliver(landing, 2024, [target_row("HTX_TOTAL", None, 750)], "101/KH-UBND", "02/05/2024")
    assert in_force(warehouse) == [(2024, "HTX_TOTAL", "", 750, "101/KH-UBND"),
                                   (2025, "HTX_TOTAL", "", 950, "247/KH-UBND")]


def test_a_version_whose_every_row_is_quarantined_leaves_the_year_without_targets(
        warehouse, landing):
    deliver(landing, 2025, [target_row("HTX_TOTAL", None, 950)])
    (bad,) = deliver(landing, 2025, [target_row("HTX_TOTAL", None, -950)], "160/KH-UBND",
                     "01/09/2025")
    assert versions(warehouse)[-1] == (2025, bad, None, 0, True, False)
    assert in_force(warehouse) == []


def test_a_rejected_resend_leaves_the_version_in_force(warehouse, landing):
    deliver(landing, 2025, [target_row("HTX_TOTAL", None, 950)])
    (rejected,) = deliver(landing, 2025, [["I", "Hợp tác xã", None, None, None, None]],
                          "160/KH-UBND", "01/09/2025")
    assert query(warehouse, "SELECT status FROM audit.load_batch WHERE batch_id = %s",
                 (rejected,)) == [("rejected",)]
    assert in_force(warehouse) == [(2025, "HTX_TOTAL", "", 950, "247/KH-UBND")]


def test_a_replay_rebuilds_every_version_and_the_one_in_force(warehouse, landing):
    deliver(landing, 2025, [target_row("HTX_TOTAL", None, 950)])
    deliver(landing, 2025, [target_row("HTX_TOTAL", None, 940)], "152/KH-UBND", "12/08/2025")
    core = query(warehouse, "SELECT * FROM core.plan_target ORDER BY batch_id, source_row")
    before = (versions(warehouse), in_force(warehouse))
    reprocess.replay([FEED], refresh_marts=False)
    assert query(warehouse, "SELECT * FROM core.plan_target ORDER BY batch_id, source_row") == core
    assert (versions(warehouse), in_force(warehouse)) == before


def test_the_marts_set_the_target_and_attainment_on_every_targeted_breakdown(warehouse, landing):
    # One registered cooperative, agricultural, so that the marts' periods reach September 2025.
    query(warehouse, "INSERT INTO core.registration_state (entity_code, updated_at, entity_type,"
                     " name, main_vsic, registered_on, status, status_since, record_hash,"
                     " batch_id, source_object, source_row) VALUES ('5700100104',"
                     " '2025-09-10T12:00:00+07:00', 'HTX', 'Hợp tác xã Thử', '0111', '2025-02-01',"
                     " 'dang_hoat_dong', '2025-02-01', 'x', 0, 'test', 1)")
    deliver(landing, 2025, [target_row("HTX_TOTAL", None, 4),
                            target_row("HTX_BY_SECTOR", "sector=nong_nghiep", "2,5"),
                            target_row("HTX_SECTOR_SHARE", "sector=nong_nghiep", 80)])
    marts.refresh()
    found = {(code, breakdown): (value, target, attained) for code, breakdown, value, target,
             attained in query(warehouse, "SELECT indicator_code, breakdown, value, target,"
                                          " attainment_pct FROM mart.plan_indicator"
                                          " WHERE period_start = '2025-01-01'"
                                          " AND period_end = '2025-09-30'")}
    assert found[("HTX_TOTAL", "")] == (1, 4, 25)
    assert found[("HTX_BY_SECTOR", "sector=nong_nghiep")] == (1, Decimal("2.5"), 40)
    assert found[("HTX_SECTOR_SHARE", "sector=nong_nghiep")] == (100, 80, 125)
    assert found[("HTX_NEW", "")][1:] == (None, None)   # no target, no attainment
    # Only periods of the plan year that start on 1 January carry it.
    assert query(warehouse, "SELECT DISTINCT extract(year FROM period_start)::int"
                            " FROM mart.plan_indicator WHERE target IS NOT NULL") == [(2025,)]
