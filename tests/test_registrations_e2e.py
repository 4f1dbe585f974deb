"""Feed 1 end to end through Airflow: the bundled sample, via the stand-in API, into the marts."""
from decimal import Decimal

import pytest

from conftest import SEED_FIGURES, query
from htx.cli import run_dag
from htx.sample import plan_targets
from htx.sample.registrations import PERIOD_END, PERIOD_START, generate

REGISTRY_INDICATORS = [
    "HTX_TOTAL", "HTX_NEW", "HTX_DISSOLVED", "HTX_BY_SECTOR", "HTX_SECTOR_SHARE",
    "HTX_CHARTER_CAPITAL", "HTX_MEMBERS", "LHHTX_TOTAL", "LHHTX_CHARTER_CAPITAL",
    "LHHTX_MEMBER_COOPS", "THT_TOTAL", "THT_SECTOR_SHARE", "THT_MEMBERS",
]


def indicators(dsn) -> dict[tuple[str, str], tuple]:
    rows = query(dsn, "SELECT indicator_code, breakdown, value, target, attainment_pct"
                      " FROM mart.plan_indicator WHERE period_start = %s AND period_end = %s",
                 (PERIOD_START, PERIOD_END))
    return {(code, breakdown): (value, target, attained) for code, breakdown, value, target, attained in rows}


def snapshot(dsn) -> dict[str, list]:
    """Everything core and mart hold, for before/after comparisons."""
    return {
        "core": query(dsn, "SELECT * FROM core.registration_state ORDER BY entity_code, updated_at"),
        "mart": query(dsn, "SELECT * FROM mart.plan_indicator"
                           " ORDER BY indicator_code, breakdown, period_start, period_end"),
    }


@pytest.fixture
def sample_loaded(warehouse, landing, registry_api, airflow_db):
    registry_api(generate())
    run_dag("htx_feed_registrations")
    run_dag("htx_plan_marts")
    return warehouse


def test_the_sample_reproduces_the_seed_figures_and_a_rerun_changes_nothing(sample_loaded, landing):
    dsn = sample_loaded
    # The targets arrive through feed 6: the sample's annexes (its broken ones fail that run).
    plan_targets.write_files(landing, [])
    run_dag("htx_feed_plan_targets", must_succeed=False)
    run_dag("htx_plan_marts")
    found = indicators(dsn)
    for code in REGISTRY_INDICATORS:
        for breakdown, expected in SEED_FIGURES["values"][code].items():
            value = found[(code, breakdown)][0]
            assert float(value) == pytest.approx(expected, abs=1e-9), (code, breakdown)
    # The report's own arithmetic errors are not repeated.
    assert round(found[("HTX_SECTOR_SHARE", "sector=nong_nghiep")][0], 1) == Decimal("74.7")
    assert round(found[("HTX_TOTAL", "")][2], 1) == Decimal("119.8")
    assert round(found[("HTX_NEW", "")][2], 1) == Decimal("269.1")

    before = snapshot(dsn)
    run_dag("htx_feed_registrations")
    run_dag("htx_feed_plan_targets", must_succeed=False)
    run_dag("htx_plan_marts")
    assert snapshot(dsn) == before


def test_every_row_is_loaded_or_quarantined_with_its_reason(sample_loaded):
    dsn = sample_loaded
    (batch,) = query(dsn, "SELECT batch_id, status, rows_in, rows_loaded, rows_quarantined,"
                          " dag_id FROM audit.load_batch WHERE feed = 'registrations'")
    _, status, rows_in, loaded, quarantined, dag_id = batch
    assert (status, dag_id) == ("published", "htx_feed_registrations")
    assert rows_in == len(generate()) == loaded + quarantined
    assert query(dsn, "SELECT count(*) FROM audit.unreconciled_batch") == [(0,)]
    reasons = sorted(r for (r,) in query(dsn, "SELECT reason FROM quarantine.registrations"))
    assert len(reasons) == quarantined == 4
    assert any(r.startswith("entity_code: entity_code fails the MST check digit") for r in reasons)
    assert any(r.startswith("entity_code: entity_code is missing") for r in reasons)
    assert any(r.startswith("status: status is not a Decree 92/2024") and "'hoat_dong'" in r
               for r in reasons)
    assert any(r.startswith("registered_on: not a calendar date") and "2024-02-30" in r
               for r in reasons)
    objects = query(dsn, "SELECT DISTINCT q.source_object FROM quarantine.registrations q"
                         " JOIN audit.landed_object o ON o.object_url = q.source_object")
    assert len(objects) >= 1, "quarantined rows name the landed object they came from"
    # The unknown locality is a warning: recorded, and its row still loaded.
    warning = query(dsn, "SELECT unexpected_count, unexpected_sample FROM audit.validation_result"
                         " WHERE severity = 'warning'")
    assert warning == [(1, ["tỉnh Quảng Ninh"])]
    assert query(dsn, "SELECT count(*) FROM core.registration_state WHERE locality_code IS NULL"
                      " AND locality_raw = 'tỉnh Quảng Ninh'") == [(1,)]


def test_landed_pages_are_kept_untouched_with_their_checksums(sample_loaded, landing):
    import hashlib
    from urllib.parse import urlparse

    landed = query(sample_loaded, "SELECT object_url, sha256, size_bytes FROM audit.landed_object")
    assert landed
    for url, sha, size in landed:
        data = open(urlparse(url).path, "rb").read()
        assert (hashlib.sha256(data).hexdigest(), len(data)) == (sha, size)
        assert str(landing) in url
