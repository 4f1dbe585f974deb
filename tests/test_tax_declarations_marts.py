"""The tax indicators (include/sql/marts/200_htx_tax.sql) on a small hand-made registry and
hand-made declarations, against values computed by hand here."""
from decimal import Decimal
from fractions import Fraction
from itertools import count

import pytest
from psycopg2 import sql

from conftest import query
from htx import db, marts, marts_incremental
from htx.feeds.config import FEEDS
from htx.feeds import tax_declarations as parser

H1, H2, H3, H4, H5 = "5701001057", "5701001064", "5701001071", "5701001089", "5701001096"
L1, U = "5701001106", "5701001113"   # a union of cooperatives; a code the registry does not know
M = 10**6
_rows = count(1)


def registry_state(dsn, code, *, entity_type="HTX", registered="2020-01-01", status="dang_hoat_dong",
                   since="2020-01-01", valid_to=None, recorded="2024-12-15"):
    query(dsn, """
        INSERT INTO core.registration_state (entity_code, updated_at, entity_type, name, main_vsic,
            locality_raw, locality_code, address, registered_on, status, status_since,
            charter_capital_vnd, members, valid_to, record_hash, batch_id, source_object, source_row)
        VALUES (%s, %s, %s, 'Hợp tác xã Thử', '0111', 'Hạ Long', 'ha_long', 'x', %s, %s, %s,
                1000000000, 10, %s, 'h', 0, 'test', 1)
        """, (code, f"{recorded}T10:00:00+07:00", entity_type, registered, status, since, valid_to))


def declaration(dsn, code, form, period, revision, filed, revenue=None, profit=None):
    """A declaration converted by the contract parser, staged in the test's one delivery (core
    gets it from the merge, as every declaration: merge_declarations)."""
    fields = [code, f"HTX {code}", form, period, str(revision), filed,
              "" if revenue is None else str(revenue), "" if profit is None else str(profit), "0"]
    row = parser.parse_fields(fields, list(parser.HEADERS.values()), "test", 1)
    assert not row.failures
    columns = [*parser.COLUMNS, "batch_id", "source_object", "source_row"]
    statement = sql.SQL("INSERT INTO staging.tax_declarations ({}) VALUES ({})").format(
        sql.SQL(", ").join(map(sql.Identifier, columns)),
        sql.SQL(", ").join(sql.Placeholder() * len(columns)))
    query(dsn, statement, [*(row.values[c] for c in parser.COLUMNS), delivery_batch(dsn), "test",
                           next(_rows)])


def delivery_batch(dsn) -> int:
    """The one tax delivery of the test (tax/test.csv), opened on first use."""
    query(dsn, "INSERT INTO audit.load_batch (feed, batch_key, source_object)"
               " VALUES ('tax_declarations', 'test', 'tax/test.csv') ON CONFLICT DO NOTHING")
    return query(dsn, "SELECT batch_id FROM audit.load_batch WHERE batch_key = 'test'")[0][0]


def merge_declarations(dsn):
    """The delivery staged by declaration(), merged into core by the feed's merge, after the step
    that records for the marts what it changes (as htx.pipeline.merge_into_core runs them)."""
    batch = delivery_batch(dsn)
    query(dsn, "UPDATE audit.load_batch SET status = 'staged' WHERE batch_id = %s", (batch,))
    conn = db.connect(dsn)
    try:
        with conn, conn.cursor() as cur:
            marts_incremental.record_merge(cur, FEEDS["tax_declarations"], batch)
            db.run_sql_file(cur, "merge/tax_declarations.sql", {"batch_id": batch})
    finally:
        conn.close()


