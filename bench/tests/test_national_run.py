"""A miniature national run, end to end on the real local PostgreSQL: two sizes, each in its own
scratch database (dropped afterwards), the registry loaded through feed 1 from the stand-in API,
the tax file through feed 2 and through the peers (pandas, dlt when `make bench` installed it),
the marts refreshed, the next month's file loaded and the marts refreshed incrementally, one
section written with both sizes."""
from __future__ import annotations

import psycopg2
import pytest

import national
from htx.dev import localpg


def _bench_databases() -> set[str]:
    conn = psycopg2.connect(localpg.ensure_running().uri("postgres"))
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT datname FROM pg_database WHERE datname LIKE 'htx_bench_%'")
            return {name for (name,) in cur.fetchall()}
    finally:
        conn.close()


def test_two_sizes_measured_and_written_in_one_section(tmp_path, monkeypatch):
    monkeypatch.setattr(national, "DATA", tmp_path / "data")
    results = tmp_path / "results.md"
    before = _bench_databases()

    outcome = national.main(["--rows", "600", "1500", "--cooperatives", "150",
                             "--results", str(results)])

    small, large = outcome["sizes"]
    assert (small["rows"], large["rows"]) == (600, 1500)
    for size in (small, large):
        (registry,) = size["registry"]["published"]
        assert registry["rows_in"] == outcome["registry"]["items"]
        assert registry["rows_in"] == registry["rows_loaded"] + registry["rows_quarantined"]
        assert registry["rows_quarantined"] >= 1                   # the planted invalid state
        (tax,) = size["ingest"]["published"]
        assert (tax["rows_in"], tax["rows_loaded"], tax["rows_quarantined"]) == (
            size["rows"], size["rows"], 0)
        assert set(size["ingest"]["steps"]) == {"extract + land", "validate + stage", "merge",
                                                "publish"}
        assert 50 < size["ingest"]["peak_rss_mib"] < 8192
        assert size["marts"]["tax_rows"] == size["rows"] and size["marts"]["periods"] > 0
        (month,) = size["month"]["published"]                     # the next month's file
        assert month["rows_loaded"] == outcome["registry"]["filers"]
        after = size["marts_after_month"]                           # refreshed incrementally
        assert after["tax_rows"] == size["rows"] + month["rows_loaded"]
        assert 0 < after["periods_recomputed"] < after["periods"]
        assert size["raw_copy_s"] > 0
        assert size["peers"]["pandas"]["rows"] == size["rows"]       # the same file, whole
        dlt = size["peers"]["dlt"]
        assert dlt.get("rows") == size["rows"] or "bench/requirements.txt" in dlt["missing"]
    assert _bench_databases() == before                            # scratch databases dropped
    assert not list((tmp_path / "data").glob("landing-*"))         # and their landing zones

    text = results.read_text()
    assert "| measure | 600 rows | 1,500 rows |" in text
    assert "(b)/(a)" in text and "peak RSS" in text and "marts refresh" in text
    assert "pandas `read_csv` + `to_sql`" in text and "`dlt` pipeline" in text
    assert "| 1,000,000 rows: (b) ≤ 5 × (a) | — | not measured in this run |" in text
    assert "Why (written by hand)" in text


def test_a_tax_file_reached_through_a_symbolic_link_is_delivered_as_the_file_itself(tmp_path):
    """The drop folder refuses links to elsewhere; a data file kept elsewhere and linked into
    bench/data is delivered as itself (a hard link to it), not as the link."""
    real = tmp_path / "kept" / "to_khai.csv"
    real.parent.mkdir()
    real.write_text("mst;ten\n")
    linked = tmp_path / "to_khai_link.csv"
    linked.symlink_to(real)
    national.deliver(linked, tmp_path / "landing")
    delivered = tmp_path / "landing" / "tax" / "to_khai_202410.csv"
    assert not delivered.is_symlink() and delivered.stat().st_ino == real.stat().st_ino


def test_a_rejected_tax_delivery_stops_the_run_instead_of_being_measured(tmp_path):
    ingest = {"steps": {"validate + stage": 0.1}, "rejected": [2], "published": []}
    with pytest.raises(RuntimeError, match=r"^tax file rejected by feed 2, nothing measured"):
        national.loaded(ingest, tmp_path / "to_khai.csv")
    accepted = {**ingest, "rejected": []}
    assert national.loaded(accepted, tmp_path / "to_khai.csv") is accepted
