"""Traceability and exports on the bundled sample: the entities behind every indicator value
(mart.plan_indicator_members), and the plan's tables as people read them — the XLSX workbook
opened by openpyxl and by LibreOffice, the HTML report rendered by headless Chromium.

One province for the module: every feed's sample through the real pipeline (the Airflow path of
the feeds is tests/test_all_feeds_e2e.py's), then the marts DAG through Airflow, whose last task
writes the exports.
"""
import csv
import json
import os
import re
import secrets
import shutil
import struct
import subprocess
import uuid
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import psycopg2
import pytest

from browser_support import chromium, rendered_dom
from conftest import ROOT, SERVER, as_dags_login, query
from htx import exports, localpg, pipeline, sample
from htx.cli import main, run_dag
from htx.exports.labels import number_vi
from htx.feeds.config import FEEDS
from htx.migrate import migrate
from htx.sample.registrations import PERIOD_END, PERIOD_START, generate

ARTIFACTS = ROOT / "artifacts"
COUNTS = ["HTX_TOTAL", "HTX_BY_SECTOR", "HTX_NEW", "HTX_DISSOLVED", "HTX_TAX_ACTIVE",
          "HTX_NOT_ACTIVE", "LHHTX_TOTAL", "THT_TOTAL", "QTDND_TOTAL",
          "LENDING_BORROWERS_OUTSTANDING"]
SUMS = ["HTX_CHARTER_CAPITAL", "HTX_MEMBERS", "HTX_WORKERS", "HTX_MEMBER_WORKERS",
        "HTX_MANAGERS", "HTX_MANAGERS_VOCATIONAL", "HTX_MANAGERS_COLLEGE_PLUS",
        "LHHTX_CHARTER_CAPITAL", "LHHTX_MEMBER_COOPS", "THT_MEMBERS", "QTDND_MEMBERS",
        "QTDND_EMPLOYEES", "QTDND_TOTAL_CAPITAL", "QTDND_EQUITY", "QTDND_DEPOSITS", "QTDND_LOANS",
        "LENDING_CONTRACTS", "LENDING_DISBURSED", "LENDING_OUTSTANDING"]
MEANS = ["HTX_AVG_REVENUE", "HTX_AVG_PROFIT", "QTDND_AVG_REVENUE", "QTDND_AVG_PROFIT"]
WEIGHTED_MEANS = ["HTX_AVG_INCOME", "QTDND_AVG_EMPLOYEE_INCOME"]
# Quotients of traced indicators, and the trust fund's own size: no entities of their own.
UNTRACED = {"HTX_SECTOR_SHARE", "HTX_NOT_ACTIVE_SHARE", "THT_SECTOR_SHARE", "QTDND_EQUITY_SHARE",
            "QTDND_DEPOSIT_SHARE", "QTDND_NPL_RATIO", "LENDING_NPL_RATIO", "LENDING_FUND_SIZE"}


@pytest.fixture(scope="module")
def province(tmp_path_factory, airflow_db):
    """(warehouse DSN, export folder): the sample loaded, the marts DAG run once."""
    from htx.registry_api.standin import RegistryStandIn

    name = f"htx_t_{uuid.uuid4().hex[:10]}"
    localpg.create_database(SERVER, name)
    dsn = SERVER.uri(name)
    landing, export_dir = tmp_path_factory.mktemp("landing"), tmp_path_factory.mktemp("exports")
    token = secrets.token_urlsafe(12)
    standin = RegistryStandIn(generate(), token).start()
    migrate(dsn)
    settings = {"AIRFLOW_CONN_HTX_WAREHOUSE": as_dags_login(dsn), "HTX_LANDING_URL": str(landing),
                "HTX_EXPORT_DIR": str(export_dir), "AIRFLOW_CONN_HTX_REGISTRY_API": json.dumps(
                    {"conn_type": "http", "host": standin.base_url, "password": token})}
    saved = {key: os.environ.get(key) for key in settings}
    os.environ.update(settings)
    try:
        sample.write_drops(landing, generate())
        sample.deliver_resends(landing)   # the final state of every delivery at once
        run = pipeline.RunInfo("test_exports", "load-sample", "load")
        for feed in FEEDS.values():
            batches = pipeline.extract_to_landing(feed.name, run)
            pipeline.stage_batches(feed.name, batches)
            pipeline.merge_batches(feed.name, batches)
            pipeline.publish_batches(feed.name, batches)
        run_dag("htx_plan_marts")
        yield dsn, export_dir
    finally:
        standin.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        localpg.drop_database(SERVER, name)


