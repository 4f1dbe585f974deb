"""Operations end to end, as the province's operator lives it.

The tax department delivers a month file with a renamed column. Its DAG run fails (Airflow,
dag.test()); ops get an e-mail and a webhook (real local SMTP and HTTP servers) naming the feed,
the file and the reason; audit.failed_loads lists it with the link to the run; the run publishes
no core Asset, so the marts keep their last complete state. The corrected file arrives and one
documented command (`python -m htx recover --feed tax_declarations`) brings everything back:
nothing lost, nothing twice. Then quarantine, Data Docs, revalidation after a suite change, and a
replay from the landing zone that rebuilds exactly what the incremental loads built.
"""
from __future__ import annotations

import json
import os
import secrets
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from psycopg2 import sql

from conftest import SERVER, as_dags_login, query
from htx import db, localpg, pipeline, validation
from htx.cli import main, run_dag
from htx.feeds.config import FEEDS
from htx.migrate import migrate
from htx.ops import reprocess
from htx.ops.failures import failed_loads
from htx.ops.notify import run_url
from htx.paths import EXPECTATIONS_DIR
from htx.sample import tax_declarations as tax_sample
from htx.sample.registrations import generate
from ops_support import MAIL_TO, alert_receivers  # noqa: F401 (a fixture)

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

TAX = FEEDS["tax_declarations"]
BROKEN = "tax/to_khai_202411.csv"
AIRFLOW_BASE = "https://airflow.example.org/htx"   # HTX_AIRFLOW_BASE_URL in these tests
BAD_MST = "5799347814"   # the sample's tax code with a wrong check digit (quarantined)


@dataclass
class Province:
    dsn: str
    landing: Path
    docs: Path


def _load_through_the_pipeline(feed_name: str) -> None:
    """The registry's sample, loaded by the pipeline's own steps (no Airflow: faster)."""
    run = pipeline.RunInfo("htx_feed_registrations", f"setup__{uuid.uuid4().hex[:8]}", "setup")
    batches = pipeline.extract_to_landing(feed_name, run)
    staged = pipeline.stage_batches(feed_name, batches)["staged"]
    pipeline.merge_batches(feed_name, staged)
    pipeline.publish_batches(feed_name, batches)


@pytest.fixture(scope="module")
def province(tmp_path_factory, airflow_db, alert_receivers):  # noqa: F811
    """A warehouse holding the registry, and the tax department's sample drops (ten good month
    files, one broken) waiting in the landing zone."""
    from htx.registry_api.standin import RegistryStandIn

    name = f"htx_t_{uuid.uuid4().hex[:10]}"
    localpg.create_database(SERVER, name)
    dsn = SERVER.uri(name)
    landing = tmp_path_factory.mktemp("landing")
    docs = tmp_path_factory.mktemp("data_docs")
    items = generate()
    token = secrets.token_urlsafe(12)
    standin = RegistryStandIn(items, token).start()
    migrate(dsn)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AIRFLOW_CONN_HTX_WAREHOUSE", as_dags_login(dsn))
        env.setenv("HTX_LANDING_URL", str(landing))
        env.setenv("AIRFLOW_CONN_HTX_REGISTRY_API", json.dumps(
            {"conn_type": "http", "host": standin.base_url, "password": token}))
        env.setenv("HTX_AIRFLOW_BASE_URL", AIRFLOW_BASE + "/")
        env.setenv("HTX_DATA_DOCS_DIR", str(docs))
        env.setenv("HTX_EXPORT_DIR", str(tmp_path_factory.mktemp("exports")))
        _load_through_the_pipeline("registrations")
        tax_sample.write_files(landing, items)
        yield Province(dsn, landing, docs)
    standin.stop()
    localpg.drop_database(SERVER, name)


def asset_events(dag_id: str, run_id: str) -> list[str]:
    """The Assets a run updated, from Airflow's metadata database (what schedules the marts)."""
    from sqlalchemy import text

    from airflow.utils.session import create_session

    with create_session() as session:
        return [name for (name,) in session.execute(text(
            "SELECT a.name FROM asset_event e JOIN asset a ON a.id = e.asset_id"
            " WHERE e.source_dag_id = :dag AND e.source_run_id = :run"),
            {"dag": dag_id, "run": run_id})]


