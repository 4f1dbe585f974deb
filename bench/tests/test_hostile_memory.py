"""The hostile-memory benchmark measures what it says: its inputs "within limits" are deliveries
the feeds accept and that sit at the limits in force (here shrunk through the settings), and its
table gives each input's outcome and peak RSS with a verdict against 1 GiB."""
from __future__ import annotations

import importlib

import pytest

import hostile_memory
from htx import limits

SMALL = {"HTX_MAX_CSV_LINE_CHARS": "2000", "HTX_MAX_ANNUAL_REPORTS_BYTES": "20000",
         "HTX_MAX_XLSX_ROWS": "60", "HTX_MAX_XLSX_UNCOMPRESSED_BYTES": "40000",
         "HTX_MAX_JSON_BYTES": "50000"}


@pytest.fixture
def small_limits(monkeypatch):
    for name, value in SMALL.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr("htx.pipeline.CHUNK_SOURCE_CHARS", 10_000)


def rows_of(case_writer, feed: str, tmp_path) -> list:
    path = tmp_path / "delivery"
    case_writer(path)
    parser = importlib.import_module(f"htx.feeds.{feed}")
    with path.open("rb") as stream:
        return list(parser.parse_object(stream, str(path)))


def test_tax_rows_as_long_as_allowed_are_read(small_limits, tmp_path):
    rows = rows_of(hostile_memory._long_tax_rows, "tax_declarations", tmp_path)
    assert len(rows) == 3 * 10_000 // 2_000 + 1 and not any(r.failures for r in rows)
    lines = (tmp_path / "delivery").read_text(encoding="utf-8").splitlines(keepends=True)[1:]
    assert {len(line) for line in lines} == {2_000}   # the row limit, line break included


def test_the_annual_file_fills_its_limit_and_is_read(small_limits, tmp_path):
    rows = rows_of(hostile_memory._full_annual_file, "annual_reports", tmp_path)
    assert 20_000 - 200 <= (tmp_path / "delivery").stat().st_size <= 20_000 and len(rows) > 100


def test_the_lending_sheet_has_every_row_allowed_and_reconciles(small_limits, tmp_path):
    rows = rows_of(hostile_memory._full_lending_sheet, "support_lending", tmp_path)
    assert len(rows) == 60 - 7 and rows[-1].source_row == 59   # the totals row is row 60


def test_the_shared_strings_fill_the_unzipped_limit(small_limits, tmp_path):
    import zipfile

    assert len(rows_of(hostile_memory._full_shared_strings, "support_lending", tmp_path)) == 1
    unzipped = sum(i.file_size for i in zipfile.ZipFile(tmp_path / "delivery").infolist())
    assert 40_000 * 0.8 < unzipped <= 40_000


def test_the_json_report_and_the_api_page_fill_the_json_limit(small_limits, tmp_path):
    import json

    assert len(rows_of(hostile_memory._full_json_report, "credit_fund_reports", tmp_path)) == 1
    assert 50_000 - 200 <= (tmp_path / "delivery").stat().st_size <= 50_000
    page = json.dumps({"items": hostile_memory._full_api_page(), "next_page_token": None},
                      ensure_ascii=False).encode()
    assert 50_000 * 0.8 < len(page) <= limits.JSON_BYTES.value()


def test_the_section_gives_each_outcome_and_a_verdict():
    lines = hostile_memory.section([
        {"case": "a | b", "feed": "tax_declarations", "outcome": "rejected: x", "peak_rss_mib": 300},
        {"case": "c", "feed": "annual_reports", "outcome": "9 rows loaded", "peak_rss_mib": 1100}],
        scale=0.5)
    text = "\n".join(lines)
    assert "| a \\| b | tax_declarations | rejected: x | 300 MiB |" in text
    assert "(every limit scaled by 0.5)" in text
    assert lines[-1].startswith("Highest: 1,100 MiB (c) — missed by 7%")