@pytest.fixture(scope="module")
def september(province, tmp_path_factory):
    """The exports of 01/01–30/09/2024 through the CLI command; {'xlsx': Path, 'html': Path}."""
    folder = tmp_path_factory.mktemp("september")
    assert main(["export", "--start", "2024-01-01", "--end", "2024-09-30", "--out",
                 str(folder)]) == 0
    stem = "ke_hoach_kttt_2024-01-01_2024-09-30"
    return {kind: folder / f"{stem}.{kind}" for kind in ("xlsx", "html")}


# --- traceability ---------------------------------------------------------------------------

def member_totals(dsn):
    """Every indicator row beside what its members add up to (None where it has no members)."""
    return query(dsn, """
        WITH members AS (
            SELECT indicator_code, breakdown, period_start, period_end, count(*) AS entities,
                   sum(contribution) AS total, avg(contribution) AS mean,
                   sum(contribution * weight) / nullif(sum(weight), 0) AS weighted
            FROM mart.plan_indicator_members
            GROUP BY indicator_code, breakdown, period_start, period_end)
        SELECT i.indicator_code, i.breakdown, i.period_end, i.value,
               m.entities, m.total, m.mean, m.weighted
        FROM mart.plan_indicator AS i
        LEFT JOIN members AS m USING (indicator_code, breakdown, period_start, period_end)""")


def test_the_members_add_up_to_every_count_sum_and_mean_in_every_period(province):
    dsn, _ = province
    rows = member_totals(dsn)
    # Every month end of the latest two years (2024, and 2025 up to September), and the full
    # years 2016–2023 of the window (HTX_REPORTING_YEARS, default 10) before them.
    assert len({row[2] for row in rows}) == 12 + 9 + 8
    checked = 0
    for code, breakdown, end, value, entities, total, mean, weighted in rows:
        where = (code, breakdown, end)
        if code in COUNTS:
            assert value == (entities or 0) and (total or 0) == (entities or 0), where
        elif code in SUMS:
            assert value == (total or 0), where
        elif code in MEANS:
            assert abs(value - mean) < Decimal("1e-9"), where
        elif code in WEIGHTED_MEANS:
            assert abs(value - weighted) < Decimal("1e-9"), where
        else:
            assert code in UNTRACED and entities is None, where
            continue
        checked += 1
    assert checked > 1_000


def test_members_are_listed_once_and_only_for_values_that_exist(province):
    dsn, _ = province
    assert query(dsn, """
        SELECT indicator_code, breakdown, period_end, entity_code FROM mart.plan_indicator_members
        GROUP BY indicator_code, breakdown, period_start, period_end, entity_code
        HAVING count(*) > 1 LIMIT 5""") == []
    assert query(dsn, """
        SELECT DISTINCT m.indicator_code, m.breakdown FROM mart.plan_indicator_members AS m
        LEFT JOIN mart.plan_indicator AS i
          USING (indicator_code, breakdown, period_start, period_end)
        WHERE i.indicator_code IS NULL""") == []


def test_for_the_seed_period_every_traced_indicator_lists_its_entities(province):
    dsn, _ = province
    listed = dict(query(dsn, "SELECT indicator_code, count(*) FROM mart.plan_indicator_members"
                             " WHERE period_start = %s AND period_end = %s AND breakdown = ''"
                             " GROUP BY 1", (PERIOD_START, PERIOD_END)))
    for code in COUNTS + SUMS + MEANS + WEIGHTED_MEANS:
        if code != "HTX_BY_SECTOR":
            assert listed.get(code, 0) > 0, code
    assert listed["HTX_TOTAL"] == 895 and listed["HTX_DISSOLVED"] == 1
    assert listed["QTDND_TOTAL"] == 2 and listed["LENDING_BORROWERS_OUTSTANDING"] == 19
    # Every cooperative of a sector is one of HTX_TOTAL's.
    assert query(dsn, """
        SELECT count(*) FROM mart.plan_indicator_members AS s
        WHERE s.indicator_code = 'HTX_BY_SECTOR' AND s.period_end = %s AND NOT EXISTS (
            SELECT 1 FROM mart.plan_indicator_members AS t WHERE t.indicator_code = 'HTX_TOTAL'
            AND t.period_start = s.period_start AND t.period_end = s.period_end
            AND t.entity_code = s.entity_code)""", (PERIOD_END,)) == [(0,)]
    codes = {c for (c,) in query(dsn, "SELECT DISTINCT indicator_code FROM mart.plan_indicator")}
    assert codes - set(COUNTS + SUMS + MEANS + WEIGHTED_MEANS) == UNTRACED


