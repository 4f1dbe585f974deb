"""The warehouse client: psycopg2 connections, SQL files and streaming COPY.

psycopg2 is the project's one driver (Airflow's PostgresHook would switch to psycopg 3 when it
is importable, which changes the COPY and cursor APIs). Identifiers are composed with
`psycopg2.sql`, values are always bound parameters: nothing from a source is pasted into SQL.
"""
from __future__ import annotations

import io
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import psycopg2
from psycopg2 import sql

from htx.paths import SQL_DIR
from htx.settings import warehouse_dsn


# The group role the DAGs work as (migration 0012): never more rights than loading needs.
LOADER_ROLE = "htx_loader"


def connect(dsn: str | None = None, role: str | None = None):
    """A warehouse connection; with `role`, working as that role when the warehouse has it and
    this login may use it (migrations connect without one: they own the schema)."""
    conn = psycopg2.connect(dsn or warehouse_dsn())
    if role:
        _assume_role(conn, role)
    return conn


def _assume_role(conn, role: str) -> None:
    with conn.cursor() as cur:
        # Roles are server-wide: the role counts only where this database granted it something.
        cur.execute("SELECT pg_has_role(current_user, r.oid, 'MEMBER') FROM pg_roles r"
                    " JOIN pg_namespace n ON n.nspname = 'audit'"
                    " WHERE r.rolname = %s AND has_schema_privilege(r.oid, n.oid, 'USAGE')",
                    (role,))
        found = cur.fetchone()
        if found and found[0]:
            cur.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(role)))
    conn.commit()  # SET ROLE lasts for the session, whatever later transactions do


@contextmanager
def transaction(dsn: str | None = None, role: str | None = LOADER_ROLE) -> Iterator:
    """A connection whose work commits on success and rolls back on any error; as the loader
    role by default, so everything the DAGs do is proven to work without superuser rights."""
    conn = connect(dsn, role)
    try:
        yield conn
        conn.commit()
    except BaseException:
        # A connection the server cut (restart, failover) was rolled back by the server: a
        # rollback here would only replace the real error with "connection already closed".
        if not conn.closed:
            try:
                conn.rollback()
            except psycopg2.Error:
                pass
        raise
    finally:
        conn.close()


@contextmanager
def local_settings(cur, **settings: str) -> Iterator[None]:
    """`settings` in force for the statements inside (this transaction only), then put back as
    the session had them: `RESET` would give the server's defaults instead, and keep them after
    the transaction. A statement failing inside aborts the transaction, which undoes them."""
    names = list(settings)
    cur.execute("SELECT array_agg(current_setting(name) ORDER BY at)"
                " FROM unnest(%s::text[]) WITH ORDINALITY AS s (name, at)", (names,))
    (before,) = cur.fetchone()
    _set_local(cur, names, [str(v) for v in settings.values()])
    yield
    _set_local(cur, names, before)


def _set_local(cur, names: list[str], values: list[str]) -> None:
    cur.execute("SELECT set_config(name, value, true) FROM unnest(%s::text[], %s::text[])"
                " AS s (name, value)", (names, values))


def read_sql(relative: str) -> str:
    return (SQL_DIR / relative).read_text(encoding="utf-8")


def run_sql_file(cur, relative: str | Path, params: dict | None = None) -> None:
    text = Path(relative).read_text(encoding="utf-8") if isinstance(relative, Path) else read_sql(relative)
    cur.execute(text, params)


def qualified(table: str):
    """`schema.table` as a safely quoted identifier."""
    return sql.Identifier(*table.split("."))


def _text_field(value) -> str:
    if value is None:
        return r"\N"
    text = value if isinstance(value, str) else str(value)
    return (text.replace("\\", "\\\\").replace("\t", "\\t")
            .replace("\n", "\\n").replace("\r", "\\r"))


def copy_rows(cur, table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> int:
    """COPY rows (tuples in `columns` order) into `table` in PostgreSQL's text format."""
    buffer = io.StringIO()
    count = 0
    for row in rows:
        buffer.write("\t".join(_text_field(v) for v in row))
        buffer.write("\n")
        count += 1
    buffer.seek(0)
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        qualified(table), sql.SQL(", ").join(sql.Identifier(c) for c in columns))
    cur.copy_expert(statement.as_string(cur), buffer)
    return count
