"""Fault injection for the tests/test_faults_*.py files: real databases, real processes, real locks.

A step is stopped at a chosen point inside its transaction by a trigger that waits for a
PostgreSQL advisory lock the test holds (`Gate`): the test then knows, from the server's own lock
table, that the step is exactly there — no sleeps, no timing guesses — and can kill it, restart
the server under it or let a second step run into it.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg2
from psycopg2 import sql
from stdnum.vn import mst

from htx import pipeline
from htx.dev import localpg
from htx.migrate import migrate

ROOT = Path(__file__).resolve().parents[1]
WAIT_S = 60  # how long a condition may take to arrive before the test gives up (never expected)
# Columns filled from the clock: they differ between any two runs, faulted or not. (A delivery's
# (size, mtime) fingerprint does not: every file is dropped long before a run lists it, `drop`.)
VOLATILE = {"started_at", "finished_at", "landed_at", "checked_at", "quarantined_at",
            "refreshed_at", "applied_at", "recorded_at"}
SNAPSHOT_SCHEMAS = ("staging", "core", "quarantine", "mart", "audit")


def valid_codes(count: int, start: int = 1000) -> list[str]:
    """`count` tax codes (MST) with a right check digit."""
    codes, prefix = [], start
    while len(codes) < count:
        check = mst.calc_check_digit(f"57{prefix:07d}")
        if len(check) == 1:
            codes.append(f"57{prefix:07d}{check}")
        prefix += 1
    return codes


TAX_HEADER = ("Mã số thuế;Tên người nộp thuế;Mẫu tờ khai;Kỳ tính thuế;Lần nộp;Ngày nộp;Doanh thu;"
              "Lợi nhuận trước thuế;Số thuế phải nộp")


def tax_file(rows: int = 12) -> bytes:
    """A monthly tax file: `rows` declarations, every fourth one with a bad number (quarantined)."""
    lines = [TAX_HEADER]
    for i, code in enumerate(valid_codes(rows)):
        revenue = "1.2.3" if i % 4 == 3 else f"{(i + 1) * 1_000_000:,}".replace(",", ".")
        lines.append(f"{code};Hợp tác xã Thử {i};01/GTGT;09/2024;0;15/10/2024;{revenue};;1.000")
    return ("\n".join(lines) + "\n").encode("utf-8")


# When the dropped files were last written: long before any run looks at them, so every run
# records the same (size, mtime) fingerprint (a file younger than pipeline.RACY_MTIME_SECONDS
# gets none, and how young it is when listed depends on the machine's load).
DROPPED_AT = 1_700_000_000


def drop(landing: Path, relative: str, data: bytes) -> Path:
    """A source's file delivered into the landing zone, finished writing well before any run."""
    path = Path(landing) / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, (DROPPED_AT, DROPPED_AT))
    return path


@contextmanager
def fresh_warehouse(server=None):
    """A new migrated warehouse database on `server` (default: the tests' local server)."""
    from conftest import SERVER

    server = server or SERVER
    name = f"htx_t_{uuid.uuid4().hex[:10]}"
    localpg.create_database(server, name)
    dsn = server.uri(name)
    try:
        migrate(dsn)
        yield dsn
    finally:
        localpg.drop_database(server, name)


def run_feed(feed: str, run: pipeline.RunInfo) -> list[int]:
    """Every step of one run, in-process, as the DAG's tasks call them."""
    batches = pipeline.extract_to_landing(feed, run)
    pipeline.stage_batches(feed, batches)
    pipeline.merge_batches(feed, batches)
    pipeline.publish_batches(feed, batches)
    return batches


def snapshot(dsn: str, landing: Path) -> dict[str, list]:
    """Every row of every warehouse table but the clock's columns, landing paths made relative:
    two warehouses that loaded the same deliveries the same way compare equal."""
    root = Path(landing).resolve().as_uri()
    conn = psycopg2.connect(dsn)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SELECT table_schema, table_name FROM information_schema.tables"
                        " WHERE table_schema = ANY(%s) AND table_type = 'BASE TABLE'"
                        " AND table_name <> 'schema_migration' ORDER BY 1, 2",
                        (list(SNAPSHOT_SCHEMAS),))
            tables = cur.fetchall()
            found = {}
            for schema, table in tables:
                cur.execute("SELECT column_name FROM information_schema.columns WHERE"
                            " table_schema = %s AND table_name = %s ORDER BY ordinal_position",
                            (schema, table))
                columns = [c for (c,) in cur.fetchall() if c not in VOLATILE
                           and (schema, table, c) != ("audit", "source_cursor", "updated_at")]
                cur.execute(sql.SQL("SELECT {} FROM {}").format(
                    sql.SQL(", ").join(map(sql.Identifier, columns)),
                    sql.Identifier(schema, table)))
                rows = [{c: _relative(v, root) for c, v in zip(columns, row)}
                        for row in cur.fetchall()]
                found[f"{schema}.{table}"] = sorted(rows, key=repr)
            return found
    finally:
        conn.close()


def _relative(value, root: str):
    return value.replace(root, "<landing>") if isinstance(value, str) else value


