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
from datetime import date
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import psycopg2
import pytest

from browser_support import chromium, rendered_dom
from conftest import ROOT, SERVER, as_dags_login, query
from htx import exports, pipeline
from htx.dev import localpg, sample
from htx.cli import main, run_dag
from htx.exports.labels import number_vi
from htx.feeds.config import FEEDS
from htx.migrate import migrate
from htx.dev.sample.registrations import PERIOD_END, PERIOD_START, generate

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
    from htx.dev.registry_standin import RegistryStandIn

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


@pytest.fixture(scope="module")
def after_reform(province, tmp_path_factory):
    """The exports of 01/01–30/09/2025, on the new administrative map."""
    return exports.write_period(date(2025, 1, 1), date(2025, 9, 30),
                                tmp_path_factory.mktemp("after_reform"), province[0])


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


# The registry's members of a period worked out from the registration states themselves, one row
# per indicator as the catalogue defines them (../shared/indicators.md): each HTX, LHHTX and THT
# operating as of the period end — its state then (valid_from ≤ end < valid_to) registered by
# then and not dissolved — counted in its type's total (HTX_TOTAL and THT_TOTAL by locality too:
# its unit of the map in force, khong_xac_dinh for none) and sector, and summed into its type's
# charter capital (trieu_dong) and members.
REGISTRY_MEMBERS_FROM_STATES = """
    WITH state AS (
        SELECT s.entity_type, s.entity_code, s.charter_capital_vnd, s.members,
               CASE s.entity_type WHEN 'HTX' THEN d.plan_sector WHEN 'LHHTX' THEN d.lhhtx_group
                                  ELSE d.tht_group END AS sector,
               coalesce(CASE (SELECT m.locality_level FROM core.ref_admin_map AS m
                              WHERE coalesce(m.valid_from, '-infinity') <= %(end)s
                                AND %(end)s <= coalesce(m.valid_to, 'infinity'))
                        WHEN 'district' THEN s.old_district_code
                        WHEN 'commune' THEN s.new_unit_code END, 'khong_xac_dinh') AS locality
        FROM core.registration_state AS s
        LEFT JOIN core.ref_vsic_division AS d ON d.division = left(s.main_vsic, 2)::smallint
        WHERE s.valid_from <= %(end)s AND (s.valid_to IS NULL OR s.valid_to > %(end)s)
          AND s.registered_on <= %(end)s AND s.status <> 'da_giai_the')
    SELECT entity_type || '_TOTAL', '', entity_code, 1::numeric FROM state
    UNION ALL
    SELECT entity_type || '_TOTAL', 'locality=' || locality, entity_code, 1 FROM state
    WHERE entity_type IN ('HTX', 'THT')
    UNION ALL
    SELECT CASE entity_type WHEN 'HTX' THEN 'HTX_BY_SECTOR' ELSE entity_type || '_TOTAL' END,
           'sector=' || sector, entity_code, 1 FROM state WHERE sector IS NOT NULL
    UNION ALL
    SELECT entity_type || '_CHARTER_CAPITAL', '', entity_code, charter_capital_vnd / 1e6
    FROM state WHERE entity_type <> 'THT' AND charter_capital_vnd IS NOT NULL
    UNION ALL
    SELECT CASE entity_type WHEN 'LHHTX' THEN 'LHHTX_MEMBER_COOPS' ELSE entity_type || '_MEMBERS'
           END, '', entity_code, members FROM state WHERE members IS NOT NULL
    ORDER BY 1, 2, 3"""
REGISTRY_PER_ENTITY = ["HTX_TOTAL", "HTX_BY_SECTOR", "HTX_CHARTER_CAPITAL", "HTX_MEMBERS",
                       "LHHTX_TOTAL", "LHHTX_CHARTER_CAPITAL", "LHHTX_MEMBER_COOPS", "THT_TOTAL",
                       "THT_MEMBERS"]


@pytest.mark.parametrize("period", [(PERIOD_START, PERIOD_END),
                                    (date(2025, 1, 1), date(2025, 9, 30))])
