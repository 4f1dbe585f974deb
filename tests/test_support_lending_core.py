"""Feed 3 in the warehouse: the suite's verdicts, the merge (idempotent, a re-sent file replaces
its predecessor), the core views and the LENDING_* marts, on small hand-made reports.

Files go through the real parser, the real suite (Great Expectations), COPY into staging and the
real merge SQL, as the pipeline does; values are checked against figures computed by hand here.
"""
import json
import uuid
from datetime import datetime
from decimal import Decimal

import pytest

from conftest import query
from htx import db, marts
from htx.feeds import support_lending as parser
from test_support_lending_parser import A, B, report_bytes

C = "5700100143"   # a third valid MST


def stage_and_merge(dsn: str, source_file: str, data: bytes) -> int:
    """One delivery of `source_file`: a batch, parsed, validated, staged and merged."""
    from htx.validation import SuiteRunner

    import pandas as pd

    rows = list(parser.parse_object(data, f"file:///landing/_landed/{uuid.uuid4().hex}.xlsx"))
    parsed = [r for r in rows if not r.failures]
    if parsed:
        frame = pd.DataFrame([r.values for r in parsed],
                             columns=list(parser.COLUMNS + parser.CHECK_COLUMNS))
        verdict = SuiteRunner("support_lending").validate(frame)
        assert verdict.table_failures == []
        for position, failures in verdict.row_failures.items():
            parsed[position].failures.extend(failures)
    good = [r for r in rows if not r.failures]
    bad = [r for r in rows if r.failures]
    with db.transaction(dsn) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO audit.load_batch (feed, batch_key, source_object, status)"
                    " VALUES ('support_lending', %s, %s, 'staged') RETURNING batch_id",
                    (uuid.uuid4().hex, source_file))
        (batch_id,) = cur.fetchone()
        db.copy_rows(cur, "staging.support_lending",
                     ("batch_id", "source_object", "source_row") + parser.COLUMNS,
                     ((batch_id, r.source_object, r.source_row,
                       *(r.values[c] for c in parser.COLUMNS)) for r in good))
        db.copy_rows(cur, "quarantine.support_lending",
                     ("batch_id", "source_object", "source_row", "reason", "failures", "record"),
                     ((batch_id, r.source_object, r.source_row,
                       "; ".join(f.describe() for f in r.failures),
                       json.dumps([f.as_json() for f in r.failures], ensure_ascii=False),
                       json.dumps(parser_record(r.record), ensure_ascii=False)) for r in bad))
    with db.transaction(dsn) as conn, conn.cursor() as cur:
        db.run_sql_file(cur, "merge/support_lending.sql", {"batch_id": batch_id})
    return batch_id


def parser_record(record: dict) -> dict:
    from htx.feeds.common import jsonable

    return jsonable(record)


def contract(stt, code, number, disbursed, outstanding, group=1, when=datetime(2023, 5, 2)):
    return [stt, code, f"Hợp tác xã {code[-3:]}", number, when, disbursed, outstanding, group,
            datetime(2026, 5, 2)]


def lending_report(dsn):
    return query(dsn, "SELECT source_file, report_date::text, fund_size_trieu, contracts,"
                      " disbursed_trieu, outstanding_trieu, borrowers_outstanding,"
                      " npl_outstanding_trieu, complete FROM core.lending_report"
                      " ORDER BY report_date, source_file")


def core_rows(dsn):
    return query(dsn, "SELECT * FROM core.lending_contract ORDER BY source_file, source_row")


# --- suite and merge ------------------------------------------------------------------------

def test_the_suite_quarantines_bad_rows_with_their_reasons_and_only_warns_on_others(warehouse):
    details = [
        contract(1, A, "01", 500, 100),
        contract(2, "5700100105", "02", 300, 0),                 # bad check digit
        contract(3, B, "01", 200, 50),                           # repeats contract 01
        contract(4, B, "04", 100, -5),                           # negative Dư nợ
        contract(5, B, "05", 100, 20, group=7),                  # no such debt group
        contract(6, B, "06", 100, 20, group=None),               # outstanding, no group
        contract(7, C, "07", 100, 0, group=None),                # repaid, no group: loaded
        contract(8, C, "08", 100, 150),                          # Dư nợ > disbursed: loaded
    ]
    batch = stage_and_merge(warehouse, "lending/vbsp_202409.xlsx", report_bytes(details))
    reasons = dict(query(warehouse, "SELECT source_row, reason FROM quarantine.support_lending"
                                    " WHERE batch_id = %s", (batch,)))
    assert sorted(reasons) == [8, 9, 10, 11, 12]
    assert reasons[8].startswith("htx_code: Mã số HTX fails the MST check digit ('5700100105')")
    assert reasons[9].startswith("contract_no: Số hợp đồng repeats an earlier row")
    assert reasons[10].startswith("outstanding_trieu: Dư nợ is negative")
    assert reasons[11].startswith("debt_group: Nhóm nợ is not a debt group 1–5 (7")
    assert reasons[12].startswith("debt_group: Nhóm nợ is missing on a contract with Dư nợ above 0")
    loaded = query(warehouse, "SELECT source_row FROM core.lending_contract ORDER BY 1")
    assert loaded == [(7,), (13,), (14,)]
    record = query(warehouse, "SELECT record FROM quarantine.support_lending"
                              " WHERE source_row = 8")[0][0]
    assert record["Mã số HTX"] == "5700100105" and record["Dư nợ"] == 0
    # A quarantined row keeps the loaded figures short of the bank's totals: flagged, not hidden.
    (report,) = query(warehouse, "SELECT contracts, file_detail_rows, complete,"
                                 " file_outstanding_total_trieu FROM core.lending_report")
    assert report == (3, 8, False, Decimal(335))


