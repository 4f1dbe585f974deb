"""Feed 4 in the warehouse: the merge SQL, core.credit_fund_report_latest and the QTDND marts,
on hand-made report files loaded as the file-drop pipeline will (one batch per file content)."""
import json
import uuid
from decimal import Decimal

import pytest

from conftest import SEED_FIGURES, query
from htx import db, marts
from htx.feeds import credit_fund_reports as parser
from htx.pipeline import LINEAGE_COLUMNS

FEED = "credit_fund_reports"
HUNG_DAO, MAO_KHE = "5700101348", "5700462351"


def report(code, period_end, *, revision=0, submitted="2024-10-15T09:30:00+07:00", total=100,
           equity=10, deposits=80, loans=60, npl=3, members=100, employees=5, revenue=500,
           profit=50, income=10):
    return {"fund_code": code, "fund_name": "Quỹ tín dụng nhân dân Thử", "period_end": period_end,
            "revision": revision, "submitted_at": submitted, "unit": "trieu_dong",
            "balance_sheet": {"total_capital": total, "equity": equity, "deposits": deposits,
                              "loans_outstanding": loans, "npl": npl},
            "members": members, "members_pending": 0, "employees": employees,
            "income_ytd": {"revenue": revenue, "revenue_from_members": 0, "profit": profit},
            "dividend_rate_pct": 0, "avg_employee_income_month": income}


def file_of(document) -> str:
    """The contract's path of a report under the landing root."""
    year, month = document["period_end"][:4], int(document["period_end"][5:7])
    return f"credit_funds/{document['fund_code']}_{year}Q{(month - 1) // 3 + 1}.json"


def load(dsn, document, source_file=None, runner=None) -> int:
    """One delivered file → one batch: parse, (validate), stage and merge, as the pipeline does."""
    raw = document if isinstance(document, bytes) else json.dumps(document).encode()
    source_file = source_file or file_of(document)
    with db.transaction(dsn) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO audit.load_batch (feed, batch_key, source_object, status)"
                    " VALUES (%s, %s, %s, 'staged') RETURNING batch_id",
                    (FEED, uuid.uuid4().hex, source_file))
        (batch_id,) = cur.fetchone()
        name = source_file.rsplit("/", 1)[-1]
        landed = f"file:///landing/_landed/{FEED}/batch-{batch_id:08d}/{name}"
        rows = [r for r in parser.parse_object(raw, landed) if not r.failures]
        if runner is not None and rows:
            rows = passing(runner, rows)
        db.copy_rows(cur, f"staging.{FEED}", LINEAGE_COLUMNS + parser.COLUMNS,
                     [(batch_id, r.source_object, r.source_row,
                       *(r.values[c] for c in parser.COLUMNS)) for r in rows])
        db.run_sql_file(cur, f"merge/{FEED}.sql", {"batch_id": batch_id})
    return batch_id


def passing(runner, rows):
    import pandas as pd

    frame = pd.DataFrame([r.values for r in rows],
                         columns=list(parser.COLUMNS + parser.CHECK_COLUMNS))
    verdict = runner.validate(frame)
    return [r for i, r in enumerate(rows) if i not in verdict.row_failures]


def merge_again(dsn, batch_id):
    with db.transaction(dsn) as conn, conn.cursor() as cur:
        db.run_sql_file(cur, f"merge/{FEED}.sql", {"batch_id": batch_id})


def registry_until(dsn, last_day):
    """One registered cooperative whose record is dated `last_day`: the marts' periods reach it."""
    query(dsn, "INSERT INTO core.registration_state (entity_code, updated_at, entity_type, name,"
               " registered_on, status, status_since, record_hash, batch_id, source_object,"
               " source_row) VALUES ('5700100104', %s, 'HTX', 'Hợp tác xã Thử', '2023-01-01',"
               " 'dang_hoat_dong', '2023-01-01', 'x', 0, 'test', 1)", (f"{last_day}T12:00:00+07:00",))


def counted(dsn):
    return query(dsn, "SELECT fund_code, period_end::text, revision, total_capital"
                      " FROM core.credit_fund_report_latest ORDER BY 1, 2")


def indicators(dsn, end, start="2024-01-01"):
    return {code: value for code, value in query(
        dsn, "SELECT indicator_code, value FROM mart.plan_indicator WHERE indicator_code LIKE"
             " 'QTDND%%' AND period_start = %s AND period_end = %s", (start, end))}


