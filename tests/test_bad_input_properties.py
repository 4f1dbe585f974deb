"""Property tests: generated deliveries, in each feed's own format, full of hostile strings and
numbers, go through the contract parser, the expectation suite and the real staging step (COPY
into a real warehouse, rolled back after each example).

Whatever hypothesis generates: the file is rejected whole with a message naming it, or every row
is accounted for — rows in = loaded + quarantined, each quarantined row naming its field — and no
row with an invalid tax code (MST) is ever loaded. Nothing else may happen (no other exception).
"""
from __future__ import annotations

import csv
import importlib
import io
import json
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg2 import sql
from stdnum.vn import mst

from faults_support import fresh_warehouse, valid_codes
from htx import db, pipeline
from htx.feeds.common import RejectedObject
from htx.feeds.config import FEEDS
from htx.feeds.kit import batch_check_of
from htx.reference import indicator_catalogue

EXAMPLES = settings(max_examples=20, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
CODES = valid_codes(40, start=7000)
# The code column each feed's rows are keyed by, and what a loaded row must carry there: a valid
# MST, or (plan targets) an indicator code of the catalogue.
CODE_COLUMN = {"tax_declarations": "tax_code", "annual_reports": "entity_code",
               "registrations": "entity_code", "credit_fund_reports": "fund_code",
               "support_lending": "htx_code", "plan_targets": "indicator_code"}
VALID_CODE = {"plan_targets": lambda code: code in indicator_catalogue()}

HOSTILE = ["'; DROP TABLE core.tax_declaration; --", "Robert'); DELETE FROM audit.load_batch;--",
           '"', "'", ";", ",", "\n", "\r\n", "\t", "🌾👩‍🌾", "Đ" * 10_000, "\x1b[31m", "\x07",
           "1.2.3", "12.34", "31/02/2024", "29/02/2023", "-0", "9" * 30, "NULL", "\\N", "\\",
           "\u202e", "\ufeff", "Q5/2024", "13/2024"]
text = st.one_of(st.sampled_from(HOSTILE), st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=30))
not_blank = text.filter(lambda s: s.strip())


def mutated(code: str) -> str:
    """The code with its check digit changed: an invalid MST of the right shape."""
    return code[:9] + str((int(code[9]) + 1) % 10)


def vn_number(n: int) -> str:
    return f"{n:,}".replace(",", ".")


amount_vn = st.one_of(st.integers(-10**20, 10**20).map(vn_number), text)
day = st.dates(date(1900, 1, 1), date(2100, 12, 31))
dd_mm_yyyy = st.one_of(day.map(lambda d: d.strftime("%d/%m/%Y")), text)
count = st.one_of(st.integers(-10, 3 * 10**9).map(str), text)


def csv_bytes(header, rows, delimiter) -> bytes:
    out = io.StringIO()
    # CRLF line ends: the writer then quotes every field holding a \r or a \n.
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


