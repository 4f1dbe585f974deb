"""Every file of the bad-input corpus (tests/corpus/<feed>/, written by its make_corpus.py)
through its feed's real pipeline — landing, contract parser, Great Expectations suite, COPY into
staging, merge — against a real warehouse.

Each file gets exactly what it must: a whole-file rejection whose message gives the reason
(the column, line or limit at fault) and then names the file, or its bad rows quarantined naming
row and field while the rest load. Nothing crashes with another exception; hostile values (SQL,
quotes, control characters, 10,000 characters, emoji) are stored verbatim, never executed.
Inputs beyond the limits of htx.limits (make_corpus.LARGE: a 64 MiB line, a zip bomb …) are
written at test time and go through the same path, under the settings `make demo` uses.
The other files of a feed's folder are the hand-made files its parser test reads: every file there
is read by some test, here or by name in tests/test_<feed>_parser.py.
"""
from __future__ import annotations

import ast
import os
import shutil
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from psycopg2 import sql

from conftest import as_dags_login, query
from faults_support import fresh_warehouse
from htx import db, pipeline
from htx.feeds.config import FEEDS

TESTS = Path(__file__).parent
CORPUS = TESTS / "corpus"
sys.path.insert(0, str(CORPUS))
import make_corpus as made  # noqa: E402  (the corpus's own hostile values and codes)

# Where each feed's source drops a file (every corpus file is delivered under such a name).
DROP_AS = {
    "tax_declarations": "tax/to_khai_{stem}.csv",
    "annual_reports": "annual_reports/bao_cao_nam_{stem}.csv",
    "support_lending": "lending/vbsp_{stem}.xlsx",
    # The file name must name the report's fund and quarter (or the report is quarantined).
    "credit_fund_reports": f"credit_funds/{made.A}_2024Q3.json",
    # The file name carries the plan year, which the title must repeat.
    "plan_targets": "plan_targets/chi_tieu_2025.xlsx",
}


@dataclass(frozen=True)
class Rejected:
    says: str                  # besides the file's name


@dataclass(frozen=True)
class Staged:
    loaded: int
    quarantined: dict = field(default_factory=dict)   # source_row → the fields named


