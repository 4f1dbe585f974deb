"""Feed 2's bundled sample: generated into tmp_path, read by the contract parser and the real
suite, and the seed figures recomputed — in plain Python per the indicator catalogue, and in the
warehouse through the merge and the mart model."""
import uuid
from collections import defaultdict
from datetime import date
from fractions import Fraction

import pytest

from conftest import SEED_FIGURES, query
from htx import marts, pipeline
from htx.feeds import tax_declarations as parser
from htx.feeds.common import RejectedObject
from htx.dev.sample import tax_declarations as sample
from htx.dev.sample.registrations import PERIOD_END, PERIOD_START, generate
from htx.dev.sample.registry_states import operating_as_of

TAX_INDICATORS = ["HTX_TAX_ACTIVE", "HTX_NOT_ACTIVE", "HTX_NOT_ACTIVE_SHARE", "HTX_AVG_REVENUE",
                  "HTX_AVG_PROFIT"]
MONTHS = 9


@pytest.fixture(scope="module")
def registry():
    return generate()


@pytest.fixture(scope="module")
def suite():
    from htx.validation import SuiteRunner

    return SuiteRunner("tax_declarations")


@pytest.fixture
def files(tmp_path, registry):
    written = sample.write_files(tmp_path, registry)
    return tmp_path, written


def delivered(root):
    """The drop folder's files in delivery order (the month in the name)."""
    return sorted((root / sample.FOLDER).glob("to_khai_*.csv"))


def read_file(path, root, suite):
    """(loaded rows, quarantined rows) of one file, as the pipeline would split them."""
    import pandas as pd

    rows = list(parser.parse_object(path.read_bytes(), str(path.relative_to(root))))
    parsed = [r for r in rows if not r.failures]
    frame = pd.DataFrame([r.values for r in parsed],
                         columns=list(parser.COLUMNS + parser.CHECK_COLUMNS))
    verdict = suite.validate(frame)
    for position, failures in verdict.row_failures.items():
        parsed[position].failures.extend(failures)
    return [r for r in rows if not r.failures], [r for r in rows if r.failures]


def current_declarations(root, suite):
    loaded, quarantined, rejected = [], [], []
    for order, path in enumerate(delivered(root)):
        try:
            good, bad = read_file(path, root, suite)
        except RejectedObject as err:
            rejected.append(str(err))
            continue
        loaded += [dict(r.values, order=order, source_row=r.source_row) for r in good]
        quarantined += bad
    return loaded, quarantined, rejected


def latest_versions(declarations):
    """Per tax code, form and period: highest Lần nộp, then later Ngày nộp, then later file/row."""
    best = {}
    for d in declarations:
        key = (d["tax_code"], d["form_code"], d["period_kind"], d["period_start"])
        rank = (d["revision"], d["filed_on"], d["order"], d["source_row"])
        if key not in best or rank > best[key][0]:
            best[key] = (rank, d)
    return [d for _, d in best.values()]


def figures(registry, declarations):
    """The catalogue's definitions, for 2024-01-01 … 2024-09-30."""
    operating = {s["entity_code"] for s in operating_as_of(registry, "HTX", PERIOD_END)}
    latest = latest_versions(declarations)
    revenue = defaultdict(int)
    for d in latest:
        if (d["form_code"] == "01/GTGT" and d["parent_code"] in operating
                and d["period_start"] >= PERIOD_START and d["period_end"] <= PERIOD_END):
            revenue[d["parent_code"]] += d["revenue_vnd"]
    profit = defaultdict(int)
    for d in latest:
        if (d["form_code"] == "03/TNDN" and d["parent_code"] in operating
                and d["period_start"] == date(2023, 1, 1) and d["period_kind"] == "year"):
            profit[d["parent_code"]] += d["profit_before_tax_vnd"]
    active = len(revenue)
    return {
        "HTX_TAX_ACTIVE": active,
        "HTX_NOT_ACTIVE": len(operating) - active,
        "HTX_NOT_ACTIVE_SHARE": Fraction(100 * (len(operating) - active), len(operating)),
        "HTX_AVG_REVENUE": Fraction(sum(revenue.values()) * 12, 10**6 * active * MONTHS),
        "HTX_AVG_PROFIT": Fraction(sum(profit.values()), 10**6 * len(profit)),
        "revenue_vnd": sum(revenue.values()),
    }


def test_the_sample_reproduces_the_seed_figures_once_the_august_resend_is_delivered(
        files, registry, suite):
    root, _ = files
    sample.apply_resends(root)
    declarations, _, rejected = current_declarations(root, suite)
    found = figures(registry, declarations)
    for code in TAX_INDICATORS:
        assert float(found[code]) == pytest.approx(SEED_FIGURES["values"][code][""], abs=1e-12), code
    assert found["HTX_AVG_REVENUE"] == 870 and found["HTX_AVG_PROFIT"] == 300   # exactly
    assert found["revenue_vnd"] == 433_912_500_000
    assert len(rejected) == 1