def warehouse_state(dsn: str) -> dict:
    """Everything a replay must reproduce: core and marts whole, quarantine and the batches'
    counts; timestamps of when things ran (quarantined_at, refresh_log) left out."""
    def rows(statement, *tables):
        conn = db.connect(dsn)
        try:
            with conn, conn.cursor() as cur:
                cur.execute(sql.SQL(statement).format(*tables))
                return cur.fetchall()
        finally:
            conn.close()

    state = {}
    for feed in FEEDS.values():
        state[feed.core_table] = rows("SELECT t::text FROM {} AS t ORDER BY 1",
                                      db.qualified(feed.core_table))
        state[feed.quarantine_table] = rows(
            "SELECT batch_id, source_object, source_row, reason, failures::text, record::text"
            " FROM {} ORDER BY 1, 2, 3", db.qualified(feed.quarantine_table))
    for (table,) in query(dsn, "SELECT table_name FROM information_schema.tables WHERE"
                               " table_schema = 'mart' AND table_name <> 'refresh_log'"):
        state[f"mart.{table}"] = rows("SELECT t::text FROM {} AS t ORDER BY 1",
                                      sql.Identifier("mart", table))
    state["audit.load_batch"] = query(dsn, "SELECT batch_id, feed, status, rows_in, rows_loaded,"
                                           " rows_quarantined FROM audit.load_batch ORDER BY 1")
    state["audit.source_cursor"] = query(dsn, "SELECT feed, cursor_value, batch_id"
                                              " FROM audit.source_cursor ORDER BY 1")
    return state


@pytest.fixture(scope="module")
def failed_run(province, alert_receivers):  # noqa: F811
    """The tax DAG over the drops: the broken file is rejected and the run fails. What ops can
    see right after it is captured here."""
    alert_receivers.clear()
    run = run_dag(TAX.dag_id, must_succeed=False)
    dsn = province.dsn
    return {
        "state": str(getattr(run.state, "value", run.state)), "run_id": run.run_id,
        "mails": list(alert_receivers.mails), "posts": list(alert_receivers.posts),
        "rejected": query(dsn, "SELECT batch_id, error FROM audit.load_batch"
                               " WHERE feed = %s AND status = 'rejected'", (TAX.name,)),
        "failed_loads": query(dsn, "SELECT feed, batch_id, status, source_object, error, dag_id,"
                                   " run_id, task_id, run_url, resolved_by_batch,"
                                   " landed_objects FROM audit.failed_loads"),
        "failed_loads_today": query(dsn, "SELECT count(*) FROM audit.failed_loads(1)"),
        "run_urls": [f["run_url"] for f in failed_loads()],
        "failed_loads_none": query(dsn, "SELECT count(*) FROM audit.failed_loads(0)"),
        "asset_events": asset_events(TAX.dag_id, run.run_id),
        "refresh_log": query(dsn, "SELECT count(*) FROM mart.refresh_log"),
        "published": query(dsn, "SELECT count(*) FROM audit.load_batch WHERE feed = %s"
                                " AND status = 'published'", (TAX.name,))[0][0],
    }


def test_a_broken_tax_file_fails_its_dag_run(failed_run):
    assert failed_run["state"] == "failed"
    (batch_id, error), = failed_run["rejected"]
    assert "Doanh thu" in error and "to_khai_202411" in error
    assert failed_run["published"] == 10   # the good month files of the same run still load


def test_ops_get_an_email_with_the_feed_the_file_and_the_reason(failed_run):
    (mail,) = failed_run["mails"]
    assert mail["X-Envelope-To"] == ", ".join(MAIL_TO)
    assert "tax_declarations" in mail["Subject"] and BROKEN in mail["Subject"]
    assert "missing column(s) 'Doanh thu'" in mail["Subject"]   # the reason, in one line
    body = mail.get_content()
    (batch_id, _), = failed_run["rejected"]
    for expected in ("tax_declarations", BROKEN, "Tổng doanh thu", f"batches: {batch_id}",
                     failed_run["run_id"], run_url(TAX.dag_id, failed_run["run_id"],
                                                   AIRFLOW_BASE)):
        assert expected in body, expected


def test_ops_get_a_webhook_with_the_same_facts(failed_run, alert_receivers):  # noqa: F811
    (post,) = failed_run["posts"]
    assert post["path"] == "/htx-alerts"
    assert post["headers"]["X-Htx-Token"] == alert_receivers.token
    payload = post["json"]
    (batch_id, _), = failed_run["rejected"]
    assert payload["kind"] == "failed_load"
    assert payload["feed"] == "tax_declarations"
    assert payload["dag_id"] == TAX.dag_id and payload["run_id"] == failed_run["run_id"]
    assert payload["task_id"] == "publish"
    assert payload["batches"] == [batch_id] and payload["files"] == [BROKEN]
    assert "Doanh thu" in payload["error"] and BROKEN in payload["error"]
    assert payload["run_url"] == (f"{AIRFLOW_BASE}/dags/{TAX.dag_id}/runs/"
                                  + failed_run["run_id"].replace(":", "%3A").replace("+", "%2B"))