@pytest.fixture(scope="module")
def stager():
    """Stage one generated delivery as the pipeline does, inside a transaction rolled back
    afterwards; returns what happened."""
    from htx.validation import SuiteRunner

    runners: dict = {}
    loaded: dict = {}   # feed → rows loaded, rows quarantined over all its examples
    with fresh_warehouse() as dsn:
        def stage(feed_name: str, raw: bytes, source_object: str, rows_in: int) -> None:
            feed = FEEDS[feed_name]
            parser = importlib.import_module(feed.parser_module)
            totals = loaded.setdefault(feed_name, [0, 0])
            try:
                rows = list(parser.parse_object(raw, source_object))
            except RejectedObject as err:
                assert str(err).endswith(" — " + source_object)  # the reason, then the file
                return
            assert len(rows) == rows_in, "the parser yields every delivered row"
            check = batch_check_of(feed)
            if check is not None and check(rows, source_object):
                return  # the feed's table-level rule failed: the batch is rejected whole
            runner = runners.setdefault(feed_name, SuiteRunner(feed_name))
            runner.reset()
            conn = db.connect(dsn, role=db.LOADER_ROLE)
            try:
                with conn.cursor() as cur:
                    try:
                        counts = pipeline._stage_chunk(cur, feed, parser, runner, 0, rows)
                    except pipeline.BatchRejected:
                        return  # a table-level rule failed: the batch is rejected whole
                    cur.execute(sql.SQL("SELECT {} FROM {}").format(
                        sql.Identifier(CODE_COLUMN[feed_name]), db.qualified(feed.staging_table)))
                    staged = [code.strip() for (code,) in cur.fetchall()]
                    cur.execute(sql.SQL("SELECT failures FROM {}").format(
                        db.qualified(feed.quarantine_table)))
                    quarantined = [failures for (failures,) in cur.fetchall()]
            finally:
                conn.rollback()
                conn.close()
            assert (counts.rows_in, counts.rows_loaded, counts.rows_quarantined) == (
                rows_in, len(staged), len(quarantined))
            assert len(staged) + len(quarantined) == rows_in
            assert all(VALID_CODE.get(feed_name, mst.is_valid)(code) for code in staged), staged
            assert all(f and all(x["field"] for x in f) for f in quarantined)
            totals[0] += len(staged)
            totals[1] += len(quarantined)
        yield stage
    # A parser rejecting every delivery (or a suite quarantining every row, or none) would pass
    # each example above: the deliveries, mostly plausible, must load rows and quarantine rows.
    assert {feed: all(counts) for feed, counts in loaded.items()} == {f: True for f in loaded}, loaded


def spoiled(valid: list, bad) -> st.SearchStrategy:
    """A valid record (a list of field strategies) with up to two fields replaced by `bad`
    values: most rows are plausible, so loading and quarantining are both exercised."""
    @st.composite
    def build(draw):
        values = [draw(field) for field in valid]
        for position in draw(st.sets(st.integers(0, len(values) - 1), max_size=2)):
            values[position] = draw(bad)
        return values
    return build()


# A code is a valid MST, the same code with a wrong check digit, or a branch code (valid).
valid_mst = st.sampled_from(CODES)
invalid_mst = st.sampled_from(CODES).map(mutated)
mst_or_not = st.one_of(valid_mst, valid_mst, invalid_mst, valid_mst.map(lambda c: c + "-001"))
code = st.one_of(valid_mst, valid_mst, invalid_mst)  # two in three valid
small = st.integers(0, 500)


@st.composite
def tax_declaration(draw):
    vat = draw(st.booleans())
    fields = [mst_or_not, text, st.just("01/GTGT" if vat else "03/TNDN"),
              st.sampled_from(["09/2024", "Q3/2024"] if vat else ["2023"]),
              st.integers(0, 3).map(str), day.map(lambda d: d.strftime("%d/%m/%Y")),
              st.integers(0, 10**12).map(vn_number),
              st.just("") if vat else st.integers(-10**9, 10**9).map(vn_number),
              st.integers(0, 10**9).map(vn_number)]
    return draw(spoiled(fields, st.one_of(text, amount_vn, dd_mm_yyyy)))


@EXAMPLES
@given(rows=st.lists(tax_declaration(), min_size=1, max_size=6))
def test_tax_declarations_never_lose_a_row_nor_load_a_bad_mst(stager, rows):
    from htx.feeds.tax_declarations import HEADERS

    rows = [[r[0].strip() or "x", *r[1:]] for r in rows]  # a row is never entirely blank
    stager("tax_declarations", csv_bytes(list(HEADERS), rows, ";"), "tax/to_khai_202409.csv",
           len(rows))


