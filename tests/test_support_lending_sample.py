"""The bundled sample of feed 3: its files, parsed by the feed's own parser and validated by its
suite, reproduce the seed's LENDING_* figures for 01/01–30/09/2024 — recomputed here in plain
Python from the catalogue's definitions, then once more through the warehouse and the marts."""
from datetime import date, datetime
from decimal import Decimal

import pytest

from conftest import SEED_FIGURES, query
from htx import marts
from htx.feeds import support_lending as parser
from htx.feeds.common import RejectedObject
from htx.dev.sample.registrations import generate
from htx.dev.sample.registry_states import operating_as_of
from htx.dev.sample.support_lending import PERIOD_END, write_files
from test_support_lending_core import registry_reaching, stage_and_merge

LENDING = ["LENDING_FUND_SIZE", "LENDING_CONTRACTS", "LENDING_DISBURSED", "LENDING_OUTSTANDING",
           "LENDING_BORROWERS_OUTSTANDING"]


@pytest.fixture(scope="module")
def registry_items():
    return generate()


@pytest.fixture(scope="module")
def sample(tmp_path_factory, registry_items):
    root = tmp_path_factory.mktemp("landing")
    return root, write_files(root, registry_items)


@pytest.fixture(scope="module")
def parsed(sample):
    """File name → rows the pipeline would load, or the rejection's reason."""
    root, paths = sample
    found = {}
    for path in paths:
        try:
            rows = list(parser.parse_object(path.read_bytes(), path.name))
        except RejectedObject as err:
            found[path.name] = str(err)
            continue
        # The feed's batch check, its table-level rule, rejects the file whole.
        broken = parser.reconcile_totals(rows, path.name)
        found[path.name] = "; ".join(broken) if broken else loadable(rows)
    return found


def loadable(rows):
    """The rows that pass the parser and the suite's critical rules (the rest is quarantined)."""
    import pandas as pd

    from htx.validation import SuiteRunner

    clean = [r for r in rows if not r.failures]
    frame = pd.DataFrame([r.values for r in clean],
                         columns=list(parser.COLUMNS + parser.CHECK_COLUMNS))
    verdict = SuiteRunner("support_lending").validate(frame)
    for position, failures in verdict.row_failures.items():
        clean[position].failures.extend(failures)
    return {"loaded": [r.values for r in rows if not r.failures],
            "quarantined": [r for r in rows if r.failures]}


def figures_as_of(parsed, period_end: date) -> dict:
    """The catalogue's LENDING_* definitions: the latest report dated on or before the end of P."""
    reports = [p["loaded"] for p in parsed.values() if isinstance(p, dict) and p["loaded"]]
    chosen = max((r for r in reports if r[0]["report_date"] <= period_end),
                 key=lambda r: r[0]["report_date"])
    outstanding = sum(c["outstanding_trieu"] for c in chosen)
    return {
        "LENDING_FUND_SIZE": chosen[0]["fund_size_trieu"],
        "LENDING_CONTRACTS": len(chosen),
        "LENDING_DISBURSED": sum(c["disbursed_trieu"] for c in chosen),
        "LENDING_OUTSTANDING": outstanding,
        "LENDING_BORROWERS_OUTSTANDING": len({c["htx_code"] for c in chosen
                                              if c["outstanding_trieu"] > 0}),
        "LENDING_NPL_RATIO": sum(c["outstanding_trieu"] for c in chosen
                                 if c["debt_group"] in (3, 4, 5)) * 100 / outstanding,
    }


def test_the_sample_reproduces_the_seed_lending_figures(parsed):
    found = figures_as_of(parsed, PERIOD_END)
    for code in LENDING:
        assert found[code] == Decimal(str(SEED_FIGURES["values"][code][""])), code
    assert 0 < found["LENDING_NPL_RATIO"] < 10   # free for the sample: a few non-performing


def test_the_october_report_exists_and_would_change_the_figures(parsed):
    october = parsed["vbsp_202410.xlsx"]["loaded"]
    assert october[0]["report_date"] == date(2024, 10, 31)
    assert figures_as_of(parsed, date(2024, 10, 31)) != figures_as_of(parsed, PERIOD_END)