def test_audit_failed_loads_lists_it_with_the_run_link(failed_run):
    (row,) = failed_run["failed_loads"]
    feed, batch_id, status, source, error, dag_id, run_id, task_id, url, resolved, landed = row
    assert (feed, status, source, dag_id, run_id, task_id) == (
        "tax_declarations", "rejected", BROKEN, TAX.dag_id, failed_run["run_id"], "publish")
    assert "Doanh thu" in error and resolved is None
    assert len(landed) == 1 and landed[0].endswith(".csv") and "_landed/tax_declarations" in landed[0]
    # SQL encodes the run id exactly as the alert does; the view's default base URL is local.
    assert url == run_url(TAX.dag_id, run_id, "http://127.0.0.1:8080")
    assert failed_run["failed_loads_today"] == [(1,)] and failed_run["failed_loads_none"] == [(0,)]
    # The commands pass this environment's HTX_AIRFLOW_BASE_URL.
    assert failed_run["run_urls"] == [run_url(TAX.dag_id, run_id, AIRFLOW_BASE)]


def test_the_failed_run_publishes_no_core_asset_so_the_marts_are_not_refreshed(failed_run):
    assert failed_run["asset_events"] == []
    assert failed_run["refresh_log"] == [(0,)]


@pytest.fixture(scope="module")
def recovered(failed_run, province, alert_receivers):  # noqa: F811
    """The tax department re-sends November's file, corrected; ops run the one command."""
    broken = province.landing / BROKEN
    broken.write_bytes(broken.read_bytes().replace("Tổng doanh thu".encode(), "Doanh thu".encode(),
                                                   1))
    alert_receivers.clear()
    code = main(["recover", "--feed", "tax_declarations"])
    dsn = province.dsn
    (batch_id,) = query(dsn, "SELECT max(batch_id) FROM audit.load_batch WHERE feed = %s",
                        (TAX.name,))[0]
    (run_id,) = query(dsn, "SELECT run_id FROM audit.load_batch WHERE batch_id = %s",
                      (batch_id,))[0]
    return {"code": code, "batch_id": batch_id, "run_id": run_id,
            "mails": list(alert_receivers.mails), "posts": list(alert_receivers.posts),
            "asset_events": asset_events(TAX.dag_id, run_id),
            "state": warehouse_state(dsn)}


def test_the_corrected_file_and_one_command_bring_everything_back(recovered, failed_run,
                                                                  province):
    dsn = province.dsn
    assert recovered["code"] == 0
    assert recovered["mails"] == [] and recovered["posts"] == []
    assert recovered["asset_events"] == ["htx_core_tax_declaration"]
    (rows_in, loaded, quarantined), = query(
        dsn, "SELECT rows_in, rows_loaded, rows_quarantined FROM audit.load_batch"
             " WHERE batch_id = %s AND status = 'published' AND source_object = %s",
        (recovered["batch_id"], BROKEN))
    assert rows_in == loaded + quarantined and loaded > 0
    assert query(dsn, "SELECT count(*) FROM core.tax_declaration WHERE source_file = %s",
                 (BROKEN,)) == [(loaded,)]
    # The failure is resolved by the new delivery, and the marts were rebuilt — noting the
    # feeds that have never delivered here as stale.
    (batch_id, _), = failed_run["rejected"]
    assert query(dsn, "SELECT resolved_by_batch FROM audit.failed_loads WHERE batch_id = %s",
                 (batch_id,)) == [(recovered["batch_id"],)]
    assert query(dsn, "SELECT stale_feeds FROM mart.refresh_log") == [
        (["support_lending", "credit_fund_reports", "annual_reports", "plan_targets"],)]
    assert query(dsn, "SELECT count(*) > 0 FROM mart.plan_indicator") == [(True,)]


def test_nothing_is_lost_or_loaded_twice(recovered, province):
    dsn = province.dsn
    assert query(dsn, "SELECT count(*) FROM audit.unreconciled_batch") == [(0,)]
    # Every file's rows come from one delivery, and exactly its loaded rows are in core.
    assert query(dsn, "SELECT count(*) FROM (SELECT source_file FROM core.tax_declaration"
                      " GROUP BY source_file HAVING count(DISTINCT batch_id) > 1) AS twice") == [(0,)]
    assert query(dsn, "SELECT b.batch_id FROM audit.load_batch AS b WHERE b.feed = %s"
                      " AND b.status = 'published' AND b.rows_loaded <> (SELECT count(*) FROM"
                      " core.tax_declaration AS c WHERE c.batch_id = b.batch_id)",
                 (TAX.name,)) == []
    assert query(dsn, "SELECT count(*) FROM core.tax_declaration") == query(
        dsn, "SELECT sum(rows_loaded) FROM audit.load_batch WHERE feed = %s"
             " AND status = 'published'", (TAX.name,))
    assert query(dsn, "SELECT count(DISTINCT source_file) FROM core.tax_declaration") == [(11,)]