@pytest.fixture
def warehouse_with_tax(warehouse):
    dsn = warehouse
    for code in (H1, H2, H3, H4):
        registry_state(dsn, code)
    registry_state(dsn, H5, valid_to="2024-06-01")                       # dissolved 1 June 2024
    registry_state(dsn, H5, status="da_giai_the", since="2024-06-01", recorded="2024-06-02")
    registry_state(dsn, L1, entity_type="LHHTX")
    vat, cit = "01/GTGT", "03/TNDN"
    # H1, monthly: January amended (only Lần nộp 1 counts); also 12/2023 and 10/2024.
    declaration(dsn, H1, vat, "01/2024", 0, "15/02/2024", 100 * M)
    declaration(dsn, H1, vat, "01/2024", 1, "20/03/2024", 120 * M)
    declaration(dsn, H1, vat, "09/2024", 0, "15/10/2024", 50 * M)
    declaration(dsn, H1, vat, "10/2024", 0, "15/11/2024", 999 * M)
    declaration(dsn, H1, vat, "12/2023", 0, "15/01/2024", 777 * M)
    # H2, quarterly: Q3 lies within January–September, not within January–August.
    declaration(dsn, H2, vat, "Q3/2024", 0, "20/10/2024", 300 * M)
    # H3 files only through its branches.
    declaration(dsn, f"{H3}-001", vat, "02/2024", 0, "15/03/2024", 40 * M)
    declaration(dsn, f"{H3}-002", vat, "03/2024", 0, "15/04/2024", 10 * M)
    # H4 files nothing for 2024. H5 filed for January, then was dissolved.
    declaration(dsn, H5, vat, "01/2024", 0, "15/02/2024", 500 * M)
    # Never counted: a union, and a code the registry does not know.
    declaration(dsn, L1, vat, "01/2024", 0, "15/02/2024", 1000 * M)
    declaration(dsn, U, vat, "01/2024", 0, "15/02/2024", 1000 * M)
    # Annual CIT finalisations (03/TNDN).
    declaration(dsn, H1, cit, "2023", 0, "25/03/2024", 9 * M, 100 * M)
    declaration(dsn, H1, cit, "2023", 1, "20/04/2024", 9 * M, 200 * M)
    declaration(dsn, H2, cit, "2023", 0, "25/03/2024", 9 * M, -50 * M)
    declaration(dsn, H3, cit, "2023", 0, "25/03/2024", 9 * M, 10 * M)
    declaration(dsn, f"{H3}-001", cit, "2023", 0, "25/03/2024", 9 * M, 30 * M)
    declaration(dsn, H5, cit, "2023", 0, "25/03/2024", 9 * M, 900 * M)
    declaration(dsn, U, cit, "2023", 0, "25/03/2024", 9 * M, 5000 * M)
    declaration(dsn, H1, cit, "2024", 0, "25/03/2025", 9 * M, 60 * M)
    declaration(dsn, H4, cit, "2022", 0, "25/03/2023", 9 * M, 70 * M)
    merge_declarations(dsn)
    marts.refresh(dsn=dsn)
    return dsn


def value(dsn, code, start, end):
    rows = query(dsn, "SELECT value, unit FROM mart.plan_indicator WHERE indicator_code = %s"
                      " AND breakdown = '' AND period_start = %s AND period_end = %s",
                 (code, start, end))
    return rows[0] if rows else None


def exactly(found, fraction: Fraction) -> bool:
    """Equal to the fraction up to numeric division's last digit (nothing rounded before it)."""
    return abs(Fraction(found) - fraction) < Fraction(1, 10**15)


def test_january_to_september_counts_latest_versions_inside_the_period(warehouse_with_tax):
    dsn, p = warehouse_with_tax, ("2024-01-01", "2024-09-30")
    assert value(dsn, "HTX_TOTAL", *p)[0] == 4                    # H5 dissolved in June
    assert value(dsn, "HTX_TAX_ACTIVE", *p) == (3, "count")        # H1, H2, H3 (via its branches)
    assert value(dsn, "HTX_NOT_ACTIVE", *p) == (1, "count")        # H4
    assert value(dsn, "HTX_NOT_ACTIVE_SHARE", *p) == (25, "percent")
    # (120 + 50 + 300 + 40 + 10) million over 3 cooperatives, × 12 ÷ 9 months.
    found, unit = value(dsn, "HTX_AVG_REVENUE", *p)
    assert unit == "trieu_dong" and exactly(found, Fraction(520 * 12, 3 * 9))
    # 2023 profits: H1 200 (amended), H2 −50, H3 10 + 30 (branch); H5 is no longer counted.
    found, unit = value(dsn, "HTX_AVG_PROFIT", *p)
    assert unit == "trieu_dong" and exactly(found, Fraction(190, 3))


def test_a_quarter_not_entirely_within_the_period_does_not_count(warehouse_with_tax):
    dsn, p = warehouse_with_tax, ("2024-01-01", "2024-08-31")
    assert value(dsn, "HTX_TAX_ACTIVE", *p)[0] == 2               # H1, H3; H2's Q3 ends in September
    assert value(dsn, "HTX_AVG_REVENUE", *p)[0] == Decimal("127.5")  # 170 × 12 ÷ (2 × 8)


def test_a_cooperative_counts_while_it_is_in_htx_total(warehouse_with_tax):
    dsn, p = warehouse_with_tax, ("2024-01-01", "2024-05-31")
    assert value(dsn, "HTX_TOTAL", *p)[0] == 5
    assert value(dsn, "HTX_TAX_ACTIVE", *p)[0] == 3               # H1, H3, H5
    assert value(dsn, "HTX_AVG_REVENUE", *p)[0] == 536             # 670 × 12 ÷ (3 × 5)
    assert value(dsn, "HTX_AVG_PROFIT", *p)[0] == Decimal("272.5")  # (200 − 50 + 40 + 900) ÷ 4