def test_before_the_resend_the_original_august_file_shows_one_more_active_cooperative(
        files, registry, suite):
    root, _ = files
    found = figures(registry, current_declarations(root, suite)[0])
    assert found["HTX_TAX_ACTIVE"] == 666 and found["HTX_AVG_REVENUE"] != 870


def test_the_broken_november_file_is_rejected_whole_naming_the_renamed_column(files, suite):
    root, _ = files
    rejected = current_declarations(root, suite)[2]
    assert len(rejected) == 1
    assert rejected[0].startswith("schema drift")
    assert rejected[0].endswith(f" — {sample.FOLDER}/{sample.BROKEN_FILE}")
    assert "'Doanh thu'" in rejected[0] and "'Tổng doanh thu'" in rejected[0]


def test_exactly_the_three_planted_rows_are_quarantined_each_with_its_field(files, suite):
    root, _ = files
    sample.apply_resends(root)
    quarantined = current_declarations(root, suite)[1]
    assert sorted((r.source_object, f.field) for r in quarantined for f in r.failures) == [
        ("tax/to_khai_202402.csv", "filed_on"), ("tax/to_khai_202404.csv", "tax_code"),
        ("tax/to_khai_202405.csv", "revenue_vnd")]


def test_declarations_outside_the_figures_are_present(files, registry, suite):
    root, _ = files
    declarations = current_declarations(root, suite)[0]
    known = {i["entity_code"] for i in registry if i.get("entity_code")}
    unknown = {d["parent_code"] for d in declarations} - known
    assert len(unknown) == 4
    periods = {d["period_raw"] for d in declarations}
    assert {"12/2023", "Q4/2023", "10/2024", "2022"} <= periods
    assert any(d["tax_code"].endswith("-001") for d in declarations)
    assert any(d["revision"] == 2 for d in declarations)


def test_the_files_are_small_deterministic_and_in_the_documented_encodings(files, registry, tmp_path):
    root, written = files
    again = sample.write_files(tmp_path / "again", registry)
    assert [p.read_bytes() for p in written] == [p.read_bytes() for p in again]
    assert all(p.stat().st_size < 1_000_000 for p in written)
    by_name = {p.name: p.read_bytes() for p in delivered(root)}
    for month in sample.DELIVERY_MONTHS:
        raw = by_name[f"to_khai_2024{month:02d}.csv"]
        assert raw.startswith(b"\xef\xbb\xbf") == (month in sample.BOM_MONTHS)
        if month in sample.CP1258_MONTHS:
            with pytest.raises(UnicodeDecodeError):
                raw.decode("utf-8")
        else:
            raw.decode("utf-8")
    resent = root / sample.RESEND_DIR / sample.FOLDER / "to_khai_202408.csv"
    assert resent in written and resent.read_bytes() != by_name["to_khai_202408.csv"]


# -- the same sample in the warehouse ---------------------------------------------------------

def load_registry() -> None:
    run = pipeline.RunInfo("test", f"run-{uuid.uuid4().hex[:8]}", "t")
    batches = pipeline.extract_to_landing("registrations", run)
    for batch in batches if isinstance(batches, list) else [batches]:
        pipeline.validate_and_stage("registrations", batch)
        pipeline.merge_into_core("registrations", batch)
        pipeline.publish("registrations", batch)


def mart_values(dsn) -> dict:
    rows = query(dsn, "SELECT indicator_code, value FROM mart.plan_indicator"
                      " WHERE breakdown = '' AND period_start = %s AND period_end = %s",
                 (PERIOD_START, PERIOD_END))
    return dict(rows)


def test_the_warehouse_computes_the_seed_figures_from_the_sample_files(
        files, registry, suite, warehouse, landing, registry_api):
    from test_tax_declarations_merge import deliver

    root, _ = files
    registry_api(registry)
    load_registry()
    for path in delivered(root):
        try:
            deliver(warehouse, str(path.relative_to(root)), path.read_bytes(), suite)
        except RejectedObject:
            assert path.name == sample.BROKEN_FILE
    marts.refresh(dsn=warehouse)
    assert mart_values(warehouse)["HTX_TAX_ACTIVE"] == 666
    for path in sample.apply_resends(root):
        deliver(warehouse, str(path.relative_to(root)), path.read_bytes(), suite)
    marts.refresh(dsn=warehouse)
    found = mart_values(warehouse)
    for code in TAX_INDICATORS:
        assert float(found[code]) == pytest.approx(SEED_FIGURES["values"][code][""], abs=1e-12), code
    assert found["HTX_AVG_REVENUE"] == 870 and found["HTX_AVG_PROFIT"] == 300
    assert found["HTX_TOTAL"] == 895
    assert query(warehouse, "SELECT count(DISTINCT parent_code)"
                            " FROM core.tax_declaration_unmatched") == [(4,)]
    assert query(warehouse, "SELECT count(*) FROM audit.unreconciled_batch") == [(0,)]
    quarantined = query(warehouse, "SELECT count(*) FROM quarantine.tax_declarations")
    assert quarantined == [(3,)]