EXPECTED = {
    # feed 2 — tax declarations (CSV ;)
    "tax_declarations/truncated.csv": Staged(3, {5: {"row"}}),
    "tax_declarations/truncated_in_quotes.csv": Staged(3, {5: {"row"}}),
    "tax_declarations/empty.csv": Rejected("the file is empty"),
    "tax_declarations/header_only.csv": Rejected("holds no declaration rows"),
    "tax_declarations/wrong_delimiter.csv": Rejected("the header row looks ','-separated"),
    "tax_declarations/column_renamed.csv": Rejected(
        "schema drift: missing column(s) 'Doanh thu'; unexpected column(s) 'Tổng doanh thu'"),
    "tax_declarations/column_missing.csv": Rejected(
        "schema drift: missing column(s) 'Số thuế phải nộp'"),
    "tax_declarations/extra_column.csv": Rejected("schema drift: unexpected column(s) 'Ghi chú'"),
    "tax_declarations/cp1258_with_utf8_bom.csv": Rejected("starts with a UTF-8 BOM but is not UTF-8"),
    "tax_declarations/utf8_invalid_bytes.csv": Rejected(
        "UTF-8 up to line 4, where byte(s) b'\\xff' at offset"),
    "tax_declarations/nul_byte.csv": Rejected("holds NUL bytes"),
    "tax_declarations/duplicate_rows.csv": Staged(3),
    "tax_declarations/out_of_order_revisions.csv": Staged(3),
    "tax_declarations/hostile_values.csv": Staged(6, {
        8: {"revenue_vnd"}, 9: {"filed_on"}, 10: {"tax_code"}, 11: {"revenue_vnd"},
        12: {"form_code"}, 13: {"period_raw"}, 14: {"tax_code"}, 15: {"revision"}}),
    "tax_declarations/cr_line_ends.csv": Staged(3),
    "tax_declarations/cr_line_ends_8mib.csv": Staged(made.CR_ROWS),   # beyond HTX_BULK_MIN_BYTES
    "tax_declarations/header_field_200kib_8mib.csv": Rejected(
        "a CSV row longer than the limit of 131,072 characters (HTX_MAX_CSV_LINE_CHARS), from line 1"),
    "tax_declarations/one_line_64mib.csv": Rejected(
        "a CSV row longer than the limit of 131,072 characters (HTX_MAX_CSV_LINE_CHARS), from line 1"),
    # feed 5 — annual reports (CSV ,)
    "annual_reports/truncated.csv": Staged(3, {5: {"row"}}),
    "annual_reports/truncated_in_quotes.csv": Rejected("malformed CSV at line 5"),
    "annual_reports/empty.csv": Rejected("empty file"),
    "annual_reports/header_only.csv": Rejected("header only"),
    "annual_reports/wrong_delimiter.csv": Rejected("not comma-separated: the header is separated by ';'"),
    "annual_reports/column_renamed.csv": Rejected(
        "missing column(s): workers; unexpected column(s): lao_dong"),
    "annual_reports/column_missing.csv": Rejected("missing column(s): managers_college_plus"),
    "annual_reports/extra_column.csv": Rejected("unexpected column(s): ghi_chu"),
    "annual_reports/cp1258_with_utf8_bom.csv": Rejected("not UTF-8 text (line 2)"),
    "annual_reports/utf8_invalid_bytes.csv": Rejected("not UTF-8 text (line 4)"),
    "annual_reports/duplicate_rows.csv": Staged(3),   # a warning: the later row counts
    "annual_reports/hostile_values.csv": Staged(1, {
        3: {"entity_code"}, 4: {"members"}, 5: {"workers"}, 6: {"members"}, 7: {"entity_code"},
        8: {"report_year"}, 9: {"avg_income_per_worker_vnd"}, 10: {"member_workers"},
        11: {"entity_code"}, 12: {"entity_code"}}),
    "annual_reports/long_row.csv": Rejected(
        "a CSV row longer than the limit of 131,072 characters (HTX_MAX_CSV_LINE_CHARS), from line 3"),
    "annual_reports/over_32mib.csv": Rejected(
        "larger than the limit of 33,554,432 bytes (HTX_MAX_ANNUAL_REPORTS_BYTES)"),
    # feed 3 — support lending (XLSX)
    "support_lending/zero_bytes.xlsx": Rejected("the file is empty (0 bytes), not an XLSX workbook"),
    "support_lending/truncated.xlsx": Rejected("not a readable XLSX workbook"),
    "support_lending/not_xlsx.xlsx": Rejected("not a readable XLSX workbook"),
    "support_lending/sheet_renamed.xlsx": Rejected(
        "no sheet 'BaoCao'; the workbook's sheets are: 'Bao cao T9'"),
    "support_lending/column_renamed.xlsx": Rejected("row 6 lacks the column(s) 'Dư nợ'"),
    "support_lending/column_missing.xlsx": Rejected("row 6 lacks the column(s) 'Ngày đến hạn'"),
    "support_lending/extra_column.xlsx": Staged(3),   # columns are found by name; others ignored
    "support_lending/totals_mismatch.xlsx": Rejected(
        "Số tiền giải ngân: file total 301, sum of the 3 detail rows 300"),
    "support_lending/duplicate_rows.xlsx": Staged(2, {8: {"contract_no"}}),
    "support_lending/hostile_values.xlsx": Staged(5, {
        11: {"disbursed_on"}, 12: {"htx_code"}, 14: {"debt_group"}}),
    # feed 6 — plan targets (XLSX)
    "plan_targets/zero_bytes.xlsx": Rejected("the file is empty (0 bytes), not an XLSX workbook"),
    "plan_targets/truncated.xlsx": Rejected("not a readable XLSX workbook"),
    "plan_targets/not_xlsx.xlsx": Rejected("not a readable XLSX workbook"),
    "plan_targets/sheet_renamed.xlsx": Rejected(
        "no sheet 'ChiTieu'; the workbook's sheets are: 'Phu bieu 02'"),
    "plan_targets/column_renamed.xlsx": Rejected("row 4 lacks the column(s) 'Mã chỉ tiêu'"),
    "plan_targets/title_year.xlsx": Rejected(
        "the title's year 2024 (row 1) is not the file name's year 2025"),
    "plan_targets/sections_only.xlsx": Rejected("no target row below the headers of row 4"),
    "plan_targets/hostile_values.xlsx": Staged(4, {
        9: {"indicator_code"}, 10: {"target"}, 11: {"breakdown"}, 12: {"target"},
        13: {"target"}, 14: {"breakdown"}, 15: {"breakdown"}}),
    "support_lending/cell_at_xfd.xlsx": Rejected(
        "a value in cell XFD7, beyond the limit of 256 columns (HTX_MAX_XLSX_COLUMNS)"),
    "support_lending/row_beyond_limit.xlsx": Rejected(
        "a value in cell C100001, beyond the limit of 100,000 rows (HTX_MAX_XLSX_ROWS)"),
    "support_lending/doctype_entities.xlsx": Rejected("an XML part declares a DOCTYPE"),
    "support_lending/zip_sizes_lie.xlsx": Rejected("not a readable XLSX workbook (BadZipFile: Bad CRC-32"),
    "support_lending/zip_bomb.xlsx": Rejected(
        f"unzipped, the workbook would take {made.zip_bomb_unzipped_bytes():,} bytes, beyond the"
        " limit of 67,108,864 bytes (HTX_MAX_XLSX_UNCOMPRESSED_BYTES)"),
    "support_lending/over_32mib.xlsx": Rejected(
        "larger than the limit of 33,554,432 bytes (HTX_MAX_XLSX_BYTES)"),
    # feed 4 — credit fund reports (JSON)
    "credit_fund_reports/empty.json": Rejected("not JSON"),
    "credit_fund_reports/truncated.json": Rejected("not JSON: Unterminated string"),
    "credit_fund_reports/not_an_object.json": Rejected("not a JSON object"),
    "credit_fund_reports/column_missing.json": Rejected("missing contract key(s): balance_sheet.npl"),
    "credit_fund_reports/column_renamed.json": Rejected("missing contract key(s): members"),
    "credit_fund_reports/extra_column.json": Staged(1),  # unknown keys are ignored
    "credit_fund_reports/cp1258_with_utf8_bom.json": Rejected("not UTF-8 text"),
    "credit_fund_reports/hostile_values.json": Staged(1),
    "credit_fund_reports/nul_in_text.json": Staged(0, {1: {"fund_name"}}),
    "credit_fund_reports/hostile_numbers.json": Staged(0, {1: {
        "members", "employees", "period_end", "submitted_at", "balance_sheet.equity"}}),
    "credit_fund_reports/nested_50000_deep.json": Rejected(
        "nested deeper than the limit of 32 levels (HTX_MAX_JSON_DEPTH)"),
    "credit_fund_reports/number_5000_digits.json": Rejected(
        "a number of 5,000 characters (99999999999999999999…), beyond the limit of 1,000"
        " characters (HTX_MAX_JSON_NUMBER_CHARS)"),
    "credit_fund_reports/over_4mib.json": Rejected(
        "larger than the limit of 4,194,304 bytes (HTX_MAX_JSON_BYTES)"),
    # feed 1 — registration API pages (JSON)
    "registrations/empty.json": Rejected("not a JSON page"),
    "registrations/truncated.json": Rejected("not a JSON page: Unterminated string"),
    "registrations/not_a_page.json": Rejected("page has no 'items' list"),
    "registrations/cp1258_with_utf8_bom.json": Rejected("not a JSON page"),
    "registrations/duplicate_items.json": Staged(3),
    "registrations/out_of_order.json": Staged(2),
    "registrations/hostile_values.json": Staged(4, {
        5: {"name"}, 6: {"members"}, 7: {"charter_capital_vnd"}, 8: {"registered_on"},
        9: {"updated_at"}, 10: {"entity_code"}, 11: {"entity_type"}, 12: {"main_vsic"},
        13: {"legal_representative"}, 14: {"members"}, 15: {"item"}}),
    "registrations/nested_50000_deep.json": Rejected(
        "nested deeper than the limit of 32 levels (HTX_MAX_JSON_DEPTH)"),
    "registrations/number_5000_digits.json": Rejected(
        "a number of 5,000 characters (99999999999999999999…), beyond the limit of 1,000"
        " characters (HTX_MAX_JSON_NUMBER_CHARS)"),
    "registrations/updated_at_in_2204.json": Staged(1, {2: {"updated_at"}}),
}


