"""Apply the warehouse migrations (`include/sql/migrations/NNNN_*.sql`) in order, once each.

Each file runs in its own transaction and is recorded in `audit.schema_migration` with its
checksum; an applied file whose text changed is an error (write a new migration instead).
An advisory lock serialises concurrent runs, so every DAG and command may call this safely.

Migrations run as the warehouse's owner (connection `htx_warehouse_owner`, else
`htx_warehouse`). When the DAGs' connection (`htx_warehouse`) is another login, that login is
given its group, `htx_loader` — and created with the connection's password when missing; a login
with more power than that (a superuser, one that may create roles or databases) is refused.
"""
from __future__ import annotations

import hashlib

import psycopg2
from psycopg2 import sql

from htx import db, marts_incremental, reference
from htx.feeds.config import FEEDS
from htx.paths import MIGRATIONS_DIR
from htx.settings import dags_login as configured_dags_login
from htx.settings import warehouse_owner_dsn

_LOCK_KEY = 7_400_2024  # any constant shared by all migrators of this warehouse

_BOOTSTRAP = """
CREATE SCHEMA IF NOT EXISTS audit;
CREATE TABLE IF NOT EXISTS audit.schema_migration (
    version     text PRIMARY KEY,
    checksum    text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
);
"""


def migrate(dsn: str | None = None, dags_login: tuple[str, str] | None = None) -> list[str]:
    """Apply pending migrations and reload reference data, then give the DAGs' login (`dags_login`
    = (login, password); by default the configured one) its group; returns the versions applied
    now. `dsn`: the owner's connection string (default: the configured owner)."""
    if dsn is None:
        dsn, dags_login = warehouse_owner_dsn(), dags_login or configured_dags_login()
    applied_now: list[str] = []
    conn = db.connect(dsn)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            cur.execute(_BOOTSTRAP)
            cur.execute("SELECT version, checksum FROM audit.schema_migration")
            done = dict(cur.fetchall())
            for path in _migration_files():
                text = path.read_text(encoding="utf-8")
                checksum = hashlib.sha256(text.encode()).hexdigest()
                if path.stem in done:
                    if done[path.stem] != checksum:
                        raise RuntimeError(
                            f"migration {path.name} was changed after it was applied; "
                            "add a new migration instead")
                    continue
                cur.execute(text)
                cur.execute("INSERT INTO audit.schema_migration (version, checksum) VALUES (%s, %s)",
                            (path.stem, checksum))
                applied_now.append(path.stem)
            reference.load(cur)
            marts_incremental.record(cur, "reference data")   # the next refresh is whole
            if dags_login:
                grant_dags_login(cur, *dags_login)
    finally:
        conn.close()
    return applied_now


def _migration_files() -> list:
    """The core migrations in order, then each feed's own (a feed kept outside this package)."""
    own = [sorted(f.migrations.glob("*.sql")) for f in FEEDS.values() if f.migrations]
    return sorted(MIGRATIONS_DIR.glob("*.sql")) + [path for paths in own for path in paths]


def grant_dags_login(cur, login: str, password: str) -> None:
    """Make `login` the DAGs' login: a member of htx_loader and nothing more."""
    cur.execute("SELECT rolsuper OR rolcreaterole OR rolcreatedb OR rolbypassrls OR rolreplication"
                " FROM pg_roles WHERE rolname = %s", (login,))
    found = cur.fetchone()
    if found is None:
        if not password:
            raise RuntimeError(f"the DAGs' login {login!r} does not exist and connection"
                               " htx_warehouse gives no password to create it with")
        _role_statement(cur, sql.SQL("CREATE ROLE {} LOGIN PASSWORD %s").format(
            sql.Identifier(login)), (password,))
    elif found[0]:
        raise RuntimeError(f"the DAGs' login {login!r} (connection htx_warehouse) is a superuser"
                           " or may create roles or databases: give the DAGs a login of their own")
    _role_statement(cur, sql.SQL("GRANT htx_loader TO {}").format(sql.Identifier(login)))


def _role_statement(cur, statement, params=None) -> None:
    """A statement on the server's roles, which every database's migrator shares (the advisory
    lock serialises one database's only): another migrator having just made the same role or
    membership is success, not an error."""
    in_transaction = not cur.connection.autocommit
    if in_transaction:
        cur.execute("SAVEPOINT htx_role")
    try:
        cur.execute(statement, params)
    except (psycopg2.errors.DuplicateObject, psycopg2.errors.UniqueViolation):
        if not in_transaction:
            return
        cur.execute("ROLLBACK TO SAVEPOINT htx_role")
    if in_transaction:
        cur.execute("RELEASE SAVEPOINT htx_role")
