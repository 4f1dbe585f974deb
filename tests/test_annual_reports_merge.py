"""Feed 5 in the warehouse: the merge SQL, core.annual_report_latest and the HTX annual-report
marts, on hand-made files loaded as the file-drop pipeline will (one batch per file content),
over hand-made registry states."""
import uuid
from decimal import Decimal

import pytest

from conftest import SEED_FIGURES, query
from htx import db, marts
from htx.feeds import annual_reports as parser
from htx.feeds.common import RejectedObject
from htx.pipeline import LINEAGE_COLUMNS
from stdnum.vn import mst

FEED = "annual_reports"
HEADER = ",".join(parser.HEADERS)
_codes = iter(range(20_000, 99_999))


def new_code() -> str:
    while True:
        prefix = f"57{next(_codes):07d}"
        check = mst.calc_check_digit(prefix)
        if len(check) == 1:
            return prefix + check


def line(code, year, workers=10, member_workers=5, income=60_000_000, managers=3, vocational=1,
         college=1, members=7):
    return ",".join(str(v) for v in (code, year, members, workers, member_workers, income,
                                     managers, vocational, college))


def csv_file(*lines) -> bytes:
    return ("\n".join((HEADER, *lines)) + "\n").encode()


def load(dsn, raw: bytes, source_file: str, runner=None, feed=FEED, feed_parser=parser) -> int:
    """One delivered file → one batch: parse, (validate), stage and merge, as the pipeline does."""
    with db.transaction(dsn) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO audit.load_batch (feed, batch_key, source_object, status)"
                    " VALUES (%s, %s, %s, 'staged') RETURNING batch_id",
                    (feed, uuid.uuid4().hex, source_file))
        (batch_id,) = cur.fetchone()
        name = source_file.rsplit("/", 1)[-1]
        landed = f"file:///landing/_landed/{feed}/batch-{batch_id:08d}/{name}"
        rows = [r for r in feed_parser.parse_object(raw, landed) if not r.failures]
        if runner is not None and rows:
            rows = passing(runner, rows, feed_parser)
        db.copy_rows(cur, f"staging.{feed}", LINEAGE_COLUMNS + feed_parser.COLUMNS,
                     [(batch_id, r.source_object, r.source_row,
                       *(r.values[c] for c in feed_parser.COLUMNS)) for r in rows])
        db.run_sql_file(cur, f"merge/{feed}.sql", {"batch_id": batch_id})
    return batch_id


def passing(runner, rows, feed_parser=parser):
    import pandas as pd

    frame = pd.DataFrame([r.values for r in rows],
                         columns=list(feed_parser.COLUMNS + feed_parser.CHECK_COLUMNS))
    verdict = runner.validate(frame)
    return [r for i, r in enumerate(rows) if i not in verdict.row_failures]


def merge_again(dsn, batch_id):
    with db.transaction(dsn) as conn, conn.cursor() as cur:
        db.run_sql_file(cur, f"merge/{FEED}.sql", {"batch_id": batch_id})


def cooperative(dsn, code, registered="2015-01-01", dissolved=None, entity_type="HTX",
                recorded="2024-09-30"):
    """An entity's registry history, as core.registration_state holds it after its merge."""
    states = [("dang_hoat_dong", registered, dissolved), ("da_giai_the", dissolved, None)]
    for n, (status, since, until) in enumerate(states[:2 if dissolved else 1]):
        query(dsn, "INSERT INTO core.registration_state (entity_code, updated_at, entity_type,"
                   " name, main_vsic, registered_on, status, status_since, valid_to, record_hash,"
                   " batch_id, source_object, source_row) VALUES (%s, %s, %s, 'Hợp tác xã Thử',"
                   " '0111', %s, %s, %s, %s, 'x', 0, 'test', 1)",
              (code, f"{recorded}T1{n}:00:00+07:00", entity_type, registered, status, since, until))
    return code


