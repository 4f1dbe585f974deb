"""The bundled feed 4 sample, parsed and validated by the feed's own parser and suite, gives the
seed's QTDND figures for 2024-01-01 … 2024-09-30 when recomputed here per the catalogue."""
from datetime import date

import pytest

from conftest import SEED_FIGURES
from htx.feeds import credit_fund_reports as parser
from htx.feeds.common import RejectedObject
from htx.dev.sample import RESEND_DIR
from htx.dev.sample.credit_fund_reports import MAO_KHE, write_files

PERIOD_END = date(2024, 9, 30)


@pytest.fixture(scope="module")
def delivered(tmp_path_factory):
    """Every sample file in delivery order (first the drops, then the corrected re-sends under
    the name they replace) → (path, 'rejected', message) or (path, 'quarantined' | 'loaded',
    row, failures)."""
    import pandas as pd

    from htx.validation import SuiteRunner

    root = tmp_path_factory.mktemp("landing")
    runner = SuiteRunner("credit_fund_reports")
    written = write_files(root, [])
    resends = [p for p in written if p.relative_to(root).parts[0] == RESEND_DIR]
    outcome = []
    for path in [p for p in written if p not in resends] + resends:
        assert path.stat().st_size < 1_000_000
        name = str(path.relative_to(root / RESEND_DIR if path in resends else root))
        try:
            (row,) = parser.parse_object(path.read_bytes(), name)
        except RejectedObject as err:
            outcome.append((name, "rejected", str(err)))
            continue
        frame = pd.DataFrame([row.values], columns=list(parser.COLUMNS + parser.CHECK_COLUMNS))
        failures = row.failures + runner.validate(frame).row_failures.get(0, [])
        outcome.append((name, "quarantined" if failures else "loaded", row, failures))
    return outcome


def held(delivered):
    """What core holds per file: a loaded re-send replaces its predecessor unless that held a
    higher revision (the merge's rule; the sample's re-send is a higher revision)."""
    files = {}
    for name, status, *rest in delivered:
        if status == "loaded":
            files[name] = rest[0]
    return list(files.values())


def latest(rows):
    """Highest revision per fund and quarter; ties: later submitted_at."""
    best = {}
    for row in rows:
        v = row.values
        key = (v["fund_code"], v["period_end"])
        if key not in best or (v["revision"], v["submitted_at"]) > (
                best[key]["revision"], best[key]["submitted_at"]):
            best[key] = v
    return best


def figures(outcome, period_end):
    reports = [v for (code, end), v in latest(held(outcome)).items() if end == period_end]
    employees = sum(r["employees"] for r in reports)
    capital = sum(r["total_capital"] for r in reports)
    return {
        "QTDND_TOTAL": len(reports),
        "QTDND_MEMBERS": sum(r["members"] for r in reports),
        "QTDND_EMPLOYEES": employees,
        "QTDND_TOTAL_CAPITAL": capital,
        "QTDND_EQUITY": sum(r["equity"] for r in reports),
        "QTDND_DEPOSITS": sum(r["deposits"] for r in reports),
        "QTDND_LOANS": sum(r["loans_outstanding"] for r in reports),
        "QTDND_EQUITY_SHARE": sum(r["equity"] for r in reports) * 100 / capital,
        "QTDND_DEPOSIT_SHARE": sum(r["deposits"] for r in reports) * 100 / capital,
        "QTDND_NPL_RATIO": sum(r["npl"] for r in reports) * 100
                           / sum(r["loans_outstanding"] for r in reports),
        "QTDND_AVG_REVENUE": sum(r["revenue_ytd"] for r in reports) / len(reports),
        "QTDND_AVG_PROFIT": sum(r["profit_ytd"] for r in reports) / len(reports),
        "QTDND_AVG_EMPLOYEE_INCOME": sum(r["employees"] * r["avg_employee_income_month"]
                                         for r in reports) / employees,
    }


def test_the_sample_reproduces_the_seed_figures(delivered):
    found = figures(delivered, PERIOD_END)
    for code, expected in SEED_FIGURES["values"].items():
        if code.startswith("QTDND"):
            assert float(found[code]) == pytest.approx(expected[""], abs=1e-9), code
    assert found["QTDND_NPL_RATIO"] < 2


def test_only_the_corrected_report_of_mao_khe_counts(delivered):
    q3 = [(name, rest[0].values) for name, status, *rest in delivered if status == "loaded"
          and rest[0].values["fund_code"] == MAO_KHE and rest[0].values["period_end"] == PERIOD_END]
    assert [(name, v["revision"]) for name, v in q3] == [
        ("credit_funds/5700462351_2024Q3.json", 0), ("credit_funds/5700462351_2024Q3.json", 1)]
    first, corrected = q3[0][1], q3[1][1]
    differing = {c for c in parser.COLUMNS if first[c] != corrected[c]}
    assert {"total_capital", "equity", "deposits", "loans_outstanding", "members", "revenue_ytd",
            "profit_ytd", "avg_employee_income_month"} <= differing
    assert latest(held(delivered))[(MAO_KHE, PERIOD_END)]["revision"] == 1


def test_one_file_is_rejected_whole_and_one_report_quarantined(delivered):
    rejected = {name: rest[0] for name, status, *rest in delivered if status == "rejected"}
    quarantined = {name: rest[1] for name, status, *rest in delivered if status == "quarantined"}
    assert list(rejected) == ["credit_funds/5700778122_2024Q3.json"]
    assert "unit is 'dong'" in rejected["credit_funds/5700778122_2024Q3.json"]
    assert list(quarantined) == ["credit_funds/5700778122_2024Q2.json"]
    assert [f.field for f in quarantined["credit_funds/5700778122_2024Q2.json"]] == ["total_capital"]


def test_every_quarter_of_the_sample_has_both_funds(delivered):
    for quarter_end in (date(2023, 12, 31), date(2024, 3, 31), date(2024, 6, 30), PERIOD_END):
        assert figures(delivered, quarter_end)["QTDND_TOTAL"] == 2, quarter_end
