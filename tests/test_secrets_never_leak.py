"""No secret in an error, a log line, an alert or an audit row, whatever the failure (issue 11 §6).

A bearer token with a trailing newline (as `echo token > file` leaves it) used to reach, in full,
the webhook payload, the log and audit.load_batch.error: `requests` refuses the header and quotes
it. Each path is tried here through the real run — the DAG's task (`dag.test()`), its failure
callback, real SMTP and HTTP receivers (tests/ops_support.py), the warehouse — and the token is
looked for in everything they wrote. `make up` hands the stand-in API its token off the command
line, where `ps` would show it to every local user.
"""
from __future__ import annotations

import json
import logging
import secrets
import socket
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests

from conftest import query
from faults_support import valid_codes
from htx.alerts import on_task_failure
from htx.cli import run_dag
from ops_support import alert_receivers  # noqa: F401 (a fixture)

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


def item(code: str) -> dict:
    return {"entity_code": code, "entity_type": "HTX", "name": "Hợp tác xã Thử",
            "main_vsic": "0111", "locality": "Hạ Long", "registered_on": "2020-01-01",
            "status": "dang_hoat_dong", "status_since": "2020-01-01",
            "updated_at": "2024-03-01T10:00:00+07:00"}


def task_logs_since(started: float) -> str:
    """Every task log file Airflow wrote since `started` (AIRFLOW_HOME/logs)."""
    import os

    folder = Path(os.environ["AIRFLOW_HOME"]) / "logs"
    return "".join(p.read_text(errors="replace") for p in folder.rglob("*")
                   if p.is_file() and p.stat().st_mtime >= started)


def test_a_token_with_a_trailing_newline_is_refused_and_appears_nowhere(
        warehouse, landing, registry_api, airflow_db, alert_receivers,  # noqa: F811
        monkeypatch, caplog, capfd):
    token = f"s3cr3t-{secrets.token_urlsafe(16)}"
    server = registry_api([item(code) for code in valid_codes(2)])
    monkeypatch.setenv("AIRFLOW_CONN_HTX_REGISTRY_API", json.dumps(
        {"conn_type": "http", "host": server.base_url, "password": token + "\n"}))
    alert_receivers.clear()
    started = time.time()
    with caplog.at_level(logging.DEBUG):
        run = run_dag("htx_feed_registrations", must_succeed=False)

    # A refused setting: the run fails at once, naming the connection and what is wrong.
    assert str(getattr(run.state, "value", run.state)) == "failed"
    assert server.requests == [], "no request went out with the broken header"
    (mail,) = alert_receivers.mails
    (post,) = alert_receivers.posts
    assert "htx_registry_api" in post["json"]["error"]
    assert "trailing newline" in post["json"]["error"]
    # The token, in no output of any path: log, alert e-mail, webhook, audit row, task exception.
    written = {
        "log": caplog.text + "".join(capfd.readouterr()) + task_logs_since(started),
        "alert e-mail": mail.as_string(),
        "webhook": json.dumps(post, ensure_ascii=False),
        "audit rows": json.dumps(query(warehouse, "SELECT * FROM audit.load_batch"),
                                 default=str, ensure_ascii=False),
    }
    assert "AirflowFailException" in written["log"]   # the task's exception was logged, ...
    for path, text in written.items():
        assert token not in text, f"the token leaked into the {path}"


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_webhook_refusing_its_own_header_logs_no_secret(alert_receivers, monkeypatch,  # noqa: F811
                                                          caplog):
    """The alert channel's own credential, broken the same way, stays out of the log and of
    the other channel's message."""
    secret = f"hook-{secrets.token_urlsafe(16)}"
    monkeypatch.setenv("AIRFLOW_CONN_HTX_ALERT_WEBHOOK", json.dumps({
        "conn_type": "http", "host": f"http://127.0.0.1:{closed_port()}/hook",
        "extra": {"Authorization": f"Bearer {secret}\n"}}))
    monkeypatch.setenv("AIRFLOW_CONN_HTX_WAREHOUSE",
                       f"postgresql://htx:{secret}@127.0.0.1:{closed_port()}/htx_warehouse")
    alert_receivers.clear()
    context = {"dag": SimpleNamespace(dag_id="htx_feed_tax_declarations"), "run_id": "r1",
               "ti": SimpleNamespace(task_id="merge_into_core"),
               "exception": RuntimeError(f"could not connect with password={secret}")}
    with caplog.at_level(logging.DEBUG):
        on_task_failure(context)
    assert "InvalidHeader" in caplog.text   # the channel's failure is told, ...
    (mail,) = alert_receivers.mails
    for text in (caplog.text, mail.as_string()):
        assert secret not in text          # ... its secret is not, nor the warehouse password


def test_make_up_hands_the_stand_in_its_token_off_the_command_line():
    from htx.cli import start_standin_api
    from htx.paths import LOCAL_DIR
    from htx.sample.registrations import generate

    items = LOCAL_DIR / "sample" / "registrations.json"   # what `make up` serves
    items.parent.mkdir(parents=True, exist_ok=True)
    items.write_text(json.dumps(generate()[:3], ensure_ascii=False))
    port = closed_port()
    process, token = start_standin_api(port)
    try:
        url = f"http://127.0.0.1:{port}/api/v1/entities"
        deadline = time.monotonic() + 60
        while True:
            try:
                answer = requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=5)
                break
            except requests.ConnectionError:
                assert process.poll() is None and time.monotonic() < deadline, "never started"
                time.sleep(0.2)
        assert answer.status_code == 200 and len(answer.json()["items"]) == 3
        assert requests.get(url, timeout=5).status_code == 401
        command_line = Path(f"/proc/{process.pid}/cmdline").read_bytes().decode()
        assert "standin-api" in command_line and token not in command_line
    finally:
        process.terminate()
        process.wait(30)