# --- exports: what gets written where ---------------------------------------------------------

def test_the_marts_dag_exports_the_newest_periods(province):
    _, export_dir = province
    # The sample reaches September 2025: the newest year-to-date period and the newest full year.
    assert sorted(p.name for p in export_dir.iterdir()) == [
        "ke_hoach_kttt_2024-01-01_2024-12-31.html", "ke_hoach_kttt_2024-01-01_2024-12-31.xlsx",
        "ke_hoach_kttt_2025-01-01_2025-09-30.html", "ke_hoach_kttt_2025-01-01_2025-09-30.xlsx"]
    # No fund has reported for Q4 yet: counts read 0, ratios and means have no figure.
    funds = sheet_rows(export_dir / "ke_hoach_kttt_2024-01-01_2024-12-31.xlsx", "QTDND")
    assert line(funds, "Số quỹ tín dụng nhân dân")[3].value == 0
    assert line(funds, "Tỷ lệ nợ xấu trên tổng dư nợ")[3].value == "-"
    page = (export_dir / "ke_hoach_kttt_2024-01-01_2024-12-31.html").read_text(encoding="utf-8")
    assert "Chưa có báo cáo quý của quỹ tín dụng nhân dân" in page
    assert page.count("Plotly.newPlot") == 3 and json.dumps("Tháng 12") in page


def test_the_export_command_writes_both_files_and_refuses_a_period_without_data(
        province, september, tmp_path, capsys):
    assert all(path.stat().st_size > 0 for path in september.values())
    assert main(["export", "--start", "2031-01-01", "--end", "2031-03-31",
                 "--out", str(tmp_path)]) == 1
    assert "no indicators for 01/01/2031 – 31/03/2031" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_the_exports_need_no_more_than_read_access_to_the_marts(province, tmp_path):
    dsn, _ = province
    role = f"htx_t_mart_reader_{uuid.uuid4().hex[:8]}"
    query(dsn, f'CREATE ROLE "{role}" NOLOGIN')
    try:
        query(dsn, f'GRANT USAGE ON SCHEMA mart TO "{role}";'
                   f' GRANT SELECT ON ALL TABLES IN SCHEMA mart TO "{role}"')
        as_reader = f"{dsn}?options={quote(f'-c role={role}')}"
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            query(as_reader, "SELECT count(*) FROM core.registration_state")
        written = exports.write_period(PERIOD_START, PERIOD_END, tmp_path, dsn=as_reader)
        assert sorted(written) == ["html", "xlsx"]
    finally:
        query(dsn, f'DROP OWNED BY "{role}"; DROP ROLE "{role}"')


# --- the workbook -----------------------------------------------------------------------------

def sheet_rows(path, sheet_name):
    from openpyxl import load_workbook

    return list(load_workbook(path)[sheet_name].iter_rows())


def line(rows, label):
    """The cells of the table line whose Chỉ tiêu is `label`."""
    return next(r for r in rows if r[1].value == label)


def test_number_vi_groups_with_dots_and_marks_decimals_with_a_comma():
    assert number_vi(1234.5, 1) == "1.234,5"
    assert number_vi(3030600) == "3.030.600"
    assert number_vi(Decimal("-1234567.125"), 2) == "-1.234.567,12"
    assert number_vi(0.04, 1) == "0,0"


def test_the_workbook_has_one_sheet_per_group_and_the_plan_sheet(september):
    from openpyxl import load_workbook

    book = load_workbook(september["xlsx"])
    assert book.sheetnames == ["HTX", "LHHTX", "THT", "QTDND", "Cho vay hỗ trợ",
                               "Kế hoạch – thực hiện"]
    for sheet in book.worksheets:
        assert sheet["A2"].value == "Từ 01/01/2024 đến 30/09/2024", sheet.title
        assert [c.value for c in sheet[4]][:4] == ["STT", "Chỉ tiêu", "Đơn vị tính",
                                                   "Thực hiện" if sheet.title != book.sheetnames[-1]
                                                   else "Kế hoạch năm 2024"]


