"""Edge cases of the indicators on small hand-made data, with the answer worked out by hand here,
checked on the value (mart.plan_indicator) and on the entities behind it
(mart.plan_indicator_members). Only what the feeds' own tests leave open:

  * a status change recorded after the period closed: dated after it, the period keeps its
    figures; dated inside it, the period changes (tests/test_registry_history.py has the values
    of the second case, not the entities, nor the first case);
  * a cooperative dissolved — and one registered — on the period's last day;
  * a dissolution that never held (replaced on its own day), and a dissolved cooperative whose
    record says dissolved again later: neither is a dissolution (HTX_DISSOLVED's two conditions);
  * a declaration amended twice (Lần nộp 0, 1, 2: only 2 counts; the feed's tests stop at 1);
  * one declaration delivered twice, alike in Lần nộp and Ngày nộp: the later delivery counts;
  * a credit fund whose Q3 report was revised (the feed's tests check the view, not the marts);
  * a borrower with two contracts, counted once (and a repaid contract beside an open one).

Registry states arrive through the real pipeline (stand-in API → landing → GX → merge); the other
feeds' rows through their parsers and merge SQL, with the helpers of their own tests.
"""
from decimal import Decimal
from fractions import Fraction

from conftest import query
from htx import marts
from test_credit_fund_reports_merge import HUNG_DAO, MAO_KHE, load, registry_until, report
from test_registry_history import new_code, pulls, state  # noqa: F401  (pulls: a fixture)
from test_support_lending_core import C, contract, registry_reaching, stage_and_merge
from test_support_lending_parser import A, B, report_bytes
from test_tax_declarations_marts import declaration, merge_declarations, registry_state
from test_tax_declarations_merge import csv_bytes, deliver, suite, vat  # noqa: F401  (suite)

M = 10**6


def value(dsn, code, end, breakdown=""):
    rows = query(dsn, "SELECT value FROM mart.plan_indicator WHERE indicator_code = %s"
                      " AND breakdown = %s AND period_start = %s AND period_end = %s",
                 (code, breakdown, f"{end[:4]}-01-01", end))
    return rows[0][0] if rows else None


def members(dsn, code, end, breakdown=""):
    """{entity: contribution} behind one indicator value."""
    return dict(query(dsn, "SELECT entity_code, contribution FROM mart.plan_indicator_members"
                           " WHERE indicator_code = %s AND breakdown = %s AND period_start = %s"
                           " AND period_end = %s", (code, breakdown, f"{end[:4]}-01-01", end)))


def figures(dsn, end):
    """What an analyst would compare before and after a late change."""
    codes = ("HTX_TOTAL", "HTX_DISSOLVED", "HTX_MEMBERS", "HTX_NEW")
    return ({code: value(dsn, code, end) for code in codes},
            {code: members(dsn, code, end) for code in codes})


# --- registry -----------------------------------------------------------------------------------

def test_a_change_recorded_after_the_period_changes_it_only_when_dated_inside_it(warehouse, pulls):
    a, b, c = new_code(), new_code(), new_code()
    pulls(state(a, "dang_hoat_dong", "2020-01-01", "2024-10-02", members=10),
          state(b, "dang_hoat_dong", "2020-01-01", "2024-10-02", members=20),
          state(c, "dang_hoat_dong", "2020-01-01", "2024-10-02", members=30))
    september = figures(warehouse, "2024-09-30")
    assert september[0] == {"HTX_TOTAL": 3, "HTX_DISSOLVED": 0, "HTX_MEMBERS": 60, "HTX_NEW": 0}
    assert september[1]["HTX_TOTAL"] == {a: 1, b: 1, c: 1}

    # Recorded in November, dated after September: a dissolved on 15/10, b grew on 20/10.
    pulls(state(a, "da_giai_the", "2024-10-15", "2024-11-20", members=10),
          state(b, "dang_hoat_dong", "2024-10-20", "2024-11-20", members=99))
    assert figures(warehouse, "2024-09-30") == september
    assert value(warehouse, "HTX_TOTAL", "2024-10-31") == 2
    assert members(warehouse, "HTX_DISSOLVED", "2024-10-31") == {a: 1}
    assert members(warehouse, "HTX_MEMBERS", "2024-10-31") == {b: 99, c: 30}

    # Recorded in December, dated inside September: c dissolved on 10/09.
    pulls(state(c, "da_giai_the", "2024-09-10", "2024-12-02", members=30))
    values, entities = figures(warehouse, "2024-09-30")
    assert values == {"HTX_TOTAL": 2, "HTX_DISSOLVED": 1, "HTX_MEMBERS": 30, "HTX_NEW": 0}
    assert entities["HTX_TOTAL"] == {a: 1, b: 1} and entities["HTX_DISSOLVED"] == {c: 1}
    assert figures(warehouse, "2024-08-31")[1]["HTX_TOTAL"] == {a: 1, b: 1, c: 1}


