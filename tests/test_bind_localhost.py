"""Local servers listen on 127.0.0.1 only: the registration API stand-in, the local PostgreSQL and
Airflow's UI/API under `make up` (AIRFLOW__API__HOST, set by htx.devenv.prepare). The compose
stack publishes its ports on 127.0.0.1 only (tests/test_docker_compose.py)."""
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import SERVER, query
from htx.registry_api.standin import RegistryStandIn

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
            "from htx import devenv; devenv.prepare();"
            "print(before, conf.get('api', 'host'))")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-2:] == ["0.0.0.0", "127.0.0.1"]
