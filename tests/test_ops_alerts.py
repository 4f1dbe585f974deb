"""The failure notifier on its own: it still alerts when the warehouse is what failed, a broken
channel never hides the failure or stops the other channel, and with no channel configured the
failure is only logged. Real local SMTP and HTTP receivers (tests/ops_support.py)."""
from __future__ import annotations

import json
import logging
import socket
from types import SimpleNamespace

import pytest

from htx.alerts import on_task_failure
from htx.ops import notify
from ops_support import alert_receivers  # noqa: F401 (a fixture)

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


def failure_context(error: Exception) -> dict:
    """What Airflow hands the callback: the DAG, the run id, the task instance, the exception."""
    return {"dag": SimpleNamespace(dag_id="htx_feed_tax_declarations"),
            "run_id": "scheduled__2024-12-01T23:30:00+00:00",
            "ti": SimpleNamespace(task_id="merge_into_core"), "exception": error}


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]   # nothing listens there once the probe is closed


def test_a_failure_with_the_warehouse_down_still_alerts(alert_receivers, monkeypatch):  # noqa: F811
    monkeypatch.setenv("AIRFLOW_CONN_HTX_WAREHOUSE",
                       f"postgresql://htx:secret@127.0.0.1:{closed_port()}/htx_warehouse")
    alert_receivers.clear()
    on_task_failure(failure_context(RuntimeError("could not connect to server")))
    (post,) = alert_receivers.posts
    payload = post["json"]
    assert payload["feed"] == "tax_declarations" and payload["task_id"] == "merge_into_core"
    assert payload["error"] == "RuntimeError: could not connect to server"
    assert "could not be read or marked failed" in payload["details"][0]["warehouse"]
    assert payload["run_url"].endswith(
        "/dags/htx_feed_tax_declarations/runs/scheduled__2024-12-01T23%3A30%3A00%2B00%3A00")
    (mail,) = alert_receivers.mails
    assert "merge_into_core" in mail.get_content()


def test_a_broken_channel_neither_raises_nor_stops_the_other(alert_receivers, monkeypatch):  # noqa: F811
    monkeypatch.setenv("AIRFLOW_CONN_HTX_ALERT_WEBHOOK", json.dumps(
        {"conn_type": "http", "host": f"http://127.0.0.1:{closed_port()}/gone"}))
    alert_receivers.clear()
    outcome = notify.send(notify.Alert(kind="failed_load", error="boom", feed="annual_reports"))
    assert outcome["email"] == "sent" and "ConnectionError" in outcome["webhook"]
    assert len(alert_receivers.mails) == 1 and alert_receivers.posts == []


def test_with_no_channel_configured_the_alert_is_logged_only(monkeypatch, caplog):
    monkeypatch.delenv("AIRFLOW_CONN_HTX_ALERT_SMTP", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_HTX_ALERT_WEBHOOK", raising=False)
    with caplog.at_level(logging.ERROR, logger="htx.alerts"):
        outcome = notify.send(notify.Alert(kind="late_feed", error="tax_declarations late",
                                           feed="tax_declarations"))
    assert outcome == {"email": "not configured", "webhook": "not configured"}
    assert "[htx] feed late: tax_declarations: tax_declarations late" in caplog.text


def test_run_links_encode_the_run_id_and_use_the_configured_base(monkeypatch):
    monkeypatch.setenv("HTX_AIRFLOW_BASE_URL", "https://airflow.example.org/")
    assert notify.run_url("htx_plan_marts", "asset_triggered__2024-01-01T00:00:00+00:00") == (
        "https://airflow.example.org/dags/htx_plan_marts/runs/"
        "asset_triggered__2024-01-01T00%3A00%3A00%2B00%3A00")
    monkeypatch.delenv("HTX_AIRFLOW_BASE_URL")
    assert notify.run_url("d", "r/1 x") == "http://127.0.0.1:8080/dags/d/runs/r%2F1%20x"


def test_sql_builds_the_same_run_links(warehouse):
    from conftest import query

    for run_id in ("manual__2024-12-01T23:30:00.123456+00:00", "r/1 x+ý~-._", "hợp tác xã"):
        assert query(warehouse, "SELECT audit.airflow_run_url(%s, %s, %s)",
                     ("htx_feed_tax_declarations", run_id, "https://airflow.example.org/")) == [
            (notify.run_url("htx_feed_tax_declarations", run_id, "https://airflow.example.org"),)]
    assert query(warehouse, "SELECT audit.airflow_run_url('d', 'r')") == [
        ("http://127.0.0.1:8080/dags/d/runs/r",)]