def test_the_full_year_counts_its_own_months_and_its_own_finalisation(warehouse_with_tax):
    dsn, p = warehouse_with_tax, ("2024-01-01", "2024-12-31")
    assert value(dsn, "HTX_TAX_ACTIVE", *p)[0] == 3
    assert exactly(value(dsn, "HTX_AVG_REVENUE", *p)[0], Fraction(1519 * 12, 3 * 12))
    # A calendar year that has ended by the end of P is "the last full calendar year" for it.
    assert value(dsn, "HTX_AVG_PROFIT", *p)[0] == 60


def test_earlier_years_use_their_own_declarations(warehouse_with_tax):
    dsn = warehouse_with_tax
    assert value(dsn, "HTX_TAX_ACTIVE", "2023-01-01", "2023-12-31")[0] == 1   # H1's 12/2023
    assert value(dsn, "HTX_AVG_REVENUE", "2023-01-01", "2023-12-31")[0] == 777
    assert value(dsn, "HTX_AVG_PROFIT", "2023-01-01", "2023-12-31")[0] == Decimal("272.5")
    # Years before the latest two (the data reach March 2025) have their full year only.
    assert value(dsn, "HTX_AVG_PROFIT", "2023-01-01", "2023-09-30") is None
    assert value(dsn, "HTX_AVG_PROFIT", "2022-01-01", "2022-12-31")[0] == 70  # year 2022: H4


def test_averages_have_no_row_when_nobody_filed(warehouse_with_tax):
    dsn, p = warehouse_with_tax, ("2021-01-01", "2021-12-31")
    assert value(dsn, "HTX_TAX_ACTIVE", *p) == (0, "count")
    assert value(dsn, "HTX_NOT_ACTIVE", *p) == (5, "count")
    assert value(dsn, "HTX_NOT_ACTIVE_SHARE", *p) == (100, "percent")
    assert value(dsn, "HTX_AVG_REVENUE", *p) is None
    assert value(dsn, "HTX_AVG_PROFIT", *p) is None                # nobody filed for 2021


def test_reporting_periods_are_bounded_to_the_plan_years_and_a_window(warehouse_with_tax,
                                                                      monkeypatch):
    """Month by month for the latest two years with data (2025, reached by a filing of
    25/03/2025, and 2024); earlier years of the window as full years; none before the data."""
    dsn = warehouse_with_tax

    def periods():
        return [(str(start), str(end)) for start, end in query(
            dsn, "SELECT period_start, period_end FROM mart.reporting_period ORDER BY 2")]

    full_years = [(f"{y}-01-01", f"{y}-12-31") for y in (2020, 2021, 2022, 2023)]
    months_2024 = [("2024-01-01", end) for end in ("2024-01-31", "2024-02-29", "2024-03-31",
                   "2024-04-30", "2024-05-31", "2024-06-30", "2024-07-31", "2024-08-31",
                   "2024-09-30", "2024-10-31", "2024-11-30", "2024-12-31")]
    months_2025 = [("2025-01-01", end) for end in ("2025-01-31", "2025-02-28", "2025-03-31")]
    assert periods() == full_years + months_2024 + months_2025   # registered from 2020
    monkeypatch.setenv("HTX_REPORTING_YEARS", "3")
    marts.refresh(dsn=dsn)
    assert periods() == full_years[-1:] + months_2024 + months_2025
    monkeypatch.setenv("HTX_REPORTING_YEARS", "1")
    with pytest.raises(ValueError, match="HTX_REPORTING_YEARS"):
        marts.refresh(dsn=dsn)


def test_every_reporting_period_has_the_counts(warehouse_with_tax):
    dsn = warehouse_with_tax
    periods = query(dsn, "SELECT count(*) FROM mart.reporting_period")[0][0]
    counted = query(dsn, "SELECT indicator_code, count(*) FROM mart.plan_indicator"
                         " WHERE indicator_code IN ('HTX_TAX_ACTIVE', 'HTX_NOT_ACTIVE',"
                         " 'HTX_NOT_ACTIVE_SHARE') GROUP BY 1 ORDER BY 1")
    assert counted == [("HTX_NOT_ACTIVE", periods), ("HTX_NOT_ACTIVE_SHARE", periods),
                       ("HTX_TAX_ACTIVE", periods)]