def test_dissolved_or_registered_on_the_last_day_of_the_period(warehouse, pulls):
    d, e, f, group = new_code(), new_code(), new_code(), new_code()
    pulls(state(d, "dang_hoat_dong", "2020-01-01", "2024-01-05"),
          state(d, "da_giai_the", "2024-09-30", "2024-10-01"),
          state(e, "dang_hoat_dong", "2020-01-01", "2024-01-05"),
          state(f, "dang_hoat_dong", "2024-09-30", "2024-10-01", registered="2024-09-30"),
          # A cooperative group (THT) dissolved too: HTX_DISSOLVED counts cooperatives only.
          state(group, "dang_hoat_dong", "2020-01-01", "2024-01-05", entity_type="THT"),
          state(group, "da_giai_the", "2024-09-30", "2024-10-01", entity_type="THT"))
    assert members(warehouse, "HTX_TOTAL", "2024-09-30") == {e: 1, f: 1}
    assert members(warehouse, "HTX_DISSOLVED", "2024-09-30") == {d: 1}
    assert members(warehouse, "HTX_NEW", "2024-09-30") == {f: 1}
    assert members(warehouse, "HTX_TOTAL", "2024-08-31") == {d: 1, e: 1}
    assert members(warehouse, "HTX_NEW", "2024-08-31") == {}
    assert value(warehouse, "HTX_NEW", "2024-08-31") == 0
    assert members(warehouse, "HTX_TOTAL", "2024-10-31") == {e: 1, f: 1}
    assert members(warehouse, "HTX_DISSOLVED", "2024-10-31") == {d: 1}   # year to date


def test_a_dissolution_replaced_on_its_own_day_never_held(warehouse, pulls):
    g = new_code()
    pulls(state(g, "dang_hoat_dong", "2020-01-01", "2024-01-05"),
          state(g, "da_giai_the", "2024-03-10", "2024-03-11"),
          state(g, "dang_hoat_dong", "2024-03-10", "2024-03-12"))   # corrected the next day
    assert members(warehouse, "HTX_DISSOLVED", "2024-03-31") == {}
    assert value(warehouse, "HTX_DISSOLVED", "2024-03-31") == 0
    assert members(warehouse, "HTX_TOTAL", "2024-03-31") == {g: 1}


def test_a_cooperative_recorded_dissolved_again_is_dissolved_once(warehouse, pulls):
    h = new_code()
    pulls(state(h, "dang_hoat_dong", "2020-01-01", "2023-01-05"),
          state(h, "da_giai_the", "2023-11-10", "2023-11-11"),
          state(h, "da_giai_the", "2024-02-01", "2024-02-02", members=0))
    assert members(warehouse, "HTX_DISSOLVED", "2023-12-31") == {h: 1}
    assert members(warehouse, "HTX_DISSOLVED", "2024-02-29") == {}
    assert value(warehouse, "HTX_DISSOLVED", "2024-02-29") == 0


# --- tax declarations ---------------------------------------------------------------------------

def test_a_declaration_amended_twice_counts_in_its_second_amendment_only(warehouse):
    h1, h2 = "5701001057", "5701001064"
    for code in (h1, h2):
        registry_state(warehouse, code)
    vat, cit = "01/GTGT", "03/TNDN"
    # H1's March VAT: Lần nộp 0, then 2, then 1 (the first amendment delivered last).
    declaration(warehouse, h1, vat, "03/2024", 0, "15/04/2024", 100 * M)
    declaration(warehouse, h1, vat, "03/2024", 2, "10/06/2024", 90 * M)
    declaration(warehouse, h1, vat, "03/2024", 1, "20/05/2024", 150 * M)
    declaration(warehouse, h2, vat, "03/2024", 0, "15/04/2024", 300 * M)
    # H1's 2023 finalisation: 100, then 200, then a loss of 30 million.
    declaration(warehouse, h1, cit, "2023", 0, "25/03/2024", 9 * M, 100 * M)
    declaration(warehouse, h1, cit, "2023", 1, "20/04/2024", 9 * M, 200 * M)
    declaration(warehouse, h1, cit, "2023", 2, "20/05/2024", 9 * M, -30 * M)
    declaration(warehouse, h2, cit, "2023", 0, "25/03/2024", 9 * M, 50 * M)
    merge_declarations(warehouse)
    marts.refresh(dsn=warehouse)
    end = "2024-09-30"
    assert value(warehouse, "HTX_TAX_ACTIVE", end) == 2
    assert members(warehouse, "HTX_TAX_ACTIVE", end) == {h1: 1, h2: 1}
    # (90 + 300) million over 2 cooperatives, × 12 ÷ 9 months = 260 a year.
    assert value(warehouse, "HTX_AVG_REVENUE", end) == 260
    revenue = members(warehouse, "HTX_AVG_REVENUE", end)
    assert Fraction(revenue[h1]) == Fraction(90 * 12, 9) and revenue[h2] == 400
    assert value(warehouse, "HTX_AVG_PROFIT", end) == 10                 # (−30 + 50) ÷ 2
    assert members(warehouse, "HTX_AVG_PROFIT", end) == {h1: -30, h2: 50}
    # Every period that reads March reads its latest version, whenever the period closed.
    assert value(warehouse, "HTX_AVG_REVENUE", "2024-03-31") == 780   # (90 + 300) × 12 ÷ (2 × 3)