def test_quarantined_rows_are_shown_per_batch_and_per_feed(recovered, province, capsys):
    (batch_id,) = query(province.dsn, "SELECT batch_id FROM quarantine.tax_declarations"
                                      " WHERE record->>'Mã số thuế' = %s", (BAD_MST,))[0]
    assert main(["quarantine", "--batch", str(batch_id)]) == 0
    shown = capsys.readouterr().out
    assert f"batch {batch_id}" in shown and BAD_MST in shown and "MST check" in shown
    assert "1 quarantined row(s) shown" in shown
    assert main(["quarantine", "--feed", "tax_declarations"]) == 0
    assert "3 quarantined row(s) shown" in capsys.readouterr().out


def test_data_docs_show_each_batch_with_what_failed(recovered, province, capsys):
    assert main(["data-docs"]) == 0
    index = province.docs / "index.html"
    assert str(index) in capsys.readouterr().out and index.is_file()
    (batch_id,) = query(province.dsn, "SELECT batch_id FROM quarantine.tax_declarations"
                                      " WHERE record->>'Mã số thuế' = %s", (BAD_MST,))[0]
    (page,) = (province.docs / "validations" / "tax_declarations" / f"batch-{batch_id}").rglob(
        "*.html")
    html = page.read_text(encoding="utf-8")
    assert "tax_code_check_digit_ok" in html and "tax/to_khai_2024" in html
    assert BAD_MST in html   # the unexpected value, as audit kept it
    assert f"batch-{batch_id}" in index.read_text(encoding="utf-8")


def test_revalidation_after_a_suite_change_loads_the_rows_that_now_pass(
        recovered, province, monkeypatch, tmp_path):
    """The check-digit rule is dropped from the suite: the row it quarantined now loads, and
    the batch's counts still reconcile."""
    dsn = province.dsn
    suite = json.loads((EXPECTATIONS_DIR / "tax_declarations.json").read_text(encoding="utf-8"))
    suite["expectations"] = [e for e in suite["expectations"]
                             if e["kwargs"].get("column") != "tax_code_check_digit_ok"]
    (tmp_path / "tax_declarations.json").write_text(json.dumps(suite, ensure_ascii=False),
                                                    encoding="utf-8")
    monkeypatch.setattr(validation, "EXPECTATIONS_DIR", tmp_path)
    (batch_id, loaded, quarantined), = query(
        dsn, "SELECT batch_id, rows_loaded, rows_quarantined FROM audit.load_batch"
             " WHERE batch_id = (SELECT batch_id FROM quarantine.tax_declarations"
             "                   WHERE record->>'Mã số thuế' = %s)", (BAD_MST,))
    done = reprocess.revalidate("tax_declarations", refresh_marts=False)
    assert batch_id in [b["batch_id"] for b in done["batches"]]
    assert query(dsn, "SELECT rows_loaded, rows_quarantined, status FROM audit.load_batch"
                      " WHERE batch_id = %s", (batch_id,)) == [(loaded + 1, quarantined - 1,
                                                                "published")]
    assert query(dsn, "SELECT count(*) FROM core.tax_declaration WHERE tax_code = %s",
                 (BAD_MST,)) == [(1,)]
    assert query(dsn, "SELECT count(*) FROM quarantine.tax_declarations") == [(2,)]
    assert query(dsn, "SELECT count(*) FROM audit.unreconciled_batch") == [(0,)]


def test_replay_from_the_landing_zone_rebuilds_what_the_incremental_loads_built(
        recovered, province, capsys):
    """Core, quarantine, the batches' counts and the marts, rebuilt from landed objects alone
    under the committed suite, equal the incrementally loaded warehouse (the revalidation above
    undone with them)."""
    assert main(["replay"]) == 0
    assert '"tax_declarations"' in capsys.readouterr().out
    rebuilt = warehouse_state(province.dsn)
    incremental = recovered["state"]
    assert rebuilt.keys() == incremental.keys()
    for part in incremental:
        assert rebuilt[part] == incremental[part], part
    assert len(incremental["core.tax_declaration"]) > 4000
    assert len(incremental["core.registration_state"]) > 1000
    assert len(incremental["mart.plan_indicator"]) > 1000
    assert query(province.dsn, "SELECT count(*), count(DISTINCT dag_run_id) FROM mart.refresh_log"
                 ) == [(2, 2)]