def test_the_highest_revision_counts_whichever_file_and_order_it_came_in(warehouse):
    load(warehouse, report(MAO_KHE, "2024-09-30", revision=1, total=105))
    # Revision 0 arrives later, from an earlier delivery's folder: it is kept, and does not count.
    load(warehouse, report(MAO_KHE, "2024-09-30", revision=0, total=104),
         source_file="credit_funds/2024-10-14/5700462351_2024Q3.json")
    assert counted(warehouse) == [(MAO_KHE, "2024-09-30", 1, Decimal(105))]
    assert query(warehouse, "SELECT count(*) FROM core.credit_fund_report") == [(2,)]


def test_equal_revisions_are_decided_by_submitted_at_then_by_the_later_batch(warehouse):
    load(warehouse, report(HUNG_DAO, "2024-06-30", submitted="2024-07-20T08:00:00+07:00", total=200))
    load(warehouse, report(HUNG_DAO, "2024-06-30", submitted="2024-07-10T08:00:00+07:00", total=190),
         source_file="credit_funds/lan_2/5700101348_2024Q2.json")
    assert counted(warehouse) == [(HUNG_DAO, "2024-06-30", 0, Decimal(200))]
    load(warehouse, report(HUNG_DAO, "2024-06-30", submitted="2024-07-20T08:00:00+07:00", total=210),
         source_file="credit_funds/lan_3/5700101348_2024Q2.json")
    assert counted(warehouse) == [(HUNG_DAO, "2024-06-30", 0, Decimal(210))]


def test_a_resent_file_replaces_its_predecessor_and_merging_twice_changes_nothing(warehouse):
    first = load(warehouse, report(HUNG_DAO, "2024-09-30", revision=0, total=120))
    merge_again(warehouse, first)
    assert query(warehouse, "SELECT count(*) FROM core.credit_fund_report") == [(1,)]
    second = load(warehouse, report(HUNG_DAO, "2024-09-30", revision=1, total=121))
    before = query(warehouse, "SELECT * FROM core.credit_fund_report ORDER BY batch_id")
    merge_again(warehouse, second)
    assert query(warehouse, "SELECT * FROM core.credit_fund_report ORDER BY batch_id") == before
    assert [(r[3], r[-1], r[-4]) for r in before] == [
        (1, "credit_funds/5700101348_2024Q3.json", second)]  # revision, source_file, batch


def test_an_older_revision_resent_under_the_same_name_never_displaces_a_higher_one(warehouse):
    load(warehouse, report(HUNG_DAO, "2024-09-30", revision=2, total=122))
    load(warehouse, report(HUNG_DAO, "2024-09-30", revision=1, total=121))
    assert counted(warehouse) == [(HUNG_DAO, "2024-09-30", 2, Decimal(122))]
    assert query(warehouse, "SELECT revision FROM core.credit_fund_report ORDER BY 1") == [(1,), (2,)]


def test_a_quarantined_resend_leaves_the_report_already_held(warehouse):
    from htx.validation import SuiteRunner

    runner = SuiteRunner(FEED)
    load(warehouse, report(HUNG_DAO, "2024-09-30", revision=0, total=120), runner=runner)
    broken = report(HUNG_DAO, "2024-09-30", revision=1, total=50, equity=10, deposits=80)
    load(warehouse, broken, runner=runner)
    assert counted(warehouse) == [(HUNG_DAO, "2024-09-30", 0, Decimal(120))]


def test_lineage_names_the_batch_the_landed_object_and_the_file(warehouse):
    batch = load(warehouse, report(HUNG_DAO, "2024-03-31"))
    assert query(warehouse, "SELECT batch_id, source_object, source_row, source_file"
                            " FROM core.credit_fund_report") == [
        (batch, f"file:///landing/_landed/{FEED}/batch-{batch:08d}/5700101348_2024Q1.json", 1,
         "credit_funds/5700101348_2024Q1.json")]