class Gate:
    """Stops any transaction that writes a matching row into `table` until `release()`: a row
    trigger waits, before the row is written, for an advisory lock this gate holds (the rows
    before it are written: the statement is half done). Use as a context manager."""

    def __init__(self, dsn: str, table: str, when: str = "true"):
        self.dsn, self.table, self.when = dsn, table, when
        self.key = int(uuid.uuid4().int % 2**31)
        self.trigger = f"htx_test_gate_{self.key}"
        self.holder = None

    def __enter__(self) -> "Gate":
        self.holder = psycopg2.connect(self.dsn)
        self.holder.autocommit = True
        with self.holder.cursor() as cur:
            cur.execute("SELECT pg_advisory_lock(%s)", (self.key,))
            # The trigger function runs as the loader role: it lives in public, which every role
            # may use. The condition is test code, never data.
            cur.execute(sql.SQL(
                "CREATE FUNCTION public.{fn}() RETURNS trigger LANGUAGE plpgsql AS $$"
                " BEGIN PERFORM pg_advisory_xact_lock_shared({key}); RETURN NEW; END $$;"
                " CREATE TRIGGER {trg} BEFORE INSERT ON {table} FOR EACH ROW WHEN ({when})"
                " EXECUTE FUNCTION public.{fn}()").format(
                fn=sql.Identifier(self.trigger), trg=sql.Identifier(self.trigger),
                key=sql.Literal(self.key), table=sql.Identifier(*self.table.split(".")),
                when=sql.SQL(self.when)))
        return self

    def waiting(self) -> list[int]:
        """Backend pids (other than the gate's) waiting for a lock in this database."""
        with self.holder.cursor() as cur:
            cur.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                        " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid() ORDER BY pid")
            return [pid for (pid,) in cur.fetchall()]

    def wait_for_waiters(self, count: int, processes: list | None = None) -> list[int]:
        """Block until `count` sessions wait for a lock (the gate's, or one a gated session
        holds); fails early if a watched process or thread ended instead."""
        deadline = time.monotonic() + WAIT_S
        while len(found := self.waiting()) < count:
            for process in processes or ():
                alive = process.is_alive() if hasattr(process, "is_alive") else process.poll() is None
                assert alive, f"{process} ended before reaching the gate"
            assert time.monotonic() < deadline, f"only {len(found)} of {count} sessions reached the gate"
            time.sleep(0.05)
        return found

    def release(self) -> None:
        if self.holder is not None and not self.holder.closed:
            with self.holder.cursor() as cur:
                cur.execute("SELECT pg_advisory_unlock(%s)", (self.key,))

    def __exit__(self, *exc) -> None:
        try:
            self.release()
        except psycopg2.Error:
            pass  # the server was restarted under the gate: the lock went with the session
        finally:
            self.holder.close()
        conn = psycopg2.connect(self.dsn)
        try:
            with conn, conn.cursor() as cur:
                cur.execute(sql.SQL("DROP TRIGGER IF EXISTS {} ON {}").format(
                    sql.Identifier(self.trigger), sql.Identifier(*self.table.split("."))))
                cur.execute(sql.SQL("DROP FUNCTION IF EXISTS public.{}()").format(
                    sql.Identifier(self.trigger)))
        finally:
            conn.close()


def wait_until_gone(dsn: str, pids: list[int]) -> None:
    """Block until the server has ended these backends (a killed client's session rolls back)."""
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    deadline = time.monotonic() + WAIT_S
    try:
        with conn.cursor() as cur:
            while True:
                cur.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", (pids,))
                if cur.fetchone()[0] == 0:
                    return
                assert time.monotonic() < deadline, f"backends {pids} still alive"
                time.sleep(0.05)
    finally:
        conn.close()


def start_step(code: str) -> subprocess.Popen:
    """A pipeline step in a child Python process with this process's environment (warehouse,
    landing zone, Airflow home): what an Airflow worker runs for one task."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "plugins"),
                                                      env.get("PYTHONPATH", "")]))
    return subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@dataclass
class Outcome:
    value: object = None
    error: BaseException | None = None


def in_thread(target, *args):
    """Run `target(*args)` in a thread; returns (thread, outcome) — the outcome holds its result
    or the exception it raised."""
    import threading

    outcome = Outcome()

    def body():
        try:
            outcome.value = target(*args)
        except BaseException as err:  # reported by the test, not lost in the thread
            outcome.error = err

    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    return thread, outcome


@contextmanager
def second_server():
    """A dedicated local PostgreSQL server — the same binaries, its own data folder and port —
    that a test may restart without disturbing the tests sharing the main one."""
    import secrets
    import shutil

    from htx.paths import LOCAL_DIR

    datadir = LOCAL_DIR / f"pg-faults-{uuid.uuid4().hex[:8]}"
    datadir.mkdir(mode=0o700, parents=True)
    try:
        _hand_to_server_user(datadir)
        password = secrets.token_urlsafe(24)
        pwfile = datadir.parent / f".{datadir.name}-pwfile"
        pwfile.write_text(password)
        _hand_to_server_user(pwfile)
        try:
            localpg._run_as_owner([
                localpg._bin("initdb"), "-D", str(datadir), "-U", localpg.SUPERUSER,
                f"--pwfile={pwfile}", "--auth-host=scram-sha-256", "--auth-local=scram-sha-256",
                "--encoding=UTF8", "--locale=C.UTF-8"])
        finally:
            pwfile.unlink()
        port = localpg._free_port()
        localpg._start(port, datadir)
        try:
            yield localpg.LocalServer("127.0.0.1", port, localpg.SUPERUSER, password), datadir
        finally:
            localpg._run_as_owner([localpg._bin("pg_ctl"), "-D", str(datadir), "-w", "-m",
                                   "immediate", "stop"])
    finally:
        shutil.rmtree(datadir, ignore_errors=True)


def _hand_to_server_user(path: Path) -> None:
    """As root, the server runs as an unprivileged user (localpg.SYSTEM_USER): give it `path`."""
    if os.geteuid() != 0:
        return
    import pwd

    localpg.reachable_by_server(path)
    owner = pwd.getpwnam(localpg.SYSTEM_USER)
    os.chown(path, owner.pw_uid, owner.pw_gid)
