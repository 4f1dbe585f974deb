"""Feed 4's sample through the shared file-drop pipeline steps (landing → parse → GX → staging /
quarantine → merge → publish), then the corrected re-send: audit, quarantine and core agree."""
import uuid

import pytest

from conftest import query
from htx import pipeline
from htx.feeds import config

FEED = "credit_fund_reports"


@pytest.fixture
def feed():
    return config.FEEDS[FEED]


def run_feed() -> dict:
    run = pipeline.RunInfo("test", f"run-{uuid.uuid4().hex[:8]}", "t")
    batches = pipeline.extract_to_landing(FEED, run)
    pipeline.stage_batches(FEED, batches)
    pipeline.merge_batches(FEED, batches)
    return pipeline.publish_batches(FEED, batches)


def test_the_sample_loads_through_the_pipeline_and_every_file_is_accounted_for(
        warehouse, landing, feed):
    from htx.dev.sample import deliver_resends
    from htx.dev.sample.credit_fund_reports import write_files

    write_files(landing, [])
    first = run_feed()
    assert [r["file"] for r in first["rejected"]] == ["credit_funds/5700778122_2024Q3.json"]
    assert "unit is 'dong'" in first["rejected"][0]["error"]
    assert len(first["published"]) == 9
    assert query(warehouse, "SELECT count(*) FROM audit.unreconciled_batch") == [(0,)]
    (reason, record, failures), = query(
        warehouse, "SELECT reason, record, failures FROM quarantine.credit_fund_reports")
    assert reason.startswith("total_capital: balance sheet does not add up")
    assert record["balance_sheet"]["equity"] == 6100 and failures[0]["value"] == 63200
    assert query(warehouse, "SELECT revision FROM core.credit_fund_report_latest"
                            " WHERE fund_code = '5700462351' AND period_end = '2024-09-30'") == [(0,)]

    assert deliver_resends(landing) == ["credit_funds/5700462351_2024Q3.json"]
    second = run_feed()
    assert len(second["published"]) == 1 and second["rejected"] == []
    assert query(warehouse, "SELECT revision, total_capital FROM core.credit_fund_report"
                            " WHERE fund_code = '5700462351' AND period_end = '2024-09-30'") == [
        (1, 105157)]
    assert query(warehouse, "SELECT count(*) FROM core.credit_fund_report") == [(8,)]
    assert run_feed() == {"feed": FEED, "published": [], "rejected": []}  # nothing new
