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

from htx.paths import SQL_DIR


def connect(dsn: str | None = None):
    import psycopg2

    from htx.settings import warehouse_dsn

    return psycopg2.connect(dsn or warehouse_dsn())


@contextmanager
def transaction(dsn: str | None = None) -> Iterator:
    """A connection whose work commits on success and rolls back on any error."""
    conn = connect(dsn)
    try:
        with conn:
            yield conn
    finally:
        conn.close()


def read_sql(relative: str) -> str:
    return (SQL_DIR / relative).read_text(encoding="utf-8")


def run_sql_file(cur, relative: str | Path, params: dict | None = None) -> None:
    text = Path(relative).read_text(encoding="utf-8") if isinstance(relative, Path) else read_sql(relative)
    cur.execute(text, params)


def qualified(table: str):
    """`schema.table` as a safely quoted identifier."""
    from psycopg2 import sql

    return sql.Identifier(*table.split("."))


def _text_field(value) -> str:
    if value is None:
        return r"\N"
    text = value if isinstance(value, str) else str(value)
    return (text.replace("\\", "\\\\").replace("\t", "\\t")
            .replace("\n", "\\n").replace("\r", "\\r"))


def copy_rows(cur, table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> int:
    """COPY rows (tuples in `columns` order) into `table` in PostgreSQL's text format."""
    from psycopg2 import sql

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