def annual(dsn, end, start=None):
    start = start or end[:4] + "-01-01"
    return {code: value for code, value in query(
        dsn, "SELECT indicator_code, value FROM mart.plan_indicator WHERE indicator_code IN"
             " ('HTX_WORKERS', 'HTX_MEMBER_WORKERS', 'HTX_AVG_INCOME', 'HTX_MANAGERS',"
             "  'HTX_MANAGERS_VOCATIONAL', 'HTX_MANAGERS_COLLEGE_PLUS')"
             " AND period_start = %s AND period_end = %s", (start, end))}


def test_each_operating_cooperative_counts_its_latest_report_up_to_the_periods_year(warehouse):
    a = cooperative(warehouse, new_code())
    b = cooperative(warehouse, new_code())
    gone = cooperative(warehouse, new_code(), dissolved="2024-03-01")
    late = cooperative(warehouse, new_code(), registered="2024-06-15")
    group = cooperative(warehouse, new_code(), entity_type="THT")
    unknown = new_code()
    load(warehouse, csv_file(line(a, 2022, workers=8, member_workers=2, managers=4),
                             line(gone, 2022, workers=50)), "annual_reports/bao_cao_nam_2022.csv")
    load(warehouse, csv_file(line(a, 2023, workers=10, member_workers=4, income=60_000_000,
                                  managers=5, vocational=2, college=1),
                             line(gone, 2023, workers=40, income=90_000_000),
                             line(late, 2023, workers=7, income=50_000_000),
                             line(group, 2023, workers=900), line(unknown, 2023, workers=900)),
         "annual_reports/bao_cao_nam_2023.csv")
    load(warehouse, csv_file(line(b, 2024, workers=30, member_workers=20, income=70_000_000,
                                  managers=6, vocational=3, college=3)),
         "annual_reports/bao_cao_nam_2024.csv")
    marts.refresh(dsn=warehouse)

    # 2022: a's and gone's 2022 reports.
    assert annual(warehouse, "2022-12-31")["HTX_WORKERS"] == 58
    # January 2024: a (2023), gone (2023, still operating), b (2024); late is not registered yet.
    january = annual(warehouse, "2024-01-31")
    assert (january["HTX_WORKERS"], january["HTX_MEMBER_WORKERS"]) == (80, 29)
    assert january["HTX_AVG_INCOME"] == Decimal(10 * 60 + 40 * 90 + 30 * 70) / 80
    assert (january["HTX_MANAGERS"], january["HTX_MANAGERS_VOCATIONAL"],
            january["HTX_MANAGERS_COLLEGE_PLUS"]) == (14, 6, 5)
    # September 2024: gone is dissolved; late (registered in June) counts its 2023 report.
    september = annual(warehouse, "2024-09-30")
    assert september["HTX_WORKERS"] == 10 + 30 + 7
    assert float(september["HTX_AVG_INCOME"]) == pytest.approx((10 * 60 + 30 * 70 + 7 * 50) / 47)
    # 2023: the 2024 report is not yet counted, so b adds nothing.
    assert annual(warehouse, "2023-12-31")["HTX_WORKERS"] == 10 + 40


def test_without_reports_the_sums_are_zero_and_the_mean_income_is_left_out(warehouse):
    cooperative(warehouse, new_code())
    marts.refresh(dsn=warehouse)
    assert annual(warehouse, "2024-09-30") == {
        "HTX_WORKERS": 0, "HTX_MEMBER_WORKERS": 0, "HTX_MANAGERS": 0,
        "HTX_MANAGERS_VOCATIONAL": 0, "HTX_MANAGERS_COLLEGE_PLUS": 0}


def test_a_later_file_wins_for_a_cooperative_and_year(warehouse):
    a = new_code()
    load(warehouse, csv_file(line(a, 2023, workers=10)), "annual_reports/bao_cao_nam_2023.csv")
    # A late 2023 report for a, delivered in the 2024 file.
    load(warehouse, csv_file(line(a, 2023, workers=12), line(a, 2024, workers=15)),
         "annual_reports/bao_cao_nam_2024.csv")
    assert query(warehouse, "SELECT report_year, workers, source_file FROM core.annual_report_latest"
                            " ORDER BY 1") == [(2023, 12, "annual_reports/bao_cao_nam_2024.csv"),
                                               (2024, 15, "annual_reports/bao_cao_nam_2024.csv")]