def test_merging_a_batch_twice_changes_nothing(warehouse):
    batch = stage_and_merge(warehouse, "lending/vbsp_202409.xlsx", report_bytes())
    once = core_rows(warehouse)
    with db.transaction(warehouse) as conn, conn.cursor() as cur:
        db.run_sql_file(cur, "merge/support_lending.sql", {"batch_id": batch})
    assert core_rows(warehouse) == once and len(once) == 3
    assert {row[0] for row in once} == {"lending/vbsp_202409.xlsx"}


def test_a_corrected_resend_replaces_its_predecessor_and_other_months_stay(warehouse):
    august = report_bytes(date_line="Đến ngày 31/08/2024")
    stage_and_merge(warehouse, "lending/vbsp_202408.xlsx", august)
    first = stage_and_merge(warehouse, "lending/vbsp_202409.xlsx", report_bytes())
    corrected = [contract(1, A, "01", 500, 0), contract(2, C, "02", 900, 900)]
    second = stage_and_merge(warehouse, "lending/vbsp_202409.xlsx", report_bytes(corrected))
    rows = query(warehouse, "SELECT source_file, batch_id, contract_no FROM core.lending_contract"
                            " ORDER BY source_file, source_row")
    assert [r for r in rows if r[0].endswith("202409.xlsx")] == [
        ("lending/vbsp_202409.xlsx", second, "01"), ("lending/vbsp_202409.xlsx", second, "02")]
    assert len([r for r in rows if r[0].endswith("202408.xlsx")]) == 3
    assert first not in {r[1] for r in rows}
    # Re-merging the corrected batch again changes nothing.
    before = core_rows(warehouse)
    with db.transaction(warehouse) as conn, conn.cursor() as cur:
        db.run_sql_file(cur, "merge/support_lending.sql", {"batch_id": second})
    assert core_rows(warehouse) == before


def test_the_report_views_give_each_files_snapshot_and_the_current_loan_book(warehouse):
    details = [contract(1, A, "01", 500, 100, group=3), contract(2, A, "02", Decimal("300.5"), 200),
               contract(3, B, "03", 800, 0), contract(4, C, "04", 250, Decimal("0.25"), group=5)]
    stage_and_merge(warehouse, "lending/vbsp_202409.xlsx", report_bytes(details, fund=40341.75))
    stage_and_merge(warehouse, "lending/vbsp_202408.xlsx",
                    report_bytes(details[:2], date_line="Đến ngày 31/08/2024", fund=40000))
    assert lending_report(warehouse) == [
        ("lending/vbsp_202408.xlsx", "2024-08-31", 40000, 2, Decimal("800.5"), 300, 1, 100, True),
        ("lending/vbsp_202409.xlsx", "2024-09-30", Decimal("40341.75"), 4, Decimal("1850.5"),
         Decimal("300.25"), 2, Decimal("100.25"), True),
    ]
    current = query(warehouse, "SELECT source_file, contract_no FROM core.lending_contract_current"
                               " ORDER BY contract_no")
    assert current == [("lending/vbsp_202409.xlsx", n) for n in ("01", "02", "03", "04")]


def test_of_two_files_with_one_report_date_the_one_delivered_last_counts(warehouse):
    stage_and_merge(warehouse, "lending/vbsp_202409.xlsx", report_bytes(fund=40000))
    stage_and_merge(warehouse, "lending/vbsp_202409_bo_sung.xlsx", report_bytes(fund=40341))
    counted = query(warehouse, "SELECT source_file, fund_size_trieu"
                               " FROM core.lending_report_by_date")
    assert counted == [("lending/vbsp_202409_bo_sung.xlsx", 40341)]


# --- marts ----------------------------------------------------------------------------------