@dataclass
class Result:
    batch_id: int
    landed_as: str
    rejected: str | None = None
    crashed: BaseException | None = None


def corpus_files() -> list[str]:
    """Each feed's folder of the corpus (isolation/ feeds the isolation tests), READMEs aside."""
    return sorted(str(p.relative_to(CORPUS)) for feed in FEEDS
                  for p in (CORPUS / feed).glob("*") if p.is_file() and p.suffix != ".md")


def test_no_committed_corpus_file_is_big():
    """Big inputs are written at test time (make_corpus.LARGE), never committed."""
    assert all((CORPUS / name).stat().st_size < 300_000 for name in corpus_files())


def deliver(feed: str, path: Path, landing: Path) -> int:
    """The file delivered as its source delivers it; returns the one batch it lands as."""
    run = pipeline.RunInfo(FEEDS[feed].dag_id, f"corpus-{uuid.uuid4().hex[:8]}", "test")
    if feed == "registrations":  # an API page: landed as the extractor lands a page
        from htx.landing import LandingZone

        with db.transaction() as conn, conn.cursor() as cur:
            batch = pipeline._open_batch(cur, FEEDS[feed], f"corpus/{path.name}", run, None)
            landed = LandingZone.configured().land(feed, batch, path.name, path.read_bytes())
            pipeline._record_landed(cur, batch, 1, landed)
        return batch
    drop = landing / DROP_AS[feed].format(stem=path.stem)
    drop.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, drop)
    (batch,) = pipeline.extract_to_landing(feed, run)
    drop.unlink()  # the next corpus file may be delivered under the same name
    return batch


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Every corpus file delivered, validated and staged; then every staged batch merged."""
    from htx.validation import SuiteRunner

    landing = tmp_path_factory.mktemp("corpus_landing")
    paths = {name: CORPUS / name for name in EXPECTED if name not in made.LARGE}
    large = tmp_path_factory.mktemp("corpus_large")
    paths.update(made.write_large(large))
    saved = {k: os.environ.get(k) for k in ("AIRFLOW_CONN_HTX_WAREHOUSE", "HTX_LANDING_URL")}
    with fresh_warehouse() as dsn:
        os.environ.update({"AIRFLOW_CONN_HTX_WAREHOUSE": as_dags_login(dsn),
                           "HTX_LANDING_URL": str(landing)})
        try:
            results: dict[str, Result] = {}
            runners: dict[str, SuiteRunner] = {}
            for name, path in sorted(paths.items()):
                feed = name.split("/")[0]
                runner = runners.setdefault(feed, SuiteRunner(feed))
                result = Result(deliver(feed, path, landing), name)
                try:
                    pipeline.validate_and_stage(feed, result.batch_id, runner)
                except pipeline.BatchRejected as err:
                    result.rejected = str(err)
                except Exception as err:  # reported per file by the tests below
                    result.crashed = err
                results[name] = result
            merge_errors = {}
            for feed in FEEDS:
                staged = [r.batch_id for n, r in results.items()
                          if n.startswith(feed + "/") and not (r.rejected or r.crashed)]
                try:
                    pipeline.merge_batches(feed, staged)
                except Exception as err:
                    merge_errors[feed] = err
            for folder in (large, landing):   # a few hundred MB: the tests read the warehouse
                shutil.rmtree(folder)
            yield dsn, results, merge_errors
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def test_every_stated_outcome_is_of_a_corpus_file():
    assert set(made.LARGE) <= set(EXPECTED)
    assert set(EXPECTED) - set(made.LARGE) <= set(corpus_files())


def test_every_file_without_a_stated_outcome_is_read_by_its_feeds_parser_test():
    """The hand-made files of a feed's folder: its parser test names each (as a string)."""
    def names_in(module: Path) -> set[str]:
        return {node.value for node in ast.walk(ast.parse(module.read_text(encoding="utf-8")))
                if isinstance(node, ast.Constant) and isinstance(node.value, str)}

    unread = [name for name in corpus_files() if name not in EXPECTED
              and Path(name).name not in names_in(TESTS / f"test_{Path(name).parent}_parser.py")]
    assert unread == []


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_corpus_file_is_rejected_naming_it_or_loads_with_its_bad_rows_quarantined(corpus, name):
    dsn, results, _ = corpus
    result, expected = results[name], EXPECTED[name]
    assert result.crashed is None, f"{name}: {type(result.crashed).__name__}: {result.crashed}"
    (status, error, rows_in, loaded, quarantined, landed), = query(
        dsn, "SELECT b.status, b.error, b.rows_in, b.rows_loaded, b.rows_quarantined,"
             " o.object_url FROM audit.load_batch b JOIN audit.landed_object o USING (batch_id)"
             " WHERE batch_id = %s", (result.batch_id,))
    landed_name = landed.rsplit("/", 1)[-1]
    feed = FEEDS[name.split("/")[0]]
    if isinstance(expected, Rejected):
        assert (status, result.rejected) == ("rejected", error)
        assert landed_name in error, "the message names the file"
        assert expected.says in error
        assert error.index(expected.says) < error.index(landed_name), "the reason comes first"
        for table in (feed.staging_table, feed.quarantine_table):
            assert query(dsn, sql.SQL("SELECT count(*) FROM {} WHERE batch_id = %s").format(
                db.qualified(table)), (result.batch_id,)) == [(0,)]
        return
    assert result.rejected is None, result.rejected
    assert (loaded, quarantined) == (expected.loaded, len(expected.quarantined))
    assert rows_in == loaded + quarantined
    bad = query(dsn, sql.SQL("SELECT source_object, source_row, reason, failures FROM {}"
                             " WHERE batch_id = %s").format(db.qualified(feed.quarantine_table)),
                (result.batch_id,))
    assert {row: {f["field"] for f in failures} for _, row, _, failures in bad} == (
        expected.quarantined)
    for source_object, row, reason, failures in bad:
        assert source_object == landed, "the quarantined row names the file it came from"
        for failure in failures:  # field, rule and message, and the reason repeats the field
            assert failure["field"] and failure["rule"] and failure["message"]
            assert failure["field"] in reason