def test_one_declaration_delivered_twice_alike_counts_in_the_later_delivery(warehouse, suite):
    h = "5701001057"
    registry_state(warehouse, h)
    # Same taxpayer, form, period, Lần nộp and Ngày nộp, in two monthly files: a full tie.
    deliver(warehouse, "tax/to_khai_202404.csv",
            csv_bytes(vat(h, "03/2024", 0, "15/04/2024", "90.000.000")), suite)
    deliver(warehouse, "tax/to_khai_202405.csv",
            csv_bytes(vat(h, "03/2024", 0, "15/04/2024", "120.000.000")), suite)
    marts.refresh(dsn=warehouse)
    assert members(warehouse, "HTX_AVG_REVENUE", "2024-03-31") == {h: 480}   # 120 × 12 ÷ 3
    assert value(warehouse, "HTX_AVG_REVENUE", "2024-12-31") == 120           # 120 × 12 ÷ 12


# --- credit funds ---------------------------------------------------------------------------------

def test_a_revised_q3_report_replaces_the_original_in_every_period_that_reads_q3(warehouse):
    registry_until(warehouse, "2024-12-20")
    load(warehouse, report(HUNG_DAO, "2024-06-30", total=100, equity=10, deposits=80))
    load(warehouse, report(MAO_KHE, "2024-06-30", total=200, equity=20, deposits=150))
    load(warehouse, report(HUNG_DAO, "2024-09-30", total=110, equity=11, deposits=90, members=300))
    load(warehouse, report(MAO_KHE, "2024-09-30", total=300, equity=30, deposits=250, members=200))
    # Hưng Đạo revises its Q3 report in November (revision 1), after September has closed.
    load(warehouse, report(HUNG_DAO, "2024-09-30", revision=1, total=130, equity=13, deposits=100,
                           members=310, submitted="2024-11-05T09:00:00+07:00"),
         source_file="credit_funds/ban_sua/5700101348_2024Q3.json")
    marts.refresh(dsn=warehouse)
    for end in ("2024-09-30", "2024-10-31", "2024-11-30"):   # every period whose quarter is Q3
        assert value(warehouse, "QTDND_TOTAL", end) == 2, end           # the fund counts once
        assert members(warehouse, "QTDND_TOTAL", end) == {HUNG_DAO: 1, MAO_KHE: 1}, end
        assert value(warehouse, "QTDND_TOTAL_CAPITAL", end) == 430, end  # 130 + 300
        assert members(warehouse, "QTDND_TOTAL_CAPITAL", end) == {HUNG_DAO: 130, MAO_KHE: 300}
        assert value(warehouse, "QTDND_MEMBERS", end) == 510, end
    assert value(warehouse, "QTDND_EQUITY_SHARE", "2024-09-30") == 10     # 43 of 430
    assert value(warehouse, "QTDND_TOTAL_CAPITAL", "2024-08-31") == 300   # Q2, untouched


# --- support lending ------------------------------------------------------------------------------

def test_a_borrower_with_two_contracts_is_one_borrower(warehouse):
    registry_reaching(warehouse, "2024-12-20T10:00:00+07:00")
    details = [contract(1, A, "01", 500, 100), contract(2, A, "02", 300, 50),
               contract(3, B, "03", 200, 0), contract(4, B, "04", 100, 20),
               contract(5, C, "05", 400, 0)]
    stage_and_merge(warehouse, "lending/vbsp_202409.xlsx", report_bytes(details))
    marts.refresh(dsn=warehouse)
    end = "2024-09-30"
    assert value(warehouse, "LENDING_BORROWERS_OUTSTANDING", end) == 2   # A (twice) and B
    assert members(warehouse, "LENDING_BORROWERS_OUTSTANDING", end) == {A: 1, B: 1}
    assert value(warehouse, "LENDING_CONTRACTS", end) == 5
    assert members(warehouse, "LENDING_CONTRACTS", end) == {A: 2, B: 2, C: 1}
    assert members(warehouse, "LENDING_OUTSTANDING", end) == {A: 150, B: 20, C: 0}
    assert value(warehouse, "LENDING_OUTSTANDING", end) == Decimal(170)
