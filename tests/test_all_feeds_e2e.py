"""All six feeds end to end through Airflow (`dag.test()`), on the bundled sample.

What a province's operator sees: broken deliveries rejected whole with their reason while the good
files load, bad rows quarantined with theirs, corrected re-sends replacing their predecessors,
re-runs changing nothing, and the marts reproducing every figure of the seed document.
"""
import os
import random
import secrets
import uuid
from datetime import date
from decimal import Decimal

import pytest
from psycopg2 import sql

from conftest import SEED_FIGURES, SERVER, as_dags_login, query
from htx import db
from htx.dev import localpg, sample
from htx.cli import run_dag
from htx.feeds.config import FEEDS
from htx.migrate import migrate
from htx.dev.sample.registrations import PERIOD_END, PERIOD_START, generate

FILE_FEEDS = [f for f in FEEDS.values() if f.source.kind == "file_drop"]
BROKEN = {  # the sample's broken deliveries per file feed (plan targets: one per rejection reason)
    "tax_declarations": ["tax/to_khai_202411.csv"],
    "support_lending": ["lending/vbsp_202405.xlsx"],
    "credit_fund_reports": ["credit_funds/5700778122_2024Q3.json"],
    "annual_reports": ["annual_reports/bao_cao_nam_2022.csv"],
    "plan_targets": ["plan_targets/chi_tieu_2023.xlsx", "plan_targets/chi_tieu_2022.xlsx",
                     "plan_targets/chi_tieu_2021.xlsx"],
}
# Feeds whose re-sent file is a new version kept beside the earlier ones (the latest in force),
# not a replacement of them.
VERSIONED = {"plan_targets"}


def select(template: str, table: str):
    return sql.SQL(template).format(db.qualified(table))


def core_snapshot(dsn) -> dict:
    return {feed.core_table: query(dsn, select("SELECT * FROM {} ORDER BY 1, 2, 3", feed.core_table))
            for feed in FEEDS.values()}


def mart_snapshot(dsn) -> list:
    return query(dsn, "SELECT * FROM mart.plan_indicator ORDER BY 1, 2, 3, 4")


def batch_count(dsn) -> int:
    return query(dsn, "SELECT count(*) FROM audit.load_batch")[0][0]


@pytest.fixture(scope="module")
def province(tmp_path_factory, airflow_db):
    """A warehouse loaded with every feed's sample, before the corrected re-sends."""
    from htx.dev.registry_standin import RegistryStandIn

    name = f"htx_t_{uuid.uuid4().hex[:10]}"
    localpg.create_database(SERVER, name)
    dsn = SERVER.uri(name)
    landing = tmp_path_factory.mktemp("landing")
    token = secrets.token_urlsafe(12)
    standin = RegistryStandIn(generate(), token).start()
    saved = {k: os.environ.get(k) for k in
             ("AIRFLOW_CONN_HTX_WAREHOUSE", "HTX_LANDING_URL", "AIRFLOW_CONN_HTX_REGISTRY_API")}
    migrate(dsn)
    os.environ.update({
        "AIRFLOW_CONN_HTX_WAREHOUSE": as_dags_login(dsn), "HTX_LANDING_URL": str(landing),
        "AIRFLOW_CONN_HTX_REGISTRY_API":
            f'{{"conn_type": "http", "host": "{standin.base_url}", "password": "{token}"}}'})
    run_dag("htx_feed_registrations")
    sample.write_drops(landing, generate())
    states = {feed.name: run_dag(feed.dag_id, must_succeed=False).state for feed in FILE_FEEDS}
    yield dsn, landing, states
    standin.stop()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    localpg.drop_database(SERVER, name)


# One case per DAG (its run is the module's fixture's): a failure names the DAG.
each_file_feed = pytest.mark.parametrize("feed", FILE_FEEDS, ids=lambda feed: feed.dag_id)


@each_file_feed
def test_a_broken_delivery_is_rejected_whole_and_fails_its_run(province, feed):
    dsn, _, states = province
    assert str(getattr(states[feed.name], "value", states[feed.name])) == "failed"
    rejected = query(dsn, "SELECT source_object, error, rows_in FROM audit.load_batch"
                          " WHERE feed = %s AND status = 'rejected'", (feed.name,))
    assert sorted(r[0] for r in rejected) == sorted(BROKEN[feed.name])
    for source, error, rows_in in rejected:
        assert source.rsplit("/", 1)[-1].split(".")[0] in error and rows_in is None
        assert query(dsn, select("SELECT count(*) FROM {} WHERE source_file = %s",
                                 feed.core_table), (source,)) == [(0,)]


@each_file_feed
def test_good_files_load_and_every_row_is_loaded_or_quarantined(province, feed):
    dsn, _, _ = province
    published = query(dsn, "SELECT count(*) FROM audit.load_batch WHERE feed = %s"
                           " AND status = 'published'", (feed.name,))[0][0]
    assert published >= 2
    quarantined = query(dsn, select("SELECT reason FROM {}", feed.quarantine_table))
    assert quarantined and all(":" in reason for (reason,) in quarantined)
    assert query(dsn, "SELECT count(*) FROM audit.unreconciled_batch WHERE feed = %s",
                 (feed.name,)) == [(0,)]