def registry_reaching(dsn: str, newest_update: str) -> None:
    """One registry state, so that mart.reporting_period covers 2023-01 … newest_update's month."""
    query(dsn, """
        INSERT INTO core.registration_state (entity_code, updated_at, entity_type, name,
            registered_on, status, status_since, record_hash, batch_id, source_object, source_row)
        VALUES (%s, %s, 'HTX', 'Hợp tác xã Thử', '2023-01-01', 'dang_hoat_dong', '2023-01-01',
                'x', 0, 'test', 1)""", (A, newest_update))


def indicators(dsn, period_end, start=None):
    start = start or period_end[:4] + "-01-01"
    rows = query(dsn, "SELECT indicator_code, value, unit FROM mart.plan_indicator"
                      " WHERE indicator_code LIKE 'LENDING%%' AND period_start = %s"
                      " AND period_end = %s", (start, period_end))
    return {code: (value, unit) for code, value, unit in rows}


@pytest.fixture
def lending_history(warehouse):
    """Reports as of 15/03/2024, 30/06/2024, 30/09/2024 (everything repaid) and 31/10/2024."""
    registry_reaching(warehouse, "2024-12-20T10:00:00+07:00")
    march = [contract(1, A, "01", 500, 400, group=1), contract(2, A, "02", 300, 100, group=4),
             contract(3, B, "03", 200, 0)]
    june = march[:2] + [contract(3, B, "03", 200, 0), contract(4, C, "04", Decimal("99.9"),
                                                               Decimal("99.9"), group=3)]
    september = [contract(i + 1, code, f"0{i + 1}", 100, 0)
                 for i, code in enumerate((A, A, B, C))]
    october = september + [contract(5, B, "05", 700, 700, when=datetime(2024, 10, 3))]
    stage_and_merge(warehouse, "lending/vbsp_202403.xlsx",
                    report_bytes(march, date_line="Đến ngày 15/03/2024", fund=30000))
    stage_and_merge(warehouse, "lending/vbsp_202406.xlsx",
                    report_bytes(june, date_line="Đến ngày 30/06/2024", fund=35000.5))
    stage_and_merge(warehouse, "lending/vbsp_202409.xlsx", report_bytes(september, fund=36000))
    stage_and_merge(warehouse, "lending/vbsp_202410.xlsx",
                    report_bytes(october, date_line="Đến ngày 31/10/2024", fund=50000))
    marts.refresh(dsn=warehouse)
    return warehouse


def test_periods_before_the_first_report_get_no_lending_rows(lending_history):
    assert indicators(lending_history, "2024-02-29") == {}
    assert indicators(lending_history, "2023-12-31") == {}


def test_a_period_reads_the_latest_report_dated_on_or_before_its_end(lending_history):
    march = indicators(lending_history, "2024-03-31")
    assert march == {
        "LENDING_FUND_SIZE": (30000, "trieu_dong"), "LENDING_CONTRACTS": (3, "count"),
        "LENDING_DISBURSED": (1000, "trieu_dong"), "LENDING_OUTSTANDING": (500, "trieu_dong"),
        "LENDING_BORROWERS_OUTSTANDING": (1, "count"),   # one cooperative, two contracts
        "LENDING_NPL_RATIO": (20, "percent"),            # 100 in group 4 of 500
    }
    assert indicators(lending_history, "2024-05-31") == march
    june = indicators(lending_history, "2024-08-31")
    assert june["LENDING_FUND_SIZE"] == (Decimal("35000.5"), "trieu_dong")
    assert june["LENDING_DISBURSED"][0] == Decimal("1099.9")
    assert june["LENDING_OUTSTANDING"][0] == Decimal("599.9")
    assert june["LENDING_BORROWERS_OUTSTANDING"][0] == 2
    assert round(june["LENDING_NPL_RATIO"][0], 12) == round(Decimal("19990") / Decimal("599.9"), 12)


def test_a_later_report_never_reaches_an_earlier_period(lending_history):
    september = indicators(lending_history, "2024-09-30")
    assert september["LENDING_FUND_SIZE"][0] == 36000
    assert september["LENDING_CONTRACTS"][0] == 4
    october = indicators(lending_history, "2024-10-31")
    assert october["LENDING_FUND_SIZE"][0] == 50000 and october["LENDING_CONTRACTS"][0] == 5
    # The full year reads the newest report on or before 31/12: October's.
    assert indicators(lending_history, "2024-12-31")["LENDING_OUTSTANDING"][0] == 700


def test_with_nothing_outstanding_the_npl_ratio_is_omitted_not_zero(lending_history):
    september = indicators(lending_history, "2024-09-30")
    assert september["LENDING_OUTSTANDING"][0] == 0
    assert september["LENDING_BORROWERS_OUTSTANDING"][0] == 0
    assert "LENDING_NPL_RATIO" not in september
    assert september["LENDING_DISBURSED"][0] == 400   # repaid contracts still count, cumulatively