def test_earlier_reports_hold_smaller_cumulative_figures(parsed):
    contracts = [figures_as_of(parsed, end)["LENDING_CONTRACTS"]
                 for end in (date(2024, 6, 30), date(2024, 8, 31), PERIOD_END)]
    assert contracts == sorted(contracts) and contracts[0] < contracts[-1]


def test_the_broken_file_is_rejected_whole_with_both_figures_for_each_column(parsed):
    message = parsed["vbsp_202405.xlsx"]
    assert isinstance(message, str) and "does not reconcile" in message
    assert "Số tiền giải ngân: file total" in message
    assert "Dư nợ: file total" in message and "(difference 120.0)" in message
    assert all(isinstance(p, dict) for name, p in parsed.items() if name != "vbsp_202405.xlsx")


def test_bad_rows_are_quarantined_in_files_other_than_septembers(parsed):
    reasons = {name: [f.describe() for row in p["quarantined"] for f in row.failures]
               for name, p in parsed.items() if isinstance(p, dict)}
    assert reasons["vbsp_202409.xlsx"] == []
    assert len(reasons["vbsp_202407.xlsx"]) == 1
    assert reasons["vbsp_202407.xlsx"][0].startswith("disbursed_on: Ngày giải ngân is not a date")
    assert "'31/02/2024'" in reasons["vbsp_202407.xlsx"][0]
    assert len(reasons["vbsp_202408.xlsx"]) == 1
    assert reasons["vbsp_202408.xlsx"][0].startswith("htx_code: Mã số HTX fails the MST check")
    assert sum(len(r) for r in reasons.values()) == 2


def test_the_files_carry_the_contracts_messiness(sample, parsed, registry_items):
    import openpyxl

    root, paths = sample
    assert [p.relative_to(root).as_posix() for p in paths] == [
        f"lending/vbsp_2024{m:02d}.xlsx" for m in range(5, 11)]
    assert all(p.stat().st_size < 1_000_000 for p in paths)

    def disbursement_cells(name):
        sheet = openpyxl.load_workbook(root / "lending" / name, read_only=True)["BaoCao"]
        return [row[4] for row in sheet.iter_rows(min_row=7, values_only=True) if row[0]]

    assert all(isinstance(v, str) for v in disbursement_cells("vbsp_202407.xlsx"))
    assert all(isinstance(v, datetime) for v in disbursement_cells("vbsp_202409.xlsx"))
    september = parsed["vbsp_202409.xlsx"]["loaded"]
    assert any(c["disbursed_trieu"] % 1 for c in september)
    assert any(c["outstanding_trieu"] % 1 for c in september)
    from collections import Counter

    outstanding_contracts = Counter(c["htx_code"] for c in september if c["outstanding_trieu"] > 0)
    assert max(outstanding_contracts.values()) == 2
    assert sum(1 for c in september if c["debt_group"] >= 3) >= 2
    operating = {s["entity_code"] for s in operating_as_of(registry_items, "HTX", PERIOD_END)}
    assert {c["htx_code"] for c in september} <= operating


def test_the_sample_is_deterministic_to_the_byte(tmp_path, sample, registry_items):
    root, paths = sample
    again = write_files(tmp_path, registry_items)
    assert [p.read_bytes() for p in again] == [p.read_bytes() for p in paths]


def test_the_sample_through_the_warehouse_gives_the_seed_figures_in_the_mart(warehouse, sample):
    root, paths = sample
    registry_reaching(warehouse, "2024-12-20T10:00:00+07:00")
    for path in paths:
        try:
            stage_and_merge(warehouse, path.relative_to(root).as_posix(), path.read_bytes())
        except RejectedObject:
            assert path.name == "vbsp_202405.xlsx"
    marts.refresh(dsn=warehouse)
    values = dict(query(warehouse, "SELECT indicator_code, value FROM mart.plan_indicator"
                                   " WHERE indicator_code LIKE 'LENDING%%'"
                                   " AND period_start = '2024-01-01' AND period_end = %s",
                        (PERIOD_END,)))
    for code in LENDING:
        assert values[code] == Decimal(str(SEED_FIGURES["values"][code][""])), code
    assert 0 < values["LENDING_NPL_RATIO"] < 10
    assert query(warehouse, "SELECT count(*) FROM core.lending_report WHERE NOT complete") == [(2,)]
    assert query(warehouse, "SELECT count(*) FROM quarantine.support_lending") == [(2,)]
