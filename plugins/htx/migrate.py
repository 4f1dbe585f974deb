"""Apply the warehouse migrations (`include/sql/migrations/NNNN_*.sql`) in order, once each.

Each file runs in its own transaction and is recorded in `audit.schema_migration` with its
checksum; an applied file whose text changed is an error (write a new migration instead).
An advisory lock serialises concurrent runs, so every DAG and command may call this safely.
"""
from __future__ import annotations

import hashlib

from htx.paths import MIGRATIONS_DIR

_LOCK_KEY = 7_400_2024  # any constant shared by all migrators of this warehouse

_BOOTSTRAP = """
CREATE SCHEMA IF NOT EXISTS audit;
CREATE TABLE IF NOT EXISTS audit.schema_migration (
    version     text PRIMARY KEY,
    checksum    text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
);
"""


def migrate(dsn: str | None = None) -> list[str]:
    """Apply pending migrations and reload reference data; returns the versions applied now."""
    from htx import db, reference

    applied_now: list[str] = []
    conn = db.connect(dsn)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            cur.execute(_BOOTSTRAP)
            cur.execute("SELECT version, checksum FROM audit.schema_migration")
            done = dict(cur.fetchall())
            for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
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
    finally:
        conn.close()
    return applied_now