def test_a_period_counts_the_reports_of_its_last_quarter_end(warehouse):
    registry_until(warehouse, "2024-09-30")
    load(warehouse, report(HUNG_DAO, "2024-06-30", total=100, equity=10, deposits=80, loans=50,
                           npl=1, members=300, employees=4, revenue=200, profit=20, income=12))
    load(warehouse, report(MAO_KHE, "2024-06-30", total=300, equity=30, deposits=250, loans=150,
                           npl=5, members=200, employees=6, revenue=301, profit=-7, income=15.5))
    # In Q3 only Hưng Đạo has reported so far: Mạo Khê's Q2 report does not stand in for it.
    load(warehouse, report(HUNG_DAO, "2024-09-30", total=110, equity=11, deposits=90, loans=55,
                           npl=2, members=310, employees=4, revenue=333, profit=33, income=13))
    marts.refresh(dsn=warehouse)

    august = indicators(warehouse, "2024-08-31")   # last quarter end: 30/06
    assert august == indicators(warehouse, "2024-06-30")
    assert august["QTDND_TOTAL"] == 2
    assert (august["QTDND_MEMBERS"], august["QTDND_EMPLOYEES"]) == (500, 10)
    assert (august["QTDND_TOTAL_CAPITAL"], august["QTDND_EQUITY"], august["QTDND_DEPOSITS"],
            august["QTDND_LOANS"]) == (400, 40, 330, 200)
    assert august["QTDND_EQUITY_SHARE"] == 10
    assert august["QTDND_DEPOSIT_SHARE"] == Decimal("82.5")
    assert august["QTDND_NPL_RATIO"] == 3
    assert august["QTDND_AVG_REVENUE"] == Decimal("250.5")
    assert august["QTDND_AVG_PROFIT"] == Decimal("6.5")
    assert august["QTDND_AVG_EMPLOYEE_INCOME"] == Decimal("14.1")   # (4×12 + 6×15.5) ÷ 10

    september = indicators(warehouse, "2024-09-30")
    assert (september["QTDND_TOTAL"], september["QTDND_TOTAL_CAPITAL"]) == (1, 110)
    assert september["QTDND_AVG_REVENUE"] == 333


def test_a_period_without_reports_counts_zero_and_has_no_ratios(warehouse):
    registry_until(warehouse, "2024-03-31")
    load(warehouse, report(HUNG_DAO, "2024-03-31"))
    marts.refresh(dsn=warehouse)
    february = indicators(warehouse, "2024-02-29")   # last quarter end 31/12/2023: no report
    assert february == {"QTDND_TOTAL": 0, "QTDND_MEMBERS": 0, "QTDND_EMPLOYEES": 0,
                        "QTDND_TOTAL_CAPITAL": 0, "QTDND_EQUITY": 0, "QTDND_DEPOSITS": 0,
                        "QTDND_LOANS": 0}
    assert indicators(warehouse, "2024-03-31")["QTDND_TOTAL"] == 1
    units = dict(query(warehouse, "SELECT DISTINCT indicator_code, unit FROM mart.plan_indicator"
                                  " WHERE indicator_code LIKE 'QTDND%%'"))
    assert units["QTDND_MEMBERS"] == "nguoi" and units["QTDND_NPL_RATIO"] == "percent"
    assert units["QTDND_AVG_EMPLOYEE_INCOME"] == "trieu_dong" and units["QTDND_TOTAL"] == "count"


def test_the_bundled_sample_gives_the_seed_figures_in_the_mart(warehouse, tmp_path):
    from htx.feeds.common import RejectedObject
    from htx.dev.sample import RESEND_DIR
    from htx.dev.sample.credit_fund_reports import write_files
    from htx.validation import SuiteRunner

    registry_until(warehouse, "2024-12-20")
    runner = SuiteRunner(FEED)
    rejected = []
    written = write_files(tmp_path)
    resends = [p for p in written if p.relative_to(tmp_path).parts[0] == RESEND_DIR]
    for path in [p for p in written if p not in resends] + resends:   # as delivered
        name = str(path.relative_to(tmp_path / RESEND_DIR if path in resends else tmp_path))
        try:
            load(warehouse, path.read_bytes(), name, runner=runner)
        except RejectedObject as err:
            rejected.append(str(err))
    assert len(rejected) == 1 and "unit is 'dong'" in rejected[0]
    marts.refresh(dsn=warehouse)
    found = indicators(warehouse, "2024-09-30")
    for code, expected in SEED_FIGURES["values"].items():
        if code.startswith("QTDND"):
            assert float(found[code]) == pytest.approx(expected[""], abs=1e-9), code
    assert found["QTDND_NPL_RATIO"] < 2
    assert found["QTDND_AVG_EMPLOYEE_INCOME"] == 16 and found["QTDND_AVG_REVENUE"] == 5057
    # The re-sent correction replaced revision 0 of the same file; the quarantined report of
    # the third fund never reached core.
    assert query(warehouse, "SELECT revision FROM core.credit_fund_report WHERE fund_code = %s"
                            " AND period_end = '2024-09-30'", (MAO_KHE,)) == [(1,)]
    assert query(warehouse, "SELECT count(DISTINCT fund_code) FROM core.credit_fund_report") == [(2,)]
