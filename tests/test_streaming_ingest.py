"""Streaming ingest (issues 7, 15): delivered files are landed (and hashed on the way) and parsed in chunks, so memory
does not grow with file size, with exactly the results of reading them whole; files already
loaded and untouched since are skipped without being read.

Memory is measured with tracemalloc (Python allocations), never with a clock.
"""
from __future__ import annotations

import csv
import hashlib
import io
import os
import shutil
import time
import tracemalloc
import unicodedata
import uuid
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import query
from faults_support import run_feed, tax_file, valid_codes
from htx import landing as landing_module
from htx import pipeline
from htx.feeds import tax_declarations as tax
from htx.feeds.common import RejectedObject
from htx.feeds.config import FEEDS
from htx.landing import DeliveryChanged, LandingZone
from htx.dev.sample.tax_declarations import encode_cp1258

TESTS = Path(__file__).parent
TAX_FILES = sorted((TESTS / "corpus" / "tax_declarations").glob("*.csv"))
LARGE_MB = 50
MEMORY_BOUND = 8 * 2**20   # bytes: far below a 50 MB file, whatever its size


# --- the whole-file reader this streaming replaced: the oracle ----------------------------

def decode_whole_file(raw: bytes, source_object: str) -> str:
    """tax_declarations.decode as it was before streaming, verbatim."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in raw:
        raise RejectedObject(source_object, "holds NUL bytes (UTF-16?): the contract's encodings "
                                            "are UTF-8 and Windows-1258")
    if raw.startswith(b"\xef\xbb\xbf"):
        try:
            text = raw[3:].decode("utf-8")
        except UnicodeDecodeError as err:
            raise RejectedObject(source_object,
                                 f"starts with a UTF-8 BOM but is not UTF-8: {err}") from None
    else:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            if not raw[:err.start].isascii():
                line = raw[:err.start].count(b"\n") + 1
                raise RejectedObject(source_object, (
                    f"UTF-8 up to line {line}, where byte(s) {raw[err.start:err.end]!r} at "
                    f"offset {err.start} are not UTF-8 (a damaged export?)")) from None
            try:
                text = raw.decode("cp1258")
            except UnicodeDecodeError as err:
                raise RejectedObject(source_object,
                                     f"neither UTF-8 nor Windows-1258 (cp1258): {err}") from None
    return unicodedata.normalize("NFC", text)


def parse_whole_file(raw: bytes, source_object: str) -> list:
    """tax_declarations.parse_object as it was before streaming: decode and NFC the whole file."""
    text = decode_whole_file(raw, source_object)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=";", quotechar='"')
    rows = []
    try:
        columns = tax.check_header(next(reader, None), source_object)
        for number, fields in enumerate(reader, start=2):
            if any(f.strip() for f in fields):
                rows.append(tax.parse_fields(fields, columns, source_object, number))
    except csv.Error as err:
        raise RejectedObject(source_object, f"not a readable CSV: {err}") from None
    if not rows:
        raise RejectedObject(source_object, tax.EMPTY_DELIVERY)
    return rows


def outcome(read):
    """What reading gives: ("rows"/"text", its result) or ("rejected", the message)."""
    try:
        return "read", read()
    except RejectedObject as err:
        return "rejected", str(err)


# --- encoding detection: chunk by chunk, the same verdicts and messages -------------------

SEGMENTS = [b"a", b";", b"\n", b"\r", b"\r\n", "ệ".encode(), "Mã".encode(), "Đ".encode(),
            "🌾".encode(), b"\xe1\xbb", b"\xc3", b"\xf0\x9f\x98", b"\x80", b"\x81", b"\x8d",
            b"\x9e", b"\xde", b"\xd2", b"\xf2", b"\xff", b"\xfe", b"\x00", b"\xef\xbb\xbf"]
byte_soup = st.lists(st.sampled_from(SEGMENTS), max_size=40).map(b"".join)
chunk_sizes = st.sampled_from([1, 2, 3, 4, 5, 7, 64, tax.SCAN_BYTES])


@settings(max_examples=600, deadline=None, derandomize=True, database=None)
@given(raw=byte_soup, chunk_bytes=chunk_sizes, lead=st.binary(max_size=3))
def test_detect_encoding_chunk_by_chunk_decides_as_decoding_the_whole_file_did(raw, chunk_bytes,
                                                                            lead):
    """Bytes split anywhere (inside a character, a BOM, a CRLF): the same encoding, or the same
    rejection word for word. Detection reads from the stream's position and puts it back."""
    stream = io.BytesIO(lead + raw)
    stream.seek(len(lead))

    def streamed():
        encoding = tax.detect_encoding(stream, "tax/x.csv", chunk_bytes)
        assert encoding in ("utf-8-sig", "utf-8", "cp1258")
        return unicodedata.normalize("NFC", raw.decode(encoding))

    assert outcome(streamed) == outcome(lambda: decode_whole_file(raw, "tax/x.csv"))
    assert stream.tell() == len(lead)