def test_within_one_file_the_later_row_of_a_cooperative_wins(warehouse):
    a = new_code()
    load(warehouse, csv_file(line(a, 2023, workers=10), line(a, 2023, workers=11)),
         "annual_reports/bao_cao_nam_2023.csv")
    assert query(warehouse, "SELECT workers, source_row FROM core.annual_report_latest") == [(11, 3)]
    assert query(warehouse, "SELECT count(*) FROM core.annual_report") == [(2,)]


def test_a_resent_file_replaces_its_predecessors_rows_and_merging_twice_changes_nothing(warehouse):
    a, b = new_code(), new_code()
    first = load(warehouse, csv_file(line(a, 2023, workers=10), line(b, 2023, workers=20)),
                 "annual_reports/bao_cao_nam_2023.csv")
    other = load(warehouse, csv_file(line(a, 2024, workers=30)),
                 "annual_reports/bao_cao_nam_2024.csv")
    merge_again(warehouse, first)
    assert query(warehouse, "SELECT count(*) FROM core.annual_report") == [(3,)]
    second = load(warehouse, csv_file(line(a, 2023, workers=11)),
                  "annual_reports/bao_cao_nam_2023.csv")
    everything = "SELECT * FROM core.annual_report ORDER BY batch_id, source_row"
    before = query(warehouse, everything)
    merge_again(warehouse, second)
    assert query(warehouse, everything) == before
    assert [(r[0], r[1], r[3], r[-4]) for r in before] == [
        (a, 2024, 30, other), (a, 2023, 11, second)]   # b's 2023 row went with its file


def test_lineage_names_the_batch_the_landed_object_and_the_file(warehouse):
    a = new_code()
    batch = load(warehouse, csv_file(line(a, 2023)), "annual_reports/bao_cao_nam_2023.csv")
    assert query(warehouse, "SELECT batch_id, source_object, source_row, source_file"
                            " FROM core.annual_report") == [
        (batch, f"file:///landing/_landed/{FEED}/batch-{batch:08d}/bao_cao_nam_2023.csv", 2,
         "annual_reports/bao_cao_nam_2023.csv")]


@pytest.fixture
def registry_sample(warehouse):
    """The registration sample in core, through feed 1's own parser, suite and merge SQL."""
    import json

    from htx.feeds import registrations
    from htx.dev.sample.registrations import generate
    from htx.validation import SuiteRunner

    items = generate()
    load(warehouse, json.dumps({"items": items, "next_page_token": None}).encode(), "page-1.json",
         SuiteRunner("registrations"), "registrations", registrations)
    return items


def test_the_bundled_sample_gives_the_seed_figures_in_the_mart(warehouse, registry_sample, tmp_path):
    from htx.dev.sample import RESEND_DIR
    from htx.dev.sample.annual_reports import write_files
    from htx.validation import SuiteRunner

    runner = SuiteRunner(FEED)
    rejected = []
    written = write_files(tmp_path, registry_sample)
    resends = [p for p in written if p.relative_to(tmp_path).parts[0] == RESEND_DIR]
    for path in [p for p in written if p not in resends] + resends:   # as delivered
        name = str(path.relative_to(tmp_path / RESEND_DIR if path in resends else tmp_path))
        try:
            load(warehouse, path.read_bytes(), name, runner=runner)
        except RejectedObject as err:
            rejected.append(str(err))
    assert len(rejected) == 1 and "missing column(s): managers_college_plus" in rejected[0]
    marts.refresh(dsn=warehouse)
    found = annual(warehouse, "2024-09-30")
    for code in found:
        assert found[code] == SEED_FIGURES["values"][code][""], code
    assert set(found) == {"HTX_WORKERS", "HTX_MEMBER_WORKERS", "HTX_AVG_INCOME", "HTX_MANAGERS",
                          "HTX_MANAGERS_VOCATIONAL", "HTX_MANAGERS_COLLEGE_PLUS"}
    # Only the corrected 2023 file's rows remain in core.
    assert query(warehouse, "SELECT count(DISTINCT batch_id) FROM core.annual_report"
                            " WHERE source_file = 'annual_reports/bao_cao_nam_2023.csv'") == [(1,)]