def test_nothing_staged_failed_to_merge(corpus):
    _, _, merge_errors = corpus
    assert merge_errors == {}


def test_hostile_text_is_stored_verbatim_and_never_executed(corpus):
    dsn, _, _ = corpus
    # Parsers collapse runs of whitespace in names (their one normalisation of text).
    def as_parsed(*values):
        return {" ".join(v.split()) for v in values}

    stored = {name for (name,) in query(
        dsn, "SELECT taxpayer_name FROM core.tax_declaration WHERE source_file = %s",
        ("tax/to_khai_hostile_values.csv",))}
    assert stored == as_parsed(made.INJECTION.format(table="tax_declaration"), made.QUOTES,
                               made.CONTROL, made.LONG, made.EMOJI, "Dòng một\nDòng hai\tcó tab")
    names = {n for (n,) in query(dsn, "SELECT name FROM core.registration_state")}
    assert as_parsed(made.INJECTION.format(table="registration_state"), made.QUOTES, made.LONG,
                     made.EMOJI) <= names
    assert (made.CONTROL,) in query(dsn, "SELECT address FROM core.registration_state")
    lending = {n for (n,) in query(dsn, "SELECT htx_name FROM core.lending_contract")}
    assert as_parsed(made.INJECTION.format(table="lending_contract"), made.QUOTES, made.LONG,
                     made.EMOJI) <= lending
    fund = (made.INJECTION.format(table="credit_fund_report") + made.QUOTES + made.CONTROL
            + made.EMOJI + made.LONG)
    fund_names = {n for (n,) in query(dsn, "SELECT fund_name FROM staging.credit_fund_reports")}
    assert as_parsed(fund) <= fund_names
    for table in ("core.tax_declaration", "core.registration_state", "core.lending_contract",
                  "core.credit_fund_report", "core.annual_report", "audit.load_batch"):
        assert query(dsn, sql.SQL("SELECT to_regclass({})").format(sql.Literal(table)))[0][0]


