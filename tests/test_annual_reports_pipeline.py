"""Feed 5's sample through the shared file-drop pipeline steps (landing → parse → GX → staging /
quarantine → merge → publish), then the corrected re-send: audit, quarantine and core agree."""
import uuid

import pytest

from conftest import query
from htx import pipeline
from htx.feeds import config

FEED = "annual_reports"


@pytest.fixture
def feed():
    return config.FEEDS[FEED]


def run_feed() -> dict:
    run = pipeline.RunInfo("test", f"run-{uuid.uuid4().hex[:8]}", "t")
    batches = pipeline.extract_to_landing(FEED, run)
    pipeline.stage_batches(FEED, batches)
    pipeline.merge_batches(FEED, batches)
    return pipeline.publish_batches(FEED, batches)


def test_the_sample_loads_through_the_pipeline_and_every_row_is_accounted_for(
        warehouse, landing, feed):
    from htx.sample import deliver_resends
    from htx.sample.annual_reports import write_files
    from htx.sample.registrations import generate

    write_files(landing, generate())
    first = run_feed()
    assert [r["file"] for r in first["rejected"]] == ["annual_reports/bao_cao_nam_2022.csv"]
    error = first["rejected"][0]["error"]   # the reason, then the landed copy: <name>.<sha256[:12]>.csv
    assert "/bao_cao_nam_2022." in error and error.startswith(
        "headers are not the contract's: missing column(s): managers_college_plus — ")
    assert [b["rows_in"] for b in first["published"]] == [686, 166]
    assert query(warehouse, "SELECT count(*) FROM audit.unreconciled_batch") == [(0,)]
    warned = query(warehouse, "SELECT unexpected_count FROM audit.validation_result"
                              " WHERE severity = 'warning' AND unexpected_count > 0")
    assert warned == [(1,)]   # the cooperative listed twice in the 2024 file

    assert deliver_resends(landing) == ["annual_reports/bao_cao_nam_2023.csv"]
    second = run_feed()
    (corrected,) = second["published"]
    assert (corrected["rows_in"], corrected["rows_quarantined"]) == (708, 2)
    reasons = sorted(r for (r,) in query(warehouse, "SELECT reason FROM quarantine.annual_reports"
                                                    " WHERE batch_id = %s", (corrected["batch_id"],)))
    assert reasons[0].startswith("entity_code: entity_code fails the MST check digit")
    assert reasons[1].startswith("member_workers: member_workers exceeds workers")
    assert query(warehouse, "SELECT source_file, count(*) FROM core.annual_report GROUP BY 1"
                            " ORDER BY 1") == [("annual_reports/bao_cao_nam_2023.csv", 706),
                                               ("annual_reports/bao_cao_nam_2024.csv", 166)]
