"""Great Expectations Data Docs as an operator on the province's offline network reads them.

A tax file arrives whose name and values are hostile (markup that runs script when a page puts it
in raw) and whose rows fail at parse time (`31/02/2024`, `1.2.3`, a row cut short) and in the
suite (a tax code that is markup). Its Data Docs are opened from disk in headless Chromium with
the network cut off: the index lists the results, the batch's page shows every quarantined row
under the rule that quarantined it, and no delivered string runs script. Then the tax DAG
through Airflow: the docs are rebuilt by every run, failed or not, and a site that cannot be
built never fails the run.
"""
from __future__ import annotations

import json
import re
import uuid
from collections import Counter
from pathlib import Path

import pytest

from browser_support import OFFLINE, chromium, rendered_dom
from conftest import SERVER, query
from htx import localpg, pipeline
from htx.cli import run_dag
from htx.feeds.config import FEEDS
from htx.migrate import migrate
from htx.ops import data_docs
from htx.ops.data_docs_site import ASSETS_DIR, VENDORED

TAX = FEEDS["tax_declarations"]
PARSE_RULE = "expect_column_values_to_parse_by_contract"   # how Data Docs show a parser's rule
HEADER = ("Mã số thuế;Tên người nộp thuế;Mẫu tờ khai;Kỳ tính thuế;Lần nộp;Ngày nộp;Doanh thu;"
          "Lợi nhuận trước thuế;Số thuế phải nộp")