@pytest.mark.parametrize("raw, encoding", [
    ("Mã;x\n".encode("utf-8-sig"), "utf-8-sig"),
    ("Mã;x\n".encode(), "utf-8"),
    (encode_cp1258("Mã số thuế;Hợp tác xã\n"), "cp1258"),
    (b"", "utf-8"),
])
def test_detect_encoding_names_the_codec_to_read_with(raw, encoding):
    assert tax.detect_encoding(io.BytesIO(raw), "tax/x.csv") == encoding


def test_a_damaged_utf8_file_is_named_by_line_and_offset_even_across_chunks():
    raw = ("Mã số thuế\n" * 3).encode() + b"abc\xe1\xbb" + b"\xff rest\n"
    offset = raw.index(b"abc") + 3
    with pytest.raises(RejectedObject) as caught:
        tax.detect_encoding(io.BytesIO(raw), "tax/x.csv", chunk_bytes=2)
    assert str(caught.value) == ("UTF-8 up to line 4, where byte(s) b'\\xe1\\xbb' at "
                                 f"offset {offset} are not UTF-8 (a damaged export?) — tax/x.csv")


# --- parsing a stream: the same rows as parsing the whole file ----------------------------

@pytest.mark.parametrize("path", TAX_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_a_landed_file_read_as_a_stream_parses_as_the_whole_file_did(path, tmp_path):
    zone = LandingZone(str(tmp_path))
    landed = land(zone, 1, _as_store_path(path))
    expected = outcome(lambda: parse_whole_file(path.read_bytes(), landed.url))
    with zone.open(landed.url) as stream:
        assert outcome(lambda: list(tax.parse_object(stream, landed.url))) == expected
        assert not stream.closed   # the stream is the caller's: left open for it to close
    assert outcome(lambda: list(tax.parse_object(path.read_bytes(), landed.url))) == expected


def land(zone: LandingZone, batch_id: int, source):
    """A delivered file landed as extract lands it: received (copied, hashed), kept."""
    with zone.receive("tax_declarations", source) as received:
        return received.keep(batch_id)


def _as_store_path(path: Path):
    from airflow.sdk import ObjectStoragePath

    return ObjectStoragePath(path.as_uri())


def test_nfc_line_by_line_equals_nfc_of_the_whole_windows_1258_text():
    """Windows-1258 tones as combining marks, including one that opens a line inside a quoted
    name and a CRLF split by the text reader's 8 KiB buffer: normalising each line gives the
    whole text's NFC, so the rows equal those of the whole-file parser."""
    codes = valid_codes(400)
    names = [f"Hợp tác xã Dịch vụ Nông nghiệp Tiến Hưng số {i}" for i in range(400)]
    names[7] = "Hợp tác xã\n\u0301 dòng hai"   # a line that starts with a combining acute
    body = "".join(f'{c};"{n}";01/GTGT;09/2024;0;18/10/2024;1.234.567;;12.345\r\n'
                   for c, n in zip(codes, names))
    raw = encode_cp1258(";".join(tax.HEADERS) + "\r\n" + body)
    assert b"\xde" in raw and b"\xf2" in raw and b"\n\xec" in raw   # tilde, dot below, acute
    decoded = raw.decode("cp1258")
    assert not unicodedata.is_normalized("NFC", decoded)
    # Pad the header so that one CRLF straddles the 8192-byte read of io.TextIOWrapper.
    crlf = raw.find(b"\r\n", 8000)
    raw = raw.replace(b"Doanh thu", b"Doanh thu" + b" " * (8191 - crlf), 1)
    assert raw[8191:8193] == b"\r\n"
    streamed = list(tax.parse_object(io.BytesIO(raw), "tax/x.csv"))
    assert streamed == parse_whole_file(raw, "tax/x.csv")
    assert len(streamed) == 400 and all(not r.failures for r in streamed)
    assert streamed[7].values["taxpayer_name"] == "Hợp tác xã \u0301 dòng hai"
    assert all(unicodedata.is_normalized("NFC", r.values["taxpayer_name"]) for r in streamed)


def test_a_rejection_found_mid_stream_names_the_file_as_before():
    raw = tax_file(3) + b"5701001064;\"never closed\n"
    assert outcome(lambda: list(tax.parse_object(io.BytesIO(raw), "tax/x.csv"))) == outcome(
        lambda: parse_whole_file(raw, "tax/x.csv"))


# --- landing: a streamed copy, byte for byte -----------------------------------------------

def test_a_landed_file_is_the_delivered_bytes_under_their_sha256(tmp_path):
    delivered = tmp_path / "tax" / "to_khai_202409.csv"
    delivered.parent.mkdir()
    delivered.write_bytes(os.urandom(3 * landing_module.CHUNK_BYTES + 123))   # and a remainder
    zone = LandingZone(tmp_path.as_uri())
    (delivery,) = zone.deliveries("tax/*.csv")
    digest = hashlib.sha256(delivered.read_bytes()).hexdigest()
    landed = land(zone, 3, delivery.path)
    assert (landed.sha256, landed.size_bytes) == (digest, delivered.stat().st_size)
    with zone.open(landed.url) as stream:
        assert stream.read() == delivered.read_bytes()
    assert landed.url.endswith(f"/batch-00000003/to_khai_202409.{digest[:12]}.csv")
    assert (delivery.relative, delivery.size_bytes) == ("tax/to_khai_202409.csv",
                                                        delivered.stat().st_size)
    assert list((tmp_path / "_landed").rglob("*.part")) == []   # no copy left behind


def test_a_copy_not_kept_is_deleted(tmp_path):
    delivered = tmp_path / "to_khai_202409.csv"
    delivered.write_bytes(b"version 1\n")
    zone = LandingZone(str(tmp_path))
    (delivery,) = zone.deliveries("*.csv")
    with zone.receive("tax_declarations", delivery.path) as received:
        assert received.sha256 == hashlib.sha256(b"version 1\n").hexdigest()
    assert [p for p in (tmp_path / "_landed").rglob("*") if p.is_file()] == []


class RewrittenWhileCopied:
    """A delivered file its source rewrites after the landing read its first chunk."""

    protocol = "memory"   # not a local disk: read through open(), as an object store's file

    def __init__(self, path):
        self.path, self.name = path, path.name

    def __str__(self):
        return str(self.path)

    def stat(self):
        return self.path.stat()

    def open(self, mode):
        reader = self.path.open(mode)
        real_read = reader.read

        def read(size=-1):
            chunk = real_read(size)
            if chunk:
                self.path.write_bytes(b"version 2, longer\n")
            return chunk

        reader.read = read
        return reader


def test_a_file_rewritten_while_it_is_landed_is_not_landed(tmp_path):
    delivered = tmp_path / "to_khai_202409.csv"
    delivered.write_bytes(b"version 1\n")
    zone = LandingZone(str(tmp_path))
    with pytest.raises(DeliveryChanged, match="^changed while it was being landed .* — .*to_khai_202409.csv$"):
        with zone.receive("tax_declarations", RewrittenWhileCopied(delivered)):
            pass
    assert [p for p in (tmp_path / "_landed").rglob("*") if p.is_file()] == []


# --- memory: bounded, whatever the file's size ----------------------------------------------

def write_large_tax_file(path: Path, megabytes: int, encode) -> int:
    """A contract-format file of about `megabytes` MB; rows have long names, so that the test
    spends its time on bytes rather than on per-row Python work. Returns its row count."""
    name = ("HợpTácXãNôngNghiệpTuyềnHiền" * 200)[:4000]
    codes = valid_codes(100)
    block = encode("".join(f"{code};{name} {i};01/GTGT;09/2024;0;18/10/2024;1.234.567.890;;"
                           f"12.345.678\r\n" for i, code in enumerate(codes)))
    rows = 0
    with path.open("wb") as out:
        out.write(encode(";".join(tax.HEADERS) + "\r\n"))
        while out.tell() < megabytes * 1_000_000:
            out.write(block)
            rows += len(codes)
    return rows


def peak_python_memory(work) -> tuple[object, int]:
    """`work()`'s result and the peak of Python allocations while it ran, in bytes."""
    tracemalloc.start()
    try:
        result = work()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.fixture(scope="module")
def large_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("large")
    files = {}
    for encoding, encode in (("utf-8", str.encode), ("cp1258", encode_cp1258)):
        for megabytes in (5, LARGE_MB):
            path = folder / f"to_khai_{encoding}_{megabytes}mb.csv"
            files[encoding, megabytes] = path, write_large_tax_file(path, megabytes, encode)
    return files


def test_hashing_and_landing_a_large_file_take_bounded_memory(large_files, tmp_path):
    path, _ = large_files["utf-8", LARGE_MB]
    source = _as_store_path(path)
    zone = LandingZone(str(tmp_path))
    landed, landing = peak_python_memory(lambda: land(zone, 1, source))
    assert landed.size_bytes == path.stat().st_size > LARGE_MB * 1_000_000
    assert landing < MEMORY_BOUND, landing


@pytest.mark.parametrize("encoding", ["utf-8", "cp1258"])
def test_parsing_a_large_landed_file_takes_memory_independent_of_its_size(large_files, encoding,
                                                                          tmp_path):
    zone = LandingZone(str(tmp_path))
    peaks = {}
    for megabytes in (5, LARGE_MB):
        path, rows = large_files[encoding, megabytes]
        source = _as_store_path(path)
        landed = land(zone, megabytes, source)

        def parse():
            with zone.open(landed.url) as stream:
                return sum(1 for row in tax.parse_object(stream, landed.url) if not row.failures)

        parsed, peaks[megabytes] = peak_python_memory(parse)
        assert parsed == rows
    assert peaks[LARGE_MB] < MEMORY_BOUND, peaks
    # Ten times the file, about the same peak (the detector's chunk, the longest row).
    assert abs(peaks[LARGE_MB] - peaks[5]) < 2**20, peaks


# --- extract: skip what was loaded and not touched since -----------------------------------

def run_id() -> pipeline.RunInfo:
    return pipeline.RunInfo(FEEDS["tax_declarations"].dag_id, f"stream-{uuid.uuid4().hex[:8]}",
                            "test")


def deliver(landing_dir: Path, name: str, raw: bytes | Path, age_s: float = 3600) -> Path:
    """A file dropped `age_s` seconds ago (older than the racy-mtime window unless told)."""
    path = landing_dir / "tax" / name
    path.parent.mkdir(exist_ok=True)
    if isinstance(raw, Path):
        shutil.copyfile(raw, path)
    else:
        path.write_bytes(raw)
    stamp = time.time() - age_s
    os.utime(path, (stamp, stamp))
    return path


@pytest.fixture
def hashed(monkeypatch):
    """The delivered files extract read (received: copied and hashed; the real one, counted)."""
    calls = []
    real = LandingZone.receive

    def counting(zone, feed, path):
        calls.append(str(path))
        return real(zone, feed, path)

    monkeypatch.setattr(LandingZone, "receive", counting)
    return calls


def fingerprints(dsn: str) -> list[tuple]:
    return query(dsn, "SELECT source_object, status, source_size_bytes, source_mtime"
                      " FROM audit.load_batch WHERE feed = 'tax_declarations' ORDER BY batch_id")


def test_a_loaded_file_untouched_since_is_skipped_without_being_read(warehouse, landing, hashed):
    path = deliver(landing, "to_khai_202409.csv", tax_file(8))
    (batch,) = run_feed("tax_declarations", run_id())
    stat = path.stat()
    assert fingerprints(warehouse) == [("tax/to_khai_202409.csv", "published", stat.st_size,
                                        stat.st_mtime)]
    assert len(hashed) == 1
    assert pipeline.extract_to_landing("tax_declarations", run_id()) == []
    assert len(hashed) == 1   # not hashed again: its (path, size, mtime) were enough


def test_a_touched_file_with_known_content_is_hashed_once_then_skipped(warehouse, landing, hashed):
    path = deliver(landing, "to_khai_202409.csv", tax_file(8))
    run_feed("tax_declarations", run_id())
    touched = time.time() - 600
    os.utime(path, (touched, touched))   # copied again, say: same bytes, a new mtime
    assert pipeline.extract_to_landing("tax_declarations", run_id()) == []   # no new batch
    assert len(hashed) == 2
    assert [f[2:] for f in fingerprints(warehouse)] == [(path.stat().st_size, touched)]
    assert pipeline.extract_to_landing("tax_declarations", run_id()) == []
    assert len(hashed) == 2   # the new mtime is now known too


def test_a_changed_file_is_read_and_landed_as_a_new_batch(warehouse, landing, hashed):
    deliver(landing, "to_khai_202409.csv", tax_file(8))
    run_feed("tax_declarations", run_id())
    deliver(landing, "to_khai_202409.csv", tax_file(9), age_s=1800)
    run_feed("tax_declarations", run_id())
    assert [f[:2] for f in fingerprints(warehouse)] == [
        ("tax/to_khai_202409.csv", "published"), ("tax/to_khai_202409.csv", "published")]
    # The second file's 9 declarations (every fourth quarantined) replaced the first's 8.
    assert query(warehouse, "SELECT count(*) FROM core.tax_declaration") == [(7,)]
    assert len(hashed) == 2


def test_a_file_modified_within_the_racy_window_is_hashed_again(warehouse, landing, hashed):
    """Its mtime could repeat after a same-size rewrite in the same tick, so it is not trusted:
    the batch records no mtime, and the next run reads the file again (and skips it by content)."""
    deliver(landing, "to_khai_202409.csv", tax_file(8), age_s=0)
    run_feed("tax_declarations", run_id())
    assert [f[2:] for f in fingerprints(warehouse)] == [(None, None)]
    assert pipeline.extract_to_landing("tax_declarations", run_id()) == []
    assert len(hashed) == 2


def test_extracting_a_large_delivery_takes_bounded_memory(warehouse, landing, large_files):
    path, _ = large_files["utf-8", LARGE_MB]
    deliver(landing, "to_khai_202409.csv", path)
    LandingZone.configured()   # Airflow's object storage imported before measuring
    batches, peak = peak_python_memory(
        lambda: pipeline.extract_to_landing("tax_declarations", run_id()))
    (landed_size,) = query(warehouse, "SELECT size_bytes FROM audit.landed_object"
                                      " WHERE batch_id = %s", (batches[0],))[0]
    assert landed_size == path.stat().st_size
    assert peak < MEMORY_BOUND, peak