def test_the_registry_members_listed_are_the_registration_states_as_of_the_period_end(
        province, period):
    """mart.plan_indicator_members lists the registry's per-entity rows (stored once per period ×
    entity, migration 0190) as the rows of each indicator, on both maps."""
    dsn, _ = province
    listed = query(dsn, "SELECT indicator_code, breakdown, entity_code, contribution"
                        " FROM mart.plan_indicator_members WHERE period_start = %s"
                        " AND period_end = %s AND indicator_code = ANY (%s) ORDER BY 1, 2, 3",
                   (*period, REGISTRY_PER_ENTITY))
    expected = query(dsn, REGISTRY_MEMBERS_FROM_STATES, {"end": period[1]})
    assert {code for code, *_ in expected} == set(REGISTRY_PER_ENTITY)
    assert listed == expected


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
                               "Kế hoạch – thực hiện", "Theo địa bàn"]   # no reform yet
    for sheet in book.worksheets:
        assert sheet["A2"].value == "Từ 01/01/2024 đến 30/09/2024", sheet.title
    for sheet in book.worksheets[:6]:
        assert [c.value for c in sheet[4]][:4] == ["STT", "Chỉ tiêu", "Đơn vị tính",
                                                   "Thực hiện" if sheet.title != book.sheetnames[5]
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


def test_the_plan_sheet_sets_actual_and_the_year_end_estimate_against_target(september):
    rows = sheet_rows(september["xlsx"], "Kế hoạch – thực hiện")
    assert rows[0][0].value == "Biểu 06. THỰC HIỆN SO VỚI KẾ HOẠCH NĂM 2024"
    assert [c.value for c in rows[3][3:]] == [
        "Kế hoạch năm 2024", "Văn bản giao chỉ tiêu", "Thực hiện đến 30/09/2024",
        "Tỷ lệ thực hiện so với kế hoạch (%)", "Ước thực hiện cả năm 2024",
        "Ước tỷ lệ cả năm so với kế hoạch (%)"]
    total = line(rows, "Tổng số hợp tác xã")
    assert [c.value for c in total[2:6]] == ["HTX", 747, "263/KH-UBND ngày 30/10/2023", 895]
    assert total[6].value == pytest.approx(895 * 100 / 747)
    assert (total[7].value, total[8].value) == (896, pytest.approx(896 * 100 / 747))
    new = line(rows, "Số hợp tác xã thành lập mới")
    assert new[6].value == pytest.approx(148 * 100 / 55)
    assert new[7].value == pytest.approx(148 * 32 / 29)   # 2023: 32 in the year, 29 by September


def test_the_locality_sheet_lists_the_map_in_force_and_the_unplaced_share(september):
    rows = sheet_rows(september["xlsx"], "Theo địa bàn")
    assert [c.value for c in rows[3]] == ["STT", "Đơn vị hành chính", "Mã ĐVHC",
                                          "Tổng số hợp tác xã", "Hợp tác xã thành lập mới",
                                          "Tổng số tổ hợp tác"]
    body = [[c.value for c in row] for row in rows[5:20]]
    assert body[0][:3] == ["1", "Thành phố Hạ Long", "193"] and len(body[12][2]) == 3
    assert body[13][:3] == ["14", "Chưa xác định địa bàn", None]
    assert body[14][:2] == [None, "Tổng cộng"] and body[14][3:] == [895, 148, 215]
    for column in (3, 4, 5):
        assert sum(row[column] for row in body[:14]) == body[14][column]
    assert "Chưa xác định địa bàn" in rows[21][0].value   # the share, a data-quality figure


def test_after_the_reform_the_exports_set_old_districts_beside_new_units(after_reform):
    from openpyxl import load_workbook

    book = load_workbook(after_reform["xlsx"])
    assert book.sheetnames[-2:] == ["Theo địa bàn", "Đối chiếu địa bàn cũ – mới"]
    localities = [[c.value for c in row] for row in book["Theo địa bàn"].iter_rows(min_row=6)]
    assert len([row for row in localities if row[2] and len(row[2]) == 5]) == 54
    assert localities[0][:3] == ["1", "Phường Hà Tu", "06652"]
    across = [[c.value for c in row] for row in book["Đối chiếu địa bàn cũ – mới"]
              .iter_rows(min_row=6)]
    districts = [row for row in across if row[0] and row[0].isdigit()]   # not the footer
    assert districts[0][:3] == ["1", "Thành phố Hạ Long", "193"]
    assert all(isinstance(row[3], (int, float)) for row in districts[:13])   # last year's
    total = next(row for row in localities if row[1] == "Tổng cộng")[3]
    assert sum(row[4] for row in districts) == total                  # every cooperative once
    page = after_reform["html"].read_text(encoding="utf-8")
    for text in ("Biểu 07. HỢP TÁC XÃ, TỔ HỢP TÁC THEO ĐỊA BÀN", "Phường Hà Tu",
                 "Biểu 08. SỐ HỢP TÁC XÃ THEO ĐỊA BÀN CẤP HUYỆN CŨ", "Chưa xác định địa bàn",
                 "Ước thực hiện cả năm 2025", "152/KH-UBND ngày 12/08/2025"):
        assert text in page, text


def test_the_estimate_error_in_the_docs_is_what_the_sample_gives(province):
    """docs/estimates.md: January–September 2024's estimate against the full year 2024."""
    table = (ROOT / "docs" / "estimates.md").read_text(encoding="utf-8").split(
        "| --- | --- | ---: | ---: | ---: | ---: |\n")[1].split("\n\n")[0]
    checked = 0
    for row in table.splitlines():
        code, breakdown, ytd, estimate, full_year = [c.strip() for c in row.split("|")[1:6]]
        found = query(province[0], """
            SELECT e.value, e.estimate_full_year, f.value FROM mart.plan_indicator AS e
            JOIN mart.plan_indicator AS f USING (indicator_code, breakdown, period_start)
            WHERE indicator_code = %s AND breakdown = %s AND period_start = '2024-01-01'
              AND e.period_end = '2024-09-30' AND f.period_end = '2024-12-31'""",
                      (code, breakdown))
        assert [round(v, 1) for v in found[0]] == [
            Decimal(x.replace(",", "")) for x in (ytd, estimate, full_year)], code
        checked += 1
    assert checked == 9


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
    assert ["1", "Tổng số hợp tác xã", "HTX", "747", "263/KH-UBND ngày 30/10/2023", "895",
            "119,8", "896", "119,9"] in plan


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