# Each payload marks the page's <body> when it runs; shown as text, it marks nothing.
HOSTILE_FILE = "tax/to_khai_<svg onload=document.body.dataset.pwned=1>.csv"
HOSTILE_MST = "<img src=x onerror=document.body.dataset.pwned=2>"
HOSTILE_DATE = "<img src=y onerror=document.body.dataset.pwned=3>"
ROWS = [
    "5701001057;HTX Một;01/GTGT;01/2024;0;15/02/2024;1.000;;0",
    "5701001064;HTX ngày không có;01/GTGT;02/2024;0;31/02/2024;1.000;;0",      # is_date
    "5701001071;HTX số sai;01/GTGT;02/2024;0;15/03/2024;1.2.3;;0",            # is_vnd_integer
    f"5701001089;HTX ngày độc;01/GTGT;03/2024;0;{HOSTILE_DATE};1.000;;0",     # is_date
    "5701001057;HTX cụt;01/GTGT",                                              # field_count
    f"{HOSTILE_MST};<b>HTX</b><script>document.body.dataset.pwned=4</script>;01/GTGT;03/2024;0;"
    "15/04/2024;1.000;;0",                                                      # the suite's rules
]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The hostile file staged by the pipeline, and the Data Docs built from the warehouse."""
    name = f"htx_t_{uuid.uuid4().hex[:10]}"
    localpg.create_database(SERVER, name)
    dsn = SERVER.uri(name)
    landing = tmp_path_factory.mktemp("landing")
    (landing / HOSTILE_FILE).parent.mkdir(parents=True)
    (landing / HOSTILE_FILE).write_text("\n".join([HEADER, *ROWS]) + "\n", encoding="utf-8")
    out = tmp_path_factory.mktemp("data_docs")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AIRFLOW_CONN_HTX_WAREHOUSE", dsn)
        env.setenv("HTX_LANDING_URL", str(landing))
        migrate(dsn)
        run = pipeline.RunInfo(TAX.dag_id, f"docs__{uuid.uuid4().hex[:8]}", "test")
        (batch_id,) = pipeline.extract_to_landing(TAX.name, run)
        pipeline.stage_batches(TAX.name, [batch_id])
        index = data_docs.build(dsn, out)
    (page,) = (out / "validations" / TAX.name / f"batch-{batch_id}").rglob("*.html")
    yield {"dsn": dsn, "batch_id": batch_id, "index": index, "page": page, "out": out}
    localpg.drop_database(SERVER, name)


def _stored_result(site) -> dict:
    (stored,) = (site["out"] / data_docs.PROJECT_DIR).rglob(f"*batch-{site['batch_id']}.json")
    return json.loads(stored.read_text(encoding="utf-8"))


def test_every_row_quarantined_at_parse_time_is_shown_with_its_rule(site, tmp_path):
    quarantined = query(site["dsn"], "SELECT f->>'field', f->>'rule' FROM quarantine.tax_declarations,"
                                     " jsonb_array_elements(failures) AS f"
                                     " WHERE f->>'rule' NOT LIKE 'expect%%'")
    by_rule = Counter(quarantined)
    assert set(by_rule) == {("filed_on", "is_date"), ("revenue_vnd", "is_vnd_integer"),
                            ("row", "field_count")}
    stored = _stored_result(site)
    shown = {(r["expectation_config"]["kwargs"]["column"], r["expectation_config"]["kwargs"]["rule"]):
             r for r in stored["results"]
             if r["expectation_config"]["type"] == PARSE_RULE}
    assert {key: r["result"]["unexpected_count"] for key, r in shown.items()} == by_rule
    assert not any(r["success"] for r in shown.values())
    assert stored["success"] is False
    assert stored["statistics"]["unsuccessful_expectations"] >= len(by_rule) + 1   # + the MST

    dom = rendered_dom(tmp_path / "page", site["page"])
    text = _text(dom)
    assert "Status: Failed" in text and "Status: Succeeded" not in text
    assert "must pass the contract parser's rule is_date" in text
    assert "31/02/2024" in text and "1.2.3" in text
    assert "2 unexpected values found" in text   # both impossible dates, of 6 rows


def test_the_index_lists_the_results_with_the_network_cut_off(site, tmp_path):
    dom = rendered_dom(tmp_path / "index", site["index"])
    # Rows drawn by bootstrap-table from the page's data: one per batch, one per suite.
    rows = re.findall(r'<tr class="clickable-row" data-href="([^"]+)" data-index="\d+">', dom)
    assert len(rows) == 1 + len(FEEDS)
    assert any(f"/batch-{site['batch_id']}/" in row for row in rows)
    assert 'class="bootstrap-table' in dom
    page = _text(rendered_dom(tmp_path / "page", site["page"]))
    assert "Show All" in page and "Failed Only" in page   # the page's own scripts ran


def test_no_page_loads_anything_from_the_network(site):
    pages = [p for p in site["out"].rglob("*.html") if data_docs.PROJECT_DIR not in p.parts]
    assert len(pages) == 1 + len(FEEDS) + 1   # the index, a suite per feed, the batch
    fetched = re.compile(r'<(?:script|img)[^>]*\ssrc="https?:|<link[^>]*\shref="https?:'
                         r"|url\(['\"]?https?:")
    for page in pages:
        assert not fetched.search(page.read_text(encoding="utf-8")), page


def test_the_network_is_really_cut_off_in_these_tests(tmp_path):
    """What makes the two tests above mean something: a page that needs a CDN gets nothing."""
    needs_cdn = tmp_path / "cdn.html"
    needs_cdn.write_text('<html><head><script src="https://code.jquery.com/jquery-3.7.1.min.js">'
                         "</script></head><body><p id=probe>before</p><script>document."
                         "getElementById('probe').textContent = typeof jQuery;</script></body>"
                         "</html>", encoding="utf-8")
    dom = rendered_dom(tmp_path / "cdn", needs_cdn)
    assert '<p id="probe">undefined</p>' in dom


def test_no_delivered_string_runs_script_and_each_reads_as_delivered(site, tmp_path):
    doms = {name: rendered_dom(tmp_path / name, site[name]) for name in ("index", "page")}
    for name, dom in doms.items():
        body = re.search(r"<body[^>]*>", dom).group(0)
        assert "pwned" not in body, (name, body)
    for name, dom in doms.items():
        assert "&amp;lt;" not in dom and "&amp;amp;" not in dom, name   # escaped once, not twice
        assert "to_khai_&lt;svg onload=document.body.dataset.pwned=1&gt;.csv" in dom, name
    assert "&lt;img src=x onerror=document.body.dataset.pwned=2&gt;" in doms["page"]   # the MST
    assert "&lt;img src=y onerror=document.body.dataset.pwned=3&gt;" in doms["page"]   # parsing


def test_every_vendored_asset_is_there_with_its_licence():
    for asset in set(VENDORED.values()):
        assert (ASSETS_DIR / asset).is_file(), asset
    for package in ASSETS_DIR.iterdir():
        if package.is_dir():
            assert list(package.glob("LICENSE*")), package.name
    assert "npm pack" in (ASSETS_DIR / "README.md").read_text(encoding="utf-8")


def _text(dom: str) -> str:
    without_scripts = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", dom, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", without_scripts)).replace(" .", ".")


# --- rebuilt by every feed run -------------------------------------------------------------

GOOD_MONTH = "\n".join([HEADER, "5701001057;HTX Một;01/GTGT;05/2024;0;15/06/2024;2.000;;0"]) + "\n"


def _task_states(run) -> dict[str, str]:
    return {ti.task_id: str(getattr(ti.state, "value", ti.state))
            for ti in run.get_task_instances()}


def _docs_outcome(run) -> str:
    """What the run's build_data_docs task returned (its XCom, in Airflow's metadata)."""
    from sqlalchemy import text

    from airflow.utils.session import create_session

    with create_session() as session:
        (value,) = session.execute(text(
            "SELECT value FROM xcom WHERE dag_id = :dag AND run_id = :run"
            " AND task_id = 'build_data_docs' AND key = 'return_value'"),
            {"dag": run.dag_id, "run": run.run_id}).one()
    return value   # a JSON column: the returned string itself


def test_every_feed_run_that_delivers_rebuilds_the_docs_and_a_failed_build_fails_no_run(
        airflow_db, warehouse, landing, tmp_path, monkeypatch):
    docs = tmp_path / "docs"
    monkeypatch.setenv("HTX_DATA_DOCS_DIR", str(docs))
    (landing / "tax").mkdir()
    (landing / "tax" / "to_khai_202405.csv").write_text(GOOD_MONTH, encoding="utf-8")
    (landing / "tax" / "to_khai_202406.csv").write_text("Mã số thuế;Tên\n5701001057;HTX\n",
                                                        encoding="utf-8")   # rejected whole
    failed = run_dag(TAX.dag_id, must_succeed=False)
    assert str(getattr(failed.state, "value", failed.state)) == "failed"   # not masked
    assert _task_states(failed)["publish"] == "failed"
    assert _task_states(failed)["build_data_docs"] == "success"
    assert _docs_outcome(failed) == f"Data Docs rebuilt: {docs / 'index.html'}"
    (good,) = query(warehouse, "SELECT batch_id FROM audit.load_batch WHERE status = 'published'")
    assert f"batch-{good[0]}" in (docs / "index.html").read_text(encoding="utf-8")

    (landing / "tax" / "to_khai_202407.csv").write_text(GOOD_MONTH.replace("05/2024", "07/2024"),
                                                        encoding="utf-8")
    unbuildable = tmp_path / "a-file-not-a-folder"
    unbuildable.write_text("", encoding="utf-8")
    monkeypatch.setenv("HTX_DATA_DOCS_DIR", str(unbuildable))
    run = run_dag(TAX.dag_id)
    assert _task_states(run) == {task: "success" for task in _task_states(run)}
    assert _docs_outcome(run).startswith("Data Docs not rebuilt: FileExistsError")

    monkeypatch.setenv("HTX_DATA_DOCS_DIR", str(docs))
    (docs / "index.html").unlink()
    quiet = run_dag(TAX.dag_id)   # nothing new delivered: nothing new to show
    assert _task_states(quiet)["build_data_docs"] == "success"
    assert _docs_outcome(quiet).startswith("Data Docs unchanged")
    assert not (docs / "index.html").exists()