def test_the_htx_table_reads_like_the_plan_with_numeric_cells_and_vietnamese_formats(september):
    rows = sheet_rows(september["xlsx"], "HTX")
    assert rows[0][0].value == "Biểu 01. HỢP TÁC XÃ"
    total = line(rows, "Tổng số hợp tác xã")
    assert (total[0].value, total[2].value, total[3].value) == ("1", "HTX", 895)
    assert total[3].data_type == "n" and total[3].number_format == "[$-42A]#,##0"
    agriculture = line(rows, "Nông, lâm nghiệp, thủy sản")
    assert (agriculture[0].value, agriculture[3].value) == ("1.1", 669)
    assert agriculture[4].value == pytest.approx(669 * 100 / 895)   # exact in the cell
    assert agriculture[4].number_format == "[$-42A]#,##0.0"
    capital = line(rows, "Tổng vốn điều lệ đăng ký")
    assert (capital[2].value, capital[3].value) == ("tỷ đồng", 3030.6)   # the plan's 3.030,6 tỷ
    assert capital[3].number_format == "[$-42A]#,##0.0"
    assert line(rows, "Số hợp tác xã giải thể")[3].value == 1
    assert line(rows, "Tổng số thành viên hợp tác xã")[2].value == "người"
    lending = sheet_rows(september["xlsx"], "Cho vay hỗ trợ")
    assert line(lending, "Số tiền đã giải ngân (lũy kế)")[3].value == 67.9
    fund = line(lending, "Tổng nguồn vốn ủy thác cho vay hỗ trợ hợp tác xã")
    assert (fund[2].value, fund[3].value) == ("triệu đồng", 40341)


def test_the_plan_sheet_sets_actual_against_target(september):
    rows = sheet_rows(september["xlsx"], "Kế hoạch – thực hiện")
    assert rows[0][0].value == "Biểu 06. THỰC HIỆN SO VỚI KẾ HOẠCH NĂM 2024"
    total = line(rows, "Tổng số hợp tác xã")
    assert [c.value for c in total[2:5]] == ["HTX", 747, 895]
    assert total[5].value == pytest.approx(895 * 100 / 747)
    assert line(rows, "Số hợp tác xã thành lập mới")[5].value == pytest.approx(148 * 100 / 55)