@st.composite
def annual_report(draw):
    workers, managers = draw(small), draw(small)
    vocational = draw(st.integers(0, managers))
    fields = [code, st.integers(2000, 2100), small, st.just(workers), st.integers(0, workers),
              st.integers(0, 10**12), st.just(managers), st.just(vocational),
              st.integers(0, managers - vocational)]
    return [str(v) for v in draw(spoiled(fields, count))]


@EXAMPLES
@given(rows=st.lists(annual_report(), min_size=1, max_size=6))
def test_annual_reports_never_lose_a_row_nor_load_a_bad_mst(stager, rows):
    from htx.feeds.annual_reports import HEADERS

    rows = [[r[0].strip() or "x", *r[1:]] for r in rows]
    stager("annual_reports", csv_bytes(list(HEADERS), rows, ","),
           "annual_reports/bao_cao_nam_2023.csv", len(rows))


json_value = st.one_of(text, st.integers(-2**70, 2**70), st.floats(), st.none(), st.booleans(),
                       st.lists(st.integers(), max_size=2))
timestamp = st.datetimes(datetime(2000, 1, 1), datetime(2030, 1, 1)).map(
    lambda d: d.replace(tzinfo=timezone(timedelta(hours=7))).isoformat())
iso_day = day.map(date.isoformat)
ENTITY_KEYS = ["entity_code", "entity_type", "name", "main_vsic", "locality", "address",
               "registered_on", "status", "status_since", "charter_capital_vnd", "members",
               "legal_representative", "updated_at"]
entity = spoiled([
    code,
    st.sampled_from(["HTX", "LHHTX", "THT"]), text, st.sampled_from(["0111", "4632", "1010"]),
    st.sampled_from(["Hạ Long", "Uông Bí", "TP. Cẩm Phả"]), text, iso_day,
    st.sampled_from(["dang_hoat_dong", "da_giai_the", "tam_ngung_kinh_doanh"]), iso_day,
    st.integers(0, 10**13), st.integers(0, 10**5),
    st.fixed_dictionaries({"full_name": text, "id_number": st.from_regex(r"\A[0-9]{12}\Z")}),
    timestamp], json_value).map(lambda values: dict(zip(ENTITY_KEYS, values)))


@EXAMPLES
@given(items=st.lists(entity, min_size=1, max_size=6))
def test_registration_pages_never_lose_an_item_nor_load_a_bad_mst(stager, items):
    page = json.dumps({"items": items, "next_page_token": None}, ensure_ascii=False)
    stager("registrations", page.encode("utf-8"), "registrations/page-00001.json", len(items))


REPORT_KEYS = ["fund_code", "fund_name", "period_end", "revision", "submitted_at",
               "balance_sheet.total_capital", "balance_sheet.equity", "balance_sheet.deposits",
               "balance_sheet.loans_outstanding", "balance_sheet.npl", "members",
               "members_pending", "employees", "income_ytd.revenue",
               "income_ytd.revenue_from_members", "income_ytd.profit", "dividend_rate_pct",
               "avg_employee_income_month"]
money = st.integers(0, 10**9)  # JSON numbers (the parser reads them as exact decimals)


@st.composite
def credit_fund_report(draw):
    equity, deposits, npl = draw(money), draw(money), draw(money)
    fields = [code, text, st.sampled_from(["2024-09-30"]), st.integers(0, 3), timestamp,
              st.just(equity + deposits + draw(money)), st.just(equity), st.just(deposits),
              st.just(npl + draw(money)), st.just(npl), small, small, small, money, money,
              st.one_of(money, money.map(lambda m: -m)), money, money]
    values = dict(zip(REPORT_KEYS, draw(spoiled(fields, json_value))))
    report = {"unit": "trieu_dong", "balance_sheet": {}, "income_ytd": {}}
    for key, value in values.items():
        section, _, name = key.rpartition(".")
        (report[section] if section else report)[name] = value
    return report