def test_a_rerun_over_the_same_files_is_a_no_op(province):
    dsn, _, _ = province
    before, batches = core_snapshot(dsn), batch_count(dsn)
    for feed in FILE_FEEDS:
        run_dag(feed.dag_id, must_succeed=True)  # nothing new: success, no batch
    assert batch_count(dsn) == batches
    assert core_snapshot(dsn) == before


def test_corrected_resends_supersede_and_the_marts_reproduce_the_seed(province):
    dsn, landing, _ = province
    resent = sample.deliver_resends(landing)
    assert resent
    for feed in FILE_FEEDS:
        run_dag(feed.dag_id)
    run_dag("htx_plan_marts")
    for source_file in resent:  # only the newest version of a re-sent file counts
        feed = next(f for f in FILE_FEEDS if source_file.startswith(f.source.glob.split("/")[0]))
        versions = query(dsn, "SELECT batch_id FROM audit.load_batch WHERE source_object = %s"
                              " AND status = 'published' ORDER BY batch_id", (source_file,))
        assert len(versions) == 2, source_file
        in_core = query(dsn, select("SELECT DISTINCT batch_id FROM {} WHERE source_file = %s"
                                    " ORDER BY 1", feed.core_table), (source_file,))
        if feed.name in VERSIONED:   # both on record, the newest in force
            assert in_core == versions, source_file
            assert query(dsn, "SELECT DISTINCT batch_id FROM mart.plan_target"
                              " WHERE source_file = %s", (source_file,)) == [versions[-1]]
        else:
            assert in_core == [versions[-1]], source_file
    values = {(code, breakdown): value for code, breakdown, value in query(
        dsn, "SELECT indicator_code, breakdown, value FROM mart.plan_indicator"
             " WHERE period_start = %s AND period_end = %s", (PERIOD_START, PERIOD_END))}
    for code, breakdowns in SEED_FIGURES["values"].items():
        for breakdown, expected in breakdowns.items():
            assert float(values[(code, breakdown)]) == pytest.approx(expected, abs=1e-9), (
                code, breakdown)
    # Attainment of the targets in force: the 2024 annex, and the 2025 annex as adjusted.
    attained = dict(query(dsn, "SELECT indicator_code, round(attainment_pct, 1)"
                               " FROM mart.plan_indicator WHERE period_start = %s"
                               " AND period_end = %s AND breakdown = ''",
                          (PERIOD_START, PERIOD_END)))
    assert attained["HTX_TOTAL"] == Decimal("119.8") and attained["HTX_NEW"] == Decimal("269.1")
    assert query(dsn, "SELECT target FROM mart.plan_indicator WHERE indicator_code = 'HTX_DISSOLVED'"
                      " AND breakdown = '' AND period_start = '2025-01-01'"
                      " AND period_end = '2025-09-30'") == [(2,)]
    # Supersession inside the data: amended declarations and revised reports count once.
    assert query(dsn, "SELECT count(*) > 0 FROM core.tax_declaration_latest WHERE revision > 0"
                 ) == [(True,)]
    assert query(dsn, "SELECT max(revision) FROM core.credit_fund_report_latest") == [(1,)]

    before = mart_snapshot(dsn)
    run_dag("htx_feed_registrations")
    for feed in FILE_FEEDS:
        run_dag(feed.dag_id)
    run_dag("htx_plan_marts")
    assert mart_snapshot(dsn) == before


def test_a_tax_file_refreshes_only_its_periods_as_a_full_rebuild_would(province):
    """Issue 15 §Marts, on the sample: after a December tax file (November's declarations and an
    amendment of August) the marts recompute only the periods ending from August 2024, and equal
    a full rebuild (a generated province: tests/test_marts_incremental.py)."""
    from test_marts_incremental import refreshed_as_a_full_rebuild, tax_file

    dsn, landing, _ = province
    filers = [code for (code,) in query(dsn, "SELECT DISTINCT entity_code FROM core.registry_current"
                                             " WHERE entity_type = 'HTX' ORDER BY 1 LIMIT 40")]
    (landing / "tax" / "to_khai_202412.csv").write_bytes(tax_file(
        random.Random(15), date(2024, 12, 1), (filers, ["11/2024"], 0), (filers[:5], ["08/2024"], 1)))
    run_dag(FEEDS["tax_declarations"].dag_id)
    done = refreshed_as_a_full_rebuild(dsn)
    assert done["periods_recomputed"] == query(
        dsn, "SELECT count(*) FROM mart.reporting_period WHERE period_end >= '2024-08-01'")[0][0]
    assert 0 < done["periods_recomputed"] < done["periods"]