def test_libreoffice_shows_the_workbook_with_vietnamese_separators(september, tmp_path):
    """What a reader sees: LibreOffice (interface in English here) honours the [$-42A] tag."""
    soffice = shutil.which("soffice")
    assert soffice, "LibreOffice is needed (.ci/run installs libreoffice-calc-nogui)"
    as_shown = "44,34,76,1,,0,false,true,true,false,false,-1"   # every sheet, text as displayed
    done = subprocess.run(
        [soffice, "--headless", "--norestore",
         f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}",
         "--convert-to", f"csv:Text - txt - csv (StarCalc):{as_shown}", "--outdir", str(tmp_path),
         str(september["xlsx"])], capture_output=True, text=True, timeout=180,
        env={**os.environ, "HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr[-2000:]
    shown = {row[1]: row[3:] for row in csv.reader(
        (tmp_path / f"{september['xlsx'].stem}-HTX.csv").open(encoding="utf-8")) if len(row) > 3}
    assert shown["Tổng số hợp tác xã"] == ["895", ""]
    assert shown["Nông, lâm nghiệp, thủy sản"] == ["669", "74,7"]
    assert shown["Tổng vốn điều lệ đăng ký"][0] == "3.030,6"
    assert shown["Tổng số thành viên hợp tác xã"][0] == "58.500"
    plan = list(csv.reader((tmp_path / f"{september['xlsx'].stem}-Kế hoạch – thực hiện.csv")
                           .open(encoding="utf-8")))
    assert ["1", "Tổng số hợp tác xã", "HTX", "747", "895", "119,8"] in plan


# --- the HTML report --------------------------------------------------------------------------

class Resources(HTMLParser):
    """Every URL the page would load: script src, link href, img/iframe src."""

    def __init__(self):
        super().__init__()
        self.urls = []

    def handle_starttag(self, tag, attrs):
        self.urls += [value for name, value in attrs if name in ("src", "href") and value]


def test_the_report_loads_nothing_from_the_network(september):
    page = september["html"].read_text(encoding="utf-8")
    resources = Resources()
    resources.feed(page)
    assert [u for u in resources.urls if re.match(r"\s*(https?:)?//", u)] == []
    assert not re.search(r"<(script|link)[^>]+(src|href)\s*=\s*[\"']?\s*(https?:)?//", page, re.I)
    assert page.count("<script>") >= 5 and "Plotly.newPlot" in page   # plotly.js, then 4 charts
    assert len(page) > 3_000_000                                      # … plotly.js itself inlined


def test_the_report_is_in_vietnamese_with_vietnamese_numbers(september):
    page = september["html"].read_text(encoding="utf-8")
    assert '<html lang="vi">' in page and "Từ 01/01/2024 đến 30/09/2024" in page
    for text in ("Nông, lâm nghiệp, thủy sản", "3.030,6", "58.500", "74,7", "119,8",
                 "Kế hoạch và thực hiện", "Quỹ tín dụng nhân dân"):
        assert text in page, text
    # Inside the charts' JSON, as plotly escapes it: the year-to-date months, January–September.
    assert '"separators":",."' in page
    assert json.dumps("Tháng 9") in page and json.dumps("Tháng 10") not in page


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", header[16:24])


def test_headless_chromium_renders_every_chart(september, tmp_path):
    url = september["html"].as_uri()
    dom = chromium(tmp_path / "dom", "--virtual-time-budget=10000", "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert dom.stdout.count('class="plot-container plotly"') == 4
    assert dom.stdout.count('class="main-svg"') >= 8        # each chart draws at least two layers
    assert "Nông, lâm nghiệp, thủy sản" in dom.stdout and ">Tháng 9<" in dom.stdout

    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "report.png"
    screenshot.unlink(missing_ok=True)
    shot = chromium(tmp_path / "shot", "--hide-scrollbars", f"--screenshot={screenshot}",
                    "--window-size=1400,2000", "--virtual-time-budget=10000", url)
    assert shot.returncode == 0, shot.stderr[-2000:]
    assert png_size(screenshot) == (1400, 2000)
    assert screenshot.stat().st_size > 100_000   # a blank page of this size is ~10 kB
    shutil.copy(september["xlsx"], ARTIFACTS / september["xlsx"].name)


def test_hostile_codes_names_and_units_in_the_marts_run_no_script_in_the_report(tmp_path):
    """Whatever text reaches the marts — an indicator code or breakdown made of markup, a unit
    closing the page's script — the report shows it as text and runs none of it."""
    from datetime import date, datetime, timezone

    from htx.exports import html
    from htx.exports.data import Indicator, PeriodData

    hostile_code = "<img src=x onerror=document.body.dataset.pwned=1>"
    hostile_sector = "sector=<svg onload=document.body.dataset.pwned=2>"
    closing_script = "sector=</script><script>document.body.dataset.pwned=3</script>"
    values = {
        ("HTX_TOTAL", ""): Indicator(Decimal(895), "<b onmouseover=x>HTX</b>", Decimal(747),
                                     Decimal("119.8")),
        ("HTX_BY_SECTOR", closing_script): Indicator(Decimal(5), "HTX", Decimal(10), Decimal(50)),
        (hostile_code, hostile_sector): Indicator(Decimal(1), "&amp;", Decimal(1), Decimal(100)),
    }
    period = PeriodData(date(2024, 1, 1), date(2024, 9, 30), values,
                        {"HTX_TOTAL": [(date(2024, 9, 30), Decimal(895))], "HTX_NEW": []},
                        datetime(2024, 10, 1, tzinfo=timezone.utc))
    page = html.write(period, tmp_path / "report.html")
    dom = rendered_dom(tmp_path / "profile", page)
    assert "pwned" not in re.search(r"<body[^>]*>", dom).group(0)
    assert "&lt;img src=x onerror=document.body.dataset.pwned=1&gt;" in dom    # the plan table
    assert "&lt;/script&gt;&lt;script&gt;document.body.dataset.pwned=3" in dom
    assert dom.count('class="plot-container plotly"') >= 2   # the charts still drew
