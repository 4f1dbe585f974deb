"""The landing zone: one abstraction over local paths and object-store URLs."""
import hashlib

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
