"""Local servers listen on 127.0.0.1 only: the registration API stand-in, the local PostgreSQL and
everything `make up` starts — Airflow's UI/API (AIRFLOW__API__HOST, set by htx.dev.devenv.prepare),
and no log server on 0.0.0.0 or [::]. The compose stack publishes its ports on 127.0.0.1 only
(tests/test_docker_compose.py)."""
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import SERVER, query
from htx.dev.registry_standin import RegistryStandIn

ROOT = Path(__file__).resolve().parents[1]


def other_address() -> str | None:
    """An address of this machine that is not loopback, if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.254.254.254", 1))  # no packet is sent: only picks a route
            address = probe.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


def test_the_registry_stand_in_listens_on_loopback_only():
    server = RegistryStandIn([], "t").start()
    try:
        host, port = server.server.server_address[:2]
        assert host == "127.0.0.1"
        address = other_address()
        if address is None:
            pytest.skip("this machine has no other interface to try")
        with socket.socket() as probe:
            probe.settimeout(2)
            assert probe.connect_ex((address, port)) != 0, f"reachable on {address}"
    finally:
        server.stop()


def test_the_local_postgresql_listens_on_loopback_only():
    assert query(SERVER.uri("postgres"), "SHOW listen_addresses") == [("127.0.0.1",)]


def test_airflow_serves_its_ui_and_api_on_loopback_under_make_up(tmp_path):
    """From a clean environment: Airflow's own default is every interface; prepare() makes it
    127.0.0.1 (what `make up` runs `airflow standalone` with)."""
    keep = ("PATH", "HOME", "LANG", "AIRFLOW_CONN_HTX_WAREHOUSE",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.update({"PYTHONPATH": str(ROOT / "plugins"), "AIRFLOW_HOME": str(tmp_path)})
    code = ("from airflow.configuration import conf; before = conf.get('api', 'host');"
            "from htx.dev import devenv; devenv.prepare();"
            "print(before, conf.get('api', 'host'))")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-2:] == ["0.0.0.0", "127.0.0.1"]


def _listening(process) -> set[tuple[str, int]]:
    """(address, port) of every socket listening in `process` and its descendants."""
    import psutil

    found = set()
    for each in [process, *process.children(recursive=True)]:
        try:
            found |= {(c.laddr.ip, c.laddr.port) for c in each.net_connections(kind="inet")
                      if c.status == psutil.CONN_LISTEN}
        except psutil.NoSuchProcess:
            continue
    return found


def test_make_up_listens_on_loopback_only_and_unpauses_every_project_dag(tmp_path):
    """`python -m htx up` as `make up` runs it, with its own metadata database, warehouse and
    Airflow home: once every component heartbeats, no process of the stack listens beyond
    127.0.0.1 (Airflow's scheduler and triggerer log servers would take 0.0.0.0 and [::]), and
    every DAG of the project is unpaused — the marts too, so a feed's Asset is never dropped."""
    import json
    import signal
    import time
    import urllib.request
    import uuid

    import psutil

    from htx import stack
    from htx.dev import localpg
    from htx.feeds.config import FEEDS

    metadata, warehouse = f"airflow_up_{uuid.uuid4().hex[:8]}", f"htx_t_{uuid.uuid4().hex[:10]}"
    for name in (metadata, warehouse):
        localpg.create_database(SERVER, name)
    port = stack.free_port()
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    env.update({"PYTHONPATH": str(ROOT / "plugins"), "AIRFLOW_HOME": str(tmp_path / "airflow"),
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": SERVER.uri(metadata,
                                                                  "postgresql+psycopg2"),
                "AIRFLOW_CONN_HTX_WAREHOUSE": SERVER.uri(warehouse),
                "HTX_LANDING_URL": str(tmp_path / "landing"), "NO_PROXY": "127.0.0.1"})
    expected = {f.dag_id for f in FEEDS.values()} | {"htx_plan_marts", "htx_ops_freshness"}
    with open(tmp_path / "up.log", "wb") as log:
        up = subprocess.Popen([sys.executable, "-m", "htx", "up", "--port", str(port)], env=env,
                              cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        deadline, dags = time.monotonic() + 420, {}
        while time.monotonic() < deadline and up.poll() is None:
            healthy = stack.health(f"http://127.0.0.1:{port}")
            dags = dict(query(SERVER.uri(metadata), "SELECT dag_id, is_paused FROM dag")
                        ) if healthy else {}
            if all(healthy.get(p, {}).get("status") == "healthy" for p in stack.MONITORED) \
                    and expected <= set(dags):
                break
            time.sleep(2)
        else:
            pytest.fail(f"up did not become healthy: {(tmp_path / 'up.log').read_text()[-3000:]}")
        assert {dag_id: dags[dag_id] for dag_id in expected} == dict.fromkeys(expected, False)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/version") as answer:
            assert "version" in json.load(answer)
        listening = _listening(psutil.Process(up.pid))
        assert ("127.0.0.1", port) in listening
        assert {address for address, _ in listening} <= {"127.0.0.1", "::1"}, listening
        # Ctrl-C once up says it may be pressed, as an operator would (its own health wait may
        # still be polling when this test's ends).
        while "Ctrl-C stops it" not in (tmp_path / "up.log").read_text() and up.poll() is None \
                and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        started = psutil.Process(up.pid).children(recursive=True) if up.poll() is None else []
        os.killpg(up.pid, signal.SIGINT)   # Ctrl-C: up stops its components
        try:
            up.wait(timeout=90)
        except subprocess.TimeoutExpired:
            os.kill(up.pid, signal.SIGUSR1)   # up prints its threads' stacks (faulthandler)
            time.sleep(2)
            pytest.fail("up did not stop within 90 s of Ctrl-C; its log and stacks: "
                        f"{(tmp_path / 'up.log').read_text()[-6000:]}")
        finally:
            if up.poll() is None:
                up.kill()
            for process in started:
                if process.is_running():
                    process.kill()
        for name in (metadata, warehouse):
            localpg.drop_database(SERVER, name)
