"""Test set-up: a real PostgreSQL (the local server), real Airflow, real Great Expectations.

Tests never touch a configured warehouse: each test that needs one gets a fresh database on the
local server, migrated by the project's own migration command (as the owner), and dropped
afterwards. The DAGs log in to it as they do everywhere: as their own login (`as_dags_login`),
a member of htx_loader, never the superuser.
"""
from __future__ import annotations

import functools
import json
import os
import secrets
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugins"))

from htx.dev import devenv, localpg  # noqa: E402
from htx.paths import LOCAL_DIR  # noqa: E402

# `make test` runs the suite in parallel processes (pytest-xdist: gw0, gw1, …), a file per process
# at a time; each has its own Airflow metadata database, home and output folders. The warehouses
# are per test already.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
METADATA_DB = f"airflow_test_{WORKER}"
# The server's address is known before it runs (Airflow reads the environment naming it when it
# is imported); the server itself starts on first need (`local_server`, `SERVER`): tests of
# parsers alone run without one.
PLANNED = localpg.planned()
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = PLANNED.uri(METADATA_DB, "postgresql+psycopg2")
os.environ["AIRFLOW_CONN_HTX_WAREHOUSE"] = PLANNED.uri("postgres")  # replaced by `warehouse`
os.environ["AIRFLOW_HOME"] = str(LOCAL_DIR / f"airflow-test-{WORKER}")
os.environ["HTX_EXPORT_DIR"] = str(LOCAL_DIR / f"exports-test-{WORKER}")  # the marts DAG's exports
os.environ["HTX_DATA_DOCS_DIR"] = str(LOCAL_DIR / f"data_docs-test-{WORKER}")  # feed runs build them
os.environ.pop("AIRFLOW_CONN_HTX_REGISTRY_API", None)
os.environ.pop("HTX_LANDING_URL", None)
devenv.prepare()   # the environment is set: it starts nothing


@functools.cache
def _started() -> localpg.LocalServer:
    server = localpg.ensure_running(databases=(METADATA_DB,))
    if server != PLANNED:
        pytest.exit(f"the local server moved from port {PLANNED.port} (taken) to {server.port},"
                    " which this process's environment does not name: run the tests again", 1)
    return server


class _OnFirstUse:
    """The local server, started (with this process's metadata database) by the first test that
    reads any of its attributes."""

    def __getattr__(self, name: str):
        if name.startswith("_"):  # pytest looks for its own markers on conftest's objects
            raise AttributeError(name)
        return getattr(_started(), name)


SERVER = _OnFirstUse()


@pytest.fixture(scope="session")
def local_server() -> localpg.LocalServer:
    """The local server, running, for a fixture or test that needs a database."""
    return _started()


SEED_FIGURES = json.loads((ROOT / "tests" / "fixtures" / "seed_figures.json").read_text())


@pytest.fixture(scope="session")
def airflow_db(local_server):
    """Airflow's metadata database, migrated once per session (needed by dag.test())."""
    done = subprocess.run([str(Path(sys.executable).parent / "airflow"), "db", "migrate"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]


def as_dags_login(owner_dsn: str) -> str:
    """The DAGs' login (localpg.DAGS_LOGIN) to the warehouse `owner_dsn` opens, given its group
    as `python -m htx migrate` gives it; its URI, for the htx_warehouse connection."""
    import psycopg2

    from htx.migrate import grant_dags_login

    dags = localpg.dags_login(SERVER)
    params = psycopg2.extensions.parse_dsn(owner_dsn)
    conn = psycopg2.connect(owner_dsn)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            grant_dags_login(cur, dags.user, dags.password)
    finally:
        conn.close()
    return (f"postgresql://{dags.user}:{dags.password}@{params['host']}:{params['port']}/"
            f"{params['dbname']}")


@pytest.fixture
def warehouse(monkeypatch, local_server):
    """A fresh warehouse database migrated by its owner; its (owner's) DSN. As in production, the
    htx_warehouse connection is the DAGs' own login to it, htx_warehouse_owner the owner's."""
    from htx.migrate import migrate

    name = f"htx_t_{uuid.uuid4().hex[:10]}"
    localpg.create_database(SERVER, name)
    dsn = SERVER.uri(name)
    migrate(dsn)
    monkeypatch.setenv("AIRFLOW_CONN_HTX_WAREHOUSE", as_dags_login(dsn))
    monkeypatch.setenv("AIRFLOW_CONN_HTX_WAREHOUSE_OWNER", dsn)
    yield dsn
    localpg.drop_database(SERVER, name)


@pytest.fixture
def landing(tmp_path, monkeypatch):
    path = tmp_path / "landing"
    path.mkdir()
    monkeypatch.setenv("HTX_LANDING_URL", str(path))
    return path


@pytest.fixture
def registry_api(monkeypatch):
    """Start a registration API stand-in: `registry_api(items)` returns the running server."""
    from htx.dev.registry_standin import RegistryStandIn

    started = []

    def start(items: list[dict]) -> RegistryStandIn:
        token = secrets.token_urlsafe(12)
        server = RegistryStandIn(items, token).start()
        started.append(server)
        monkeypatch.setenv("AIRFLOW_CONN_HTX_REGISTRY_API", json.dumps(
            {"conn_type": "http", "host": server.base_url, "password": token}))
        return server

    yield start
    for server in started:
        server.stop()


def query(dsn: str, sql: str, params=None) -> list[tuple]:
    import psycopg2

    conn = psycopg2.connect(dsn)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else []
    finally:
        conn.close()


# The files that take minutes (a whole stack, `make demo`, `make up`) go first, so the parallel
# processes start on them while the short files fill the other process (--dist loadfile).
# Measured: the two processes' schedule replayed from one run's --durations ends at about 1,620 s
# with this order and 1,880 s in collection order (test_topology.py, ~570 s, would start last).
LONG_FILES = ("test_topology.py", "test_demo_poisoned.py", "test_bind_localhost.py",
              "test_demo_other_data.py", "test_all_feeds_e2e.py")


def pytest_collection_modifyitems(items):
    rank = {name: place for place, name in enumerate(LONG_FILES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(LONG_FILES)))