def test_a_nul_character_is_quarantined_with_a_visible_mark(corpus):
    dsn, results, _ = corpus
    (record, failures), = query(dsn, "SELECT record, failures FROM quarantine.credit_fund_reports"
                                     " WHERE batch_id = %s",
                                (results["credit_fund_reports/nul_in_text.json"].batch_id,))
    assert record["fund_name"] == "Quỹ\u2400 NUL" and failures[0]["value"] == "Quỹ\u2400 NUL"


def test_duplicate_and_out_of_order_rows_count_once_and_the_highest_revision_wins(corpus):
    dsn, _, _ = corpus
    # Tax: a row delivered twice, and revisions 2, 0, 1 in that order: one declaration counts.
    assert query(dsn, "SELECT revision, revenue_vnd FROM core.tax_declaration_latest"
                      " WHERE tax_code = %s AND period_raw = '09/2024'", (made.A,)) == [(2, 3000)]
    # Registry: an item repeated in a page is one state; a state older than the current one,
    # delivered after it, takes its place in history and leaves the current state current.
    assert query(dsn, "SELECT count(*) FROM core.registration_state WHERE entity_code = %s"
                      " AND updated_at = '2024-03-01T10:00:00+07:00'", (made.A,)) == [(1,)]
    states = query(dsn, "SELECT status, valid_from::text, valid_to::text"
                        " FROM core.registration_state WHERE entity_code = %s ORDER BY valid_from",
                   (made.G,))
    assert states == [("dang_hoat_dong", "2020-01-01", "2024-02-01"),
                      ("da_giai_the", "2024-02-01", None)]
    # Lending: a contract number repeated in a file is quarantined, never counted twice.
    assert query(dsn, "SELECT count(*) FROM core.lending_contract"
                      " WHERE source_file = 'lending/vbsp_duplicate_rows.xlsx'") == [(2,)]
    # Annual reports: the later of two rows for one cooperative and year counts.
    assert query(dsn, "SELECT members FROM core.annual_report_latest"
                      " WHERE entity_code = %s AND report_year = 2022", (made.E,)) == [(13,)]
