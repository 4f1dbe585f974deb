"""The bundled feed 5 sample, parsed and validated by the feed's own parser and suite, gives the
seed's annual-report figures for 2024-01-01 … 2024-09-30 when recomputed here per the catalogue:
over the cooperatives of HTX_TOTAL, each one's latest report with report year ≤ 2024."""
from datetime import date

import pytest

from conftest import SEED_FIGURES
from htx.feeds import annual_reports as parser
from htx.feeds.common import RejectedObject
from htx.dev.sample import RESEND_DIR
from htx.dev.sample.annual_reports import write_files
from htx.dev.sample.registrations import generate
from htx.dev.sample.registry_states import operating_as_of, states_as_of

AS_OF = date(2024, 9, 30)
CODES = ("HTX_WORKERS", "HTX_MEMBER_WORKERS", "HTX_AVG_INCOME", "HTX_MANAGERS",
         "HTX_MANAGERS_VOCATIONAL", "HTX_MANAGERS_COLLEGE_PLUS")


@pytest.fixture(scope="module")
def registry():
    return generate()


@pytest.fixture(scope="module")
def deliveries(registry, tmp_path_factory):
    """In delivery order (the drops, then the corrected re-sends under the name they replace):
    (path, rejection message or None, loaded rows, quarantined rows with failures, warnings)."""
    import pandas as pd

    from htx.validation import SuiteRunner

    root = tmp_path_factory.mktemp("landing")
    runner = SuiteRunner("annual_reports")
    written = write_files(root, registry)
    resends = [p for p in written if p.relative_to(root).parts[0] == RESEND_DIR]
    result = []
    for path in [p for p in written if p not in resends] + resends:
        assert path.stat().st_size < 1_000_000
        name = str(path.relative_to(root / RESEND_DIR if path in resends else root))
        try:
            rows = list(parser.parse_object(path.read_bytes(), name))
        except RejectedObject as err:
            result.append((name, str(err), [], [], 0))
            continue
        parsed = [r for r in rows if not r.failures]
        frame = pd.DataFrame([r.values for r in parsed],
                             columns=list(parser.COLUMNS + parser.CHECK_COLUMNS))
        runner.reset()
        verdict = runner.validate(frame)
        for i, failures in verdict.row_failures.items():
            parsed[i].failures.extend(failures)
        warnings = sum(t.unexpected_count for t in runner.tallies.values() if t.severity == "warning")
        result.append((name, None, [r for r in rows if not r.failures],
                       [r for r in rows if r.failures], warnings))
    return result


def latest_reports(deliveries, until=None):
    """core.annual_report_latest as the merges leave it: a file's later version replaces its
    rows; per cooperative and year the row of the latest batch, then the later row."""
    files = {}
    for batch, (name, rejected, loaded, _, _) in enumerate(deliveries[:until]):
        if rejected is None:
            files[name] = [(batch, row.source_row, row.values) for row in loaded]
    latest = {}
    for batch, line, v in sorted(r for rows in files.values() for r in rows):
        latest[(v["entity_code"], v["report_year"])] = v
    return latest


def figures(registry, latest, as_of=AS_OF):
    operating = {s["entity_code"] for s in operating_as_of(registry, "HTX", as_of)}
    counted = {}
    for (code, year), v in latest.items():
        if code in operating and year <= as_of.year and year > counted.get(code, {}).get(
                "report_year", 0):
            counted[code] = v
    reports = list(counted.values())
    workers = sum(r["workers"] for r in reports)
    return {
        "HTX_WORKERS": workers,
        "HTX_MEMBER_WORKERS": sum(r["member_workers"] for r in reports),
        "HTX_AVG_INCOME": sum(r["workers"] * r["avg_income_per_worker_vnd"] for r in reports)
                          / workers / 1_000_000,
        "HTX_MANAGERS": sum(r["managers"] for r in reports),
        "HTX_MANAGERS_VOCATIONAL": sum(r["managers_vocational"] for r in reports),
        "HTX_MANAGERS_COLLEGE_PLUS": sum(r["managers_college_plus"] for r in reports),
    }


def test_the_sample_reproduces_the_seed_figures_exactly(registry, deliveries):
    found = figures(registry, latest_reports(deliveries))
    assert found == {code: SEED_FIGURES["values"][code][""] for code in CODES}
    assert len(operating_as_of(registry, "HTX", AS_OF)) == 895


def test_the_first_version_of_the_2023_file_would_give_other_figures(registry, deliveries):
    assert [name for name, *_ in deliveries][-1] == "annual_reports/bao_cao_nam_2023.csv"
    before_resend = figures(registry, latest_reports(deliveries, until=-1))
    assert before_resend["HTX_WORKERS"] != SEED_FIGURES["values"]["HTX_WORKERS"][""]


def test_the_broken_file_is_rejected_whole_naming_the_missing_column(deliveries):
    rejected = [(name, message) for name, message, *_ in deliveries if message]
    assert rejected == [("annual_reports/bao_cao_nam_2022.csv",
                         "headers are not the contract's: missing column(s):"
                         " managers_college_plus — annual_reports/bao_cao_nam_2022.csv")]


def test_two_rows_are_quarantined_with_their_reasons_and_the_figures_do_not_need_them(deliveries):
    (corrected,) = [d for d in deliveries if d[0] == "annual_reports/bao_cao_nam_2023.csv"][-1:]
    reasons = sorted({(f.field, f.message) for row in corrected[3] for f in row.failures})
    assert reasons == [("entity_code", "entity_code fails the MST check digit"),
                       ("member_workers", "member_workers exceeds workers (member workers are"
                                          " among the workers)")]
    assert len(corrected[3]) == 2


def test_a_cooperative_listed_twice_in_the_2024_file_warns_and_counts_once(deliveries):
    (file_2024,) = [d for d in deliveries if d[0] == "annual_reports/bao_cao_nam_2024.csv"]
    assert file_2024[4] == 1 and file_2024[3] == []
    rows = file_2024[2]
    repeated = [r for r in rows if not r.values["last_in_file_for_cooperative_year"]]
    assert len(repeated) == 1
    code = repeated[0].values["entity_code"]
    assert [r.source_row for r in rows if r.values["entity_code"] == code][-1] == rows[-1].source_row


def test_reports_of_cooperatives_not_operating_are_delivered_and_do_not_count(registry, deliveries):
    states = states_as_of(registry, AS_OF)
    delivered = {code for code, _ in latest_reports(deliveries)}
    dissolved = {c for c in delivered if states.get(c, {}).get("status") == "da_giai_the"}
    assert len(dissolved) >= 5
    assert any(states[c]["status_since"] >= "2024-01-01" for c in dissolved)  # in the period
    operating = {s["entity_code"] for s in operating_as_of(registry, "HTX", AS_OF)}
    assert not dissolved & operating