@EXAMPLES
@given(report=credit_fund_report())
def test_credit_fund_reports_never_lose_a_report_nor_load_a_bad_mst(stager, report):
    code = report["fund_code"]
    named = code if isinstance(code, str) and code.isdigit() and len(code) == 10 else CODES[0]
    raw = json.dumps(report, ensure_ascii=False, default=str).encode("utf-8")
    stager("credit_fund_reports", raw, f"credit_funds/{named}_2024Q3.json", 1)


def xlsx_text(value):
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value


cell = st.one_of(text.map(xlsx_text), st.integers(-10**6, 10**12), st.none(),
                 dd_mm_yyyy.map(xlsx_text))


@st.composite
def loan(draw):
    disbursed = draw(st.dates(date(2015, 1, 1), date(2024, 9, 30)))
    amount = draw(st.integers(1, 10**6))
    fields = [st.integers(1, 999), code,
              text.map(xlsx_text).filter(lambda s: s.strip()),
              st.integers(0, 10**6).map(lambda n: f"{n}/HĐTD"),
              st.just(datetime(disbursed.year, disbursed.month, disbursed.day)), st.just(amount),
              st.integers(0, amount), st.integers(1, 5),
              st.just(datetime(disbursed.year + 3, disbursed.month, min(disbursed.day, 28)))]
    values = draw(spoiled(fields, cell))
    for amount_position in (5, 6):  # text in an amount cell rejects the file: keep numbers
        if not isinstance(values[amount_position], int):
            values[amount_position] = 0
    return values


@EXAMPLES
@given(details=st.lists(loan(), min_size=1, max_size=6))
def test_lending_reports_never_lose_a_contract_nor_load_a_bad_mst(stager, details):
    import openpyxl

    from htx.feeds.support_lending import HEADERS

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "BaoCao"
    sheet["A2"], sheet["A3"] = "Đến ngày 30/09/2024", "Đơn vị: triệu đồng"
    sheet["A4"], sheet["C4"] = "Tổng nguồn vốn ủy thác:", 40341
    for column, header in enumerate(HEADERS, start=1):
        sheet.cell(6, column, header)
    for row in details:
        sheet.append(list(row))
    sheet.append([None, None, "Tổng cộng", None, None, sum(r[5] for r in details),
                  sum(r[6] for r in details)])
    buffer = io.BytesIO()
    book.save(buffer)
    stager("support_lending", buffer.getvalue(), "lending/vbsp_202409.xlsx", len(details))


@st.composite
def target(draw):
    """A target row: its STT numbered (so that the contract counts it), its other cells spoiled."""
    fields = [text.map(xlsx_text), text.map(xlsx_text),
              st.sampled_from(["HTX_TOTAL", "HTX_NEW", "HTX_SECTOR_SHARE", "THT_TOTAL"]),
              st.sampled_from(["", "sector=nong_nghiep", "locality=193", "locality=06652"]),
              st.one_of(st.integers(0, 10**6), st.integers(0, 10**6).map(vn_number))]
    return [draw(st.integers(1, 99)), *draw(spoiled(fields, cell))]


@EXAMPLES
@given(rows=st.lists(target(), min_size=1, max_size=6))
def test_plan_target_annexes_never_lose_a_row_nor_load_an_unknown_code(stager, rows):
    import openpyxl

    from htx.feeds.plan_targets import HEADERS

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "ChiTieu"
    sheet["A1"] = "CHỈ TIÊU KẾ HOẠCH PHÁT TRIỂN KINH TẾ TẬP THỂ, HỢP TÁC XÃ NĂM 2025"
    sheet["A2"] = "(Kèm theo Kế hoạch số 247/KH-UBND ngày 25/10/2024 của UBND tỉnh Quảng Ninh)"
    for column, header in enumerate([*HEADERS, "Kế hoạch năm 2025"], start=1):
        sheet.cell(4, column, header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    stager("plan_targets", buffer.getvalue(), "plan_targets/chi_tieu_2025.xlsx", len(rows))
