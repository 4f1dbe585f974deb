"""The landing zone in an object store: `HTX_LANDING_URL=s3://bucket/prefix` end to end against a
real S3 API on 127.0.0.1 (moto's server, tests/s3_support.py), the credentials in an Airflow
connection (`HTX_LANDING_CONN_ID`), never in the URL.

The tax department drops two month files into the bucket; the tax DAG (Airflow, dag.test()) lands
copies of them in the bucket, the larger one (≥ HTX_BULK_MIN_BYTES) is streamed from the bucket
into PostgreSQL's COPY by the database reader (htx.bulk), the other read by the Python parser; a
second run finds nothing new. Then the drops are deleted and `python -m htx replay` rebuilds core
from the landed copies alone.
"""
from __future__ import annotations

import hashlib
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import query
from htx.cli import run_dag
from htx.feeds.config import FEEDS
from htx.landing import LandingZone
from htx.sample import tax_declarations as tax_sample
from htx.sample.registrations import generate
from s3_support import s3_landing, s3_server  # noqa: F401 (fixtures)

ROOT = Path(__file__).resolve().parents[1]
TAX = FEEDS["tax_declarations"]
LARGE, SMALL = "tax/to_khai_202412.csv", "tax/to_khai_202401.csv"
BULK_MIN_BYTES = 256 * 1024


def sample_tax_files(folder: Path) -> dict[str, bytes]:
    """A large file (the rows of every UTF-8 sample month in one delivery, > BULK_MIN_BYTES) and
    a small one."""
    tax_sample.write_files(folder, generate())
    months = [path.read_bytes() for path in sorted((folder / "tax").glob("to_khai_*.csv"))]
    utf8 = [data for data in months if _is_plain_utf8(data)]
    header = utf8[0].splitlines(keepends=True)[0]
    rows = b"".join(b"".join(data.splitlines(keepends=True)[1:]) for data in utf8)
    return {LARGE: header + rows, SMALL: (folder / SMALL).read_bytes()}


def _is_plain_utf8(data: bytes) -> bool:
    try:
        return not data.startswith(b"\xef\xbb\xbf") and bool(data.decode("utf-8"))
    except UnicodeDecodeError:
        return False


def core_rows(dsn: str) -> list[tuple]:
    return query(dsn, "SELECT t::text FROM core.tax_declaration AS t ORDER BY 1")


def test_credentials_in_the_url_are_refused_without_echoing_them():
    access_key_id, access_key = "HTXTESTKEY", secrets.token_urlsafe(12)
    with pytest.raises(ValueError) as refused:
        LandingZone(f"s3://{access_key_id}:{access_key}@bucket/landing")
    assert "HTX_LANDING_CONN_ID" in str(refused.value)
    assert access_key not in str(refused.value) and access_key_id not in str(refused.value)


def test_the_connections_secret_is_masked_wherever_a_failure_is_told(s3_landing):  # noqa: F811
    from htx.redaction import redact
    from s3_support import SECRET_KEY

    LandingZone.configured()
    told = redact(f"botocore: signature of {SECRET_KEY} refused")
    assert SECRET_KEY not in told and told == "botocore: signature of *** refused"


def test_drops_land_load_and_replay_from_the_bucket(warehouse, s3_landing, airflow_db,  # noqa: F811
                                                    tmp_path, monkeypatch):
    from htx import bulk

    monkeypatch.setenv("HTX_BULK_MIN_BYTES", str(BULK_MIN_BYTES))
    dropped = sample_tax_files(tmp_path)
    assert len(dropped[LARGE]) >= BULK_MIN_BYTES > len(dropped[SMALL])
    for relative, data in dropped.items():
        s3_landing.put(relative, data)

    read_by = []

    def watched(cur, feed, parser, batch_id, url, zone):   # the real reader, its input noted
        read_by.append(url)
        return real_stage_file(cur, feed, parser, batch_id, url, zone)

    real_stage_file = bulk.stage_file
    monkeypatch.setattr(bulk, "stage_file", watched)
    assert str(run_dag(TAX.dag_id).state.value) == "success"

    landed = query(warehouse, "SELECT b.source_object, o.object_url, o.sha256, o.size_bytes,"
                              " b.rows_in, b.rows_loaded, b.rows_quarantined"
                              " FROM audit.load_batch AS b JOIN audit.landed_object AS o"
                              " USING (batch_id) WHERE b.status = 'published' ORDER BY 1")
    assert [row[0] for row in landed] == sorted(dropped)
    in_bucket = s3_landing.keys("_landed/")
    for source, url, sha256, size, rows_in, loaded, quarantined in landed:
        assert sha256 == hashlib.sha256(dropped[source]).hexdigest() and size == len(dropped[source])
        assert url.startswith("s3://") and f"/{s3_landing.prefix}/_landed/tax_declarations/" in url
        assert url.split(f"/{s3_landing.prefix}/", 1)[1] in in_bucket
        assert rows_in == loaded + quarantined and loaded > 0
    assert len(in_bucket) == 2
    # The large delivery was read by PostgreSQL from the bucket, the small one by the parser.
    assert read_by == [next(row[1] for row in landed if row[0] == LARGE)]
    loaded_rows = query(warehouse, "SELECT sum(rows_loaded) FROM audit.load_batch")[0][0]
    incremental = core_rows(warehouse)
    assert len(incremental) == loaded_rows > 3000

    # A second look at the bucket finds nothing new (sizes and times as the store reports them).
    assert str(run_dag(TAX.dag_id).state.value) == "success"
    assert query(warehouse, "SELECT count(*) FROM audit.load_batch") == [(2,)]

    # The source's drops are gone; the landed copies alone rebuild core.
    for relative in dropped:
        s3_landing.delete(relative)
    assert s3_landing.keys("tax/") == []
    env = {**os.environ, "PYTHONPATH": str(ROOT / "plugins")}
    done = subprocess.run([sys.executable, "-m", "htx", "replay", "--feed", TAX.name], env=env,
                          capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert '"batches": 2' in done.stdout and '"rejected": []' in done.stdout
    assert core_rows(warehouse) == incremental
