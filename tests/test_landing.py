"""The landing zone: one abstraction over local paths and object-store URLs."""
import hashlib
from pathlib import Path

import pytest

from htx.landing import LandingZone, as_url


def test_a_plain_path_and_its_file_url_are_the_same_zone(tmp_path):
    assert as_url(str(tmp_path)) == tmp_path.as_uri()
    assert as_url("s3://bucket/landing") == "s3://bucket/landing"
    by_path, by_url = LandingZone(str(tmp_path)), LandingZone(tmp_path.as_uri())
    landed = by_path.land("tax_declarations", 7, "to_khai_202409.csv", b"a;b\n")
    with by_url.open(landed.url) as stream:
        assert stream.read() == b"a;b\n"
    assert landed.sha256 == hashlib.sha256(b"a;b\n").hexdigest() and landed.size_bytes == 4
    assert "/_landed/tax_declarations/batch-00000007/to_khai_202409." in landed.url


def test_deliveries_are_listed_oldest_first_and_landed_copies_are_not_deliveries(tmp_path):
    import os

    (tmp_path / "tax").mkdir()
    for name, mtime in (("to_khai_202402.csv", 200), ("to_khai_202401.csv", 300)):
        (tmp_path / "tax" / name).write_text("x")
        os.utime(tmp_path / "tax" / name, (mtime, mtime))
    zone = LandingZone(str(tmp_path))
    zone.land("tax_declarations", 1, "to_khai_202401.csv", b"x")
    found = [d.relative for d in zone.deliveries("tax/to_khai_*.csv")]
    assert found == ["tax/to_khai_202402.csv", "tax/to_khai_202401.csv"]


# --- any name, any form of the setting (issue 11 §5) -----------------------------------------

GOOD_TAX_FILE = Path(__file__).parent / "corpus" / "isolation" / "tax_good.csv"


@pytest.mark.parametrize("form", ["plain path", "file URL", "file URL as typed"])
def test_a_zone_and_files_under_any_name_are_found(form, warehouse, tmp_path, airflow_db,
                                                   monkeypatch):
    """Spaces, Vietnamese letters and glob characters (`[1]`) in the zone's path and in a file's
    name: the delivery is found and loaded, whichever way the setting gives the zone."""
    from conftest import query
    from htx.cli import run_dag

    root = tmp_path / "vùng nhận [1] có dấu cách"
    (root / "tax").mkdir(parents=True)
    (root / "tax" / "to_khai_202409 [1] bản sửa.csv").write_bytes(GOOD_TAX_FILE.read_bytes())
    monkeypatch.setenv("HTX_LANDING_URL", {"plain path": str(root), "file URL": root.as_uri(),
                                           "file URL as typed": f"file://{root}"}[form])
    run_dag("htx_feed_tax_declarations")
    assert query(warehouse, "SELECT source_object, status, rows_loaded FROM audit.load_batch") == [
        ("tax/to_khai_202409 [1] bản sửa.csv", "published", 2)]


def test_links_and_what_is_not_a_regular_file_are_listed_refused_never_read(tmp_path):
    import os

    outside = tmp_path / "outside.csv"
    outside.write_text("private\n")
    zone = tmp_path / "zone"
    (zone / "tax").mkdir(parents=True)
    (zone / "tax" / "to_khai_202401.csv").write_text("x")
    (zone / "tax" / "to_khai_202402.csv").symlink_to(outside)
    (zone / "linked").symlink_to(zone / "tax", target_is_directory=True)
    os.mkfifo(zone / "tax" / "to_khai_202403.csv")
    found = {d.relative: d.refused for d in LandingZone(str(zone)).deliveries("tax/*.csv")}
    assert found == {"tax/to_khai_202401.csv": None,
                     "tax/to_khai_202402.csv": "refused: a symbolic link (links are never followed)",
                     "tax/to_khai_202403.csv": "refused: not a regular file (a folder, a device,"
                                               " a pipe or a socket)"}
    below_a_link = LandingZone(str(zone)).deliveries("linked/*.csv")
    assert [(d.relative, d.refused) for d in below_a_link] == [
        ("linked", "refused: a symbolic link (links are never followed)")]
