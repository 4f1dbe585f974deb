"""The in-database reader (htx.bulk) and the Python parser read every tax file the same way.

Each file is staged twice through the pipeline's own `validate_and_stage` — once forced through
the Python parser and the real Great Expectations suite, once forced through COPY and the suite
compiled to SQL — and everything the two leave behind must be equal: staged rows (record_hash
included), quarantined rows with their reasons, failures and records, counts, and the suite's
tallies in audit.validation_result; or the same rejection. A file the bulk reader must hand back
to the Python parser (blank lines, a short row, a mid-field quote) is listed, and every other
file is proven to have really been read by the database — an equality between two runs of the
same reader would prove nothing.
"""
from __future__ import annotations

import io
import unicodedata
import uuid
from pathlib import Path

import psycopg2
import pytest

from conftest import query
from htx import bulk, db, limits, pipeline
from htx.feeds import tax_declarations as parser
from htx.feeds.config import FEEDS
from htx.landing import LandingZone
from htx.paths import SQL_DIR

FEED = FEEDS["tax_declarations"]
HEADER = ";".join(parser.HEADERS)

# Every rule of the contract and the suite, and the edges of the readers' text handling.
EDGE_ROWS = [
    "5701001057;HTX Hoa Mai;01/GTGT;09/2024;0;15/10/2024;1.234.567.890;;123.456.789",
    "5701001057-001;  HTX   chi nhánh\tmột ;01/gtgt;q3/2024;1;5/1/2024;1234567;;0",
    "5701001071;HTX Tiến Lên;03/TNDN;2023;0;29/03/2024;2.000.000;-1.500;0",
    "5701001058;HTX bad check digit;01/GTGT;07/2024;0;15/08/2024;1.000;;0",
    "5701001040;HTX remainder zero;01/GTGT;07/2024;0;15/08/2024;1.000;;0",
    "5701001064-000;HTX branch 000;01/GTGT;07/2024;0;15/08/2024;1.000;;0",
    "5700000003;HTX zero body;01/GTGT;07/2024;0;15/08/2024;1.000;;0",
    "570100106;HTX nine digits;01/GTGT;07/2024;0;15/08/2024;1.000;;0",
    "5701001064;HTX other form;05/TNCN;07/2024;0;15/08/2024;1.000;;0",
    "5701001064;HTX yearly VAT;01/GTGT;2024;0;15/08/2024;1.000;;0",
    "5701001071;HTX CIT without profit;03/TNDN;2023;0;29/03/2024;2.000.000;;0",
    "5701001071;HTX CIT for a month;03/TNDN;03/2024;0;29/04/2024;2.000.000;1.000;0",
    "5701001089;HTX VAT without revenue;01/GTGT;08/2024;0;15/09/2024;;;0",
    "5701001089;HTX VAT with profit;01/GTGT;08/2024;1;16/09/2024;5.000;1.000;0",
    "5701001089;;01/GTGT;08/2024;2;17/09/2024;-5.000;;-50",
    ";HTX no code;01/GTGT;08/2024;0;15/09/2024;1.000;;0",
    "5701001057;HTX wrong grouping;01/GTGT;01/2024;0;15/02/2024;1.2.3;;0",
    "5701001057;HTX decimal;01/GTGT;02/2024;0;15/03/2024;12,34;;12.34",
    "5701001057;HTX impossible date;01/GTGT;03/2024;0;31/02/2024;1.000;;0",
    "5701001057;HTX year zero;01/GTGT;03/2024;0;01/01/0000;1.000;;0",
    "5701001057;HTX month 13;01/GTGT;13/2024;0;15/01/2025;1.000;;0",
    "5701001057;HTX quarter 5;01/GTGT;Q5/2024;0;15/01/2025;1.000;;0",
    "5701001057;HTX period year 0;03/TNDN;0000;0;15/01/2025;1.000;5;0",
    "5701001057;HTX ISO period;01/GTGT;2024-09;0;15/10/2024;1.000;;0",
    "5701001057;HTX revision word;01/GTGT;04/2024;một;15/05/2024;1.000;;0",
    "5701001057;HTX revision huge;01/GTGT;04/2024;99999999999;15/05/2024;1.000;;0",
    "5701001057;HTX negative revision;01/GTGT;06/2024;-1;15/07/2024;1.000;;0",
    "5701001057;HTX overflow;01/GTGT;06/2024;0;15/07/2024;9.223.372.036.854.775.808;;0",
    "5701001057;HTX max;01/GTGT;06/2024;0;15/07/2024;9.223.372.036.854.775.807;;-9.223.372.036.854.775.807",
    "5701001057;HTX fullwidth;01/GTGT;06/2024;０;15/07/2024;１.０００;;0",
    ";;;;;;;;",
    "  ;\u00a0;\u3000;;;;;;",
    "5701001057;\"HTX \"\"Quoted\"\"; Ltd\";01/GTGT;10/2024;0;15/11/2024;1.000;;0",
    "5701001057;HTX Nghe\u0302\u0323 NFD;01/GTGT;11/2024;0;15/12/2024;1.000;;0",
    "5701001057;HTX Ōsaka \U0001F33E;01/GTGT;12/2024;0;15/01/2025;1.000;;0",
    "5701001057;HTX 'quote' \\ back;01/GTGT;12/2024;0;15/01/2025;-1;;0",
]

# Five versions of one declaration (Lần nộp, Ngày nộp): the latest is Lần nộp 2 filed on the 16th.
REPEATS = [f"5701001057;HTX Hoa Mai;01/GTGT;09/2024;{rev};{day}/10/2024;{rev}.000;;0"
           for rev, day in ((0, 15), (2, 16), (1, 20), (2, 16), (0, 25))]


# Files the bulk reader hands to the Python parser (and why): blank lines or a short row make
# COPY fail, a mid-field quote is read differently by the two CSV readers, a quoted line break
# makes a row span lines (the Python parser measures such rows against the row-length limit),
# and a CR alone ends lines only for the Python reader.
PYTHON_ONLY = {
    "row_edges.csv", "blank_rows_only.csv", "truncated.csv", "truncated_in_quotes.csv",
    "hostile_values.csv", "cr_line_ends.csv",
}
TAX_FILES = Path(__file__).parent / "corpus" / "tax_declarations"


def stage(dsn: str, raw: bytes, name: str, bulk_min_bytes: int, monkeypatch) -> dict:
    """One delivery of `raw`, staged by validate_and_stage; what it left behind."""
    monkeypatch.setenv("HTX_BULK_MIN_BYTES", str(bulk_min_bytes))
    run = pipeline.RunInfo(FEED.dag_id, uuid.uuid4().hex[:8], "test")
    with db.transaction() as conn, conn.cursor() as cur:
        batch = pipeline._open_batch(cur, FEED, f"{name}@{uuid.uuid4().hex}", run, None, name)
        landed = LandingZone.configured().land(FEED.name, batch, Path(name).name, raw)
        pipeline._record_landed(cur, batch, 1, landed)
    try:
        pipeline.validate_and_stage(FEED.name, batch)
        rejected = None
    except pipeline.BatchRejected as err:
        rejected = str(err).replace(f"batch {batch}", "batch N").replace(landed.url, "URL")
    columns = ", ".join(("source_row",) + parser.COLUMNS)
    return {
        "rejected": rejected,
        "counts": query(dsn, "SELECT status, rows_in, rows_loaded, rows_quarantined"
                             " FROM audit.load_batch WHERE batch_id = %s", (batch,)),
        "staged": query(dsn, f"SELECT {columns} FROM staging.tax_declarations"
                             " WHERE batch_id = %s ORDER BY source_row", (batch,)),
        "quarantined": query(dsn, "SELECT source_row, reason, failures, record"
                                  " FROM quarantine.tax_declarations WHERE batch_id = %s"
                                  " ORDER BY source_row", (batch,)),
        "tallies": query(dsn, "SELECT expectation, severity, success, element_count,"
                              " unexpected_count, unexpected_sample FROM audit.validation_result"
                              " WHERE batch_id = %s ORDER BY expectation", (batch,)),
    }


def assert_same_reading(dsn: str, raw: bytes, name: str, monkeypatch) -> str:
    """Both readers leave the same things behind; returns what the database reader did."""
    from htx.feeds.common import RejectedObject

    by_python = stage(dsn, raw, name, 1 << 62, monkeypatch)
    outcomes = []

    def watched_stage_file(*args, **kwargs):  # the real reader, its outcome noted
        try:
            result = real_stage_file(*args, **kwargs)
        except bulk.NotBulkLoadable:
            outcomes.append("handed to Python")
            raise
        except RejectedObject:
            outcomes.append("rejected")
            raise
        outcomes.append("read by the database")
        return result

    real_stage_file = bulk.stage_file
    monkeypatch.setattr(bulk, "stage_file", watched_stage_file)
    by_database = stage(dsn, raw, name, 0, monkeypatch)
    monkeypatch.setattr(bulk, "stage_file", real_stage_file)
    for part in by_python:
        assert by_database[part] == by_python[part], f"{name}: {part} differ"
    assert len(outcomes) == 1, outcomes
    return outcomes[0]


@pytest.mark.parametrize("name", sorted(p.name for p in TAX_FILES.glob("*.csv")))
def test_every_committed_tax_file_reads_the_same(name, warehouse, landing, monkeypatch):
    raw = (TAX_FILES / name).read_bytes()
    done = assert_same_reading(warehouse, raw, f"tax/{name}", monkeypatch)
    if name in PYTHON_ONLY:
        assert done == "handed to Python"
    else:
        assert done in ("read by the database", "rejected")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1258"])
def test_every_rule_and_text_edge_reads_the_same(encoding, warehouse, landing, monkeypatch):
    lines = [HEADER, *EDGE_ROWS]
    if encoding == "cp1258":
        raw = "\n".join(filter(None, map(windows_1258, lines))).encode("cp1258") + b"\n"
    else:
        raw = ("\n".join(lines) + "\n").encode(encoding)
    done = assert_same_reading(warehouse, raw, "tax/to_khai_202410.csv", monkeypatch)
    assert done == "read by the database"
    found = stage(warehouse, raw, "tax/to_khai_202411.csv", 0, monkeypatch)
    assert found["counts"][0][2] >= 3 and found["counts"][0][3] >= 20  # both outcomes exercised
    # Rows breaking only a warning rule are staged and flagged: the tallies and counts compared
    # above hold the database reader's passed count (staged − flagged but staged) to the parser's.
    warned = 2 + next(i for i, row in enumerate(EDGE_ROWS) if "HTX VAT with profit" in row)
    assert warned in [row[0] for row in found["staged"]]
    assert {expectation for expectation, severity, *_, unexpected, _ in found["tallies"]
            if severity == "warning" and unexpected} >= {
        "expect_column_values_to_be_in_set(profit_absent_on_vat)",
        "expect_column_values_to_be_between(revenue_vnd)"}


TONES = "\u0300\u0301\u0303\u0309\u0323"  # the marks Windows-1258 writes after a letter


def windows_1258(text: str) -> str | None:
    """Text as an old export writes it — tones as combining marks after the letter (ệ = ê + ◌̣);
    None when it holds a character Windows-1258 cannot write at all."""
    written = []
    for char in text:
        decomposed = unicodedata.normalize("NFD", char)
        base = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in TONES))
        for candidate in (char, base + "".join(c for c in decomposed if c in TONES)):
            try:
                candidate.encode("cp1258")
                written.append(candidate)
                break
            except UnicodeEncodeError:
                continue
        else:
            return None
    return "".join(written)


def test_a_file_the_database_cannot_read_goes_to_the_python_parser(warehouse, landing,
                                                                   monkeypatch):
    rows = EDGE_ROWS[:3] + ["", "5701001057;HTX short row;01/GTGT"]
    raw = ("\n".join([HEADER, *rows]) + "\n").encode()
    done = assert_same_reading(warehouse, raw, "tax/to_khai_202410.csv", monkeypatch)
    assert done == "handed to Python"
    found = stage(warehouse, raw, "tax/to_khai_202412.csv", 0, monkeypatch)
    assert found["counts"] == [("staged", 4, 3, 1)]
    assert "has 3 fields, the header has 9" in found["quarantined"][0][1]


@pytest.mark.parametrize("expectation", [
    {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "tax_code"}},
    # `mostly` makes the verdict depend on the whole batch, not on the row
    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "tax_code", "mostly": 0.9}},
    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "not_a_column"}},
])
def test_a_rule_sql_cannot_express_keeps_the_feed_on_the_python_path(expectation):
    with pytest.raises(bulk.NotBulkLoadable):
        bulk.compile_suite({"expectations": [expectation]}, set(parser.COLUMNS))


def test_both_readers_merge_the_same_rows_and_the_same_latest_versions(warehouse, landing,
                                                                      monkeypatch):
    """The database reader flags each declaration's best version in the file as it stages it;
    the parser's rows get theirs in the merge: core ends the same either way."""
    raw = ("\n".join([HEADER, *EDGE_ROWS, *REPEATS]) + "\n").encode()
    merged = []
    for name, bulk_min_bytes in (("tax/to_khai_202410.csv", 1 << 62), ("tax/to_khai_202411.csv", 0)):
        stage(warehouse, raw, name, bulk_min_bytes, monkeypatch)
        (batch,) = query(warehouse, "SELECT max(batch_id) FROM audit.load_batch")[0]
        assert pipeline.merge_into_core(FEED.name, batch)
        merged.append(query(warehouse, "SELECT source_row, tax_code, form_code, period_start,"
                                       " revision, filed_on, revenue_vnd, is_latest"
                                       " FROM core.tax_declaration ORDER BY source_row"))
        query(warehouse, "DELETE FROM core.tax_declaration")
    python_rows, database_rows = merged
    assert database_rows == python_rows
    latest = [row[0] for row in python_rows if row[7] and row[1] == "5701001057"
              and row[3].isoformat() == "2024-09-01"]
    assert latest == [len(EDGE_ROWS) + 5]   # Lần nộp 2 filed on the 16th: the later of its two rows


def test_the_database_reader_stores_a_files_lineage_once_not_in_each_row(warehouse, landing,
                                                                        monkeypatch):
    """source_object (the landed object) and source_file (the delivered path), the same on every
    row of a file, are its partition's columns' missing value (PostgreSQL's fast default,
    migration 0180): staging, core and its views read them on every row, as the parser's rows
    store them, and neither leaf of the partition has them in its rows (columns added after the
    rows, their value in pg_attribute, no default left)."""
    raw = ("\n".join([HEADER, *EDGE_ROWS]) + "\n").encode()
    stage(warehouse, raw, "tax/to_khai_202408.csv", 0, monkeypatch)
    ((batch, url, loaded),) = query(
        warehouse, "SELECT b.batch_id, o.object_url, b.rows_loaded FROM audit.load_batch AS b"
                   " JOIN audit.landed_object AS o USING (batch_id)"
                   " WHERE b.batch_id = (SELECT max(batch_id) FROM audit.load_batch)")
    lineage = [(url, "tax/to_khai_202408.csv", loaded)]
    leaves = [leaf for (leaf,) in query(
        warehouse, "SELECT relid::regclass::text FROM pg_partition_tree(%s::regclass)"
                   " WHERE isleaf ORDER BY 1", (f"core_batch.tax_declaration_{batch:08d}_staged",))]
    assert len(leaves) == 2
    assert query(warehouse, "SELECT attrelid::regclass::text, attname, atthasmissing,"
                            " (attmissingval::text::text[])[1], atthasdef FROM pg_attribute"
                            " WHERE attrelid = ANY(%s::regclass[])"
                            " AND attname IN ('source_object', 'source_file') ORDER BY 1, 2",
                 (leaves,)) == [(leaf, column, True, value, False) for leaf in leaves
                                for column, value in (("source_file", lineage[0][1]),
                                                      ("source_object", url))]
    read = ("SELECT source_object, source_file, count(*) FROM {} WHERE batch_id = %s"
            " GROUP BY 1, 2")
    assert query(warehouse, read.format("staging.tax_declarations"), (batch,)) == lineage
    assert pipeline.merge_into_core(FEED.name, batch)
    try:
        assert query(warehouse, read.format("core.tax_declaration"), (batch,)) == lineage
        for view in ("core.tax_declaration_latest", "core.tax_declaration_unmatched"):
            assert query(warehouse, read.format(view), (batch,))[0][:2] == lineage[0][:2]
    finally:
        query(warehouse, "DELETE FROM core.tax_declaration WHERE batch_id = %s", (batch,))


def test_a_bulk_batch_staged_again_drops_its_partition_whole(warehouse, landing, monkeypatch):
    """Its rows are not deleted one by one before their partition is dropped (a row trigger that
    refuses any deletion is dropped with it), and the batch is staged as the first time."""
    raw = ("\n".join([HEADER, *EDGE_ROWS]) + "\n").encode()
    first = stage(warehouse, raw, "tax/to_khai_202407.csv", 0, monkeypatch)
    (batch,) = query(warehouse, "SELECT max(batch_id) FROM audit.load_batch")[0]
    query(warehouse, "CREATE FUNCTION public.refuse_to_delete() RETURNS trigger LANGUAGE plpgsql"
                     " AS $$ BEGIN RAISE EXCEPTION 'a staged row deleted'; END $$")
    try:
        for leaf in ("latest", "history"):
            query(warehouse, f"CREATE TRIGGER refuse_to_delete BEFORE DELETE ON"
                             f" core_batch.tax_declaration_{batch:08d}_staged_{leaf}"
                             " FOR EACH ROW EXECUTE FUNCTION public.refuse_to_delete()")
        pipeline.validate_and_stage(FEED.name, batch)
    finally:
        query(warehouse, "DROP FUNCTION public.refuse_to_delete() CASCADE")
    assert query(warehouse, "SELECT status, rows_in, rows_loaded, rows_quarantined"
                            " FROM audit.load_batch WHERE batch_id = %s", (batch,)) == first["counts"]


# --- several sessions type one file (HTX_BULK_SESSIONS) -----------------------------------------

def staged_latest(dsn: str) -> list:
    return query(dsn, "SELECT source_row, is_latest FROM staging.tax_declarations"
                      " WHERE batch_id = (SELECT max(batch_id) FROM audit.load_batch)"
                      " ORDER BY source_row")


def open_partitions(dsn: str) -> list:
    return query(dsn, "SELECT relname FROM pg_class WHERE relnamespace = 'core_batch'::regnamespace"
                      " AND relname ~ '_open_[0-9]+$' ORDER BY 1")


@pytest.mark.parametrize("sessions", [1, 3])
def test_the_sessions_share_a_files_rows_and_stage_the_same(sessions, warehouse, landing,
                                                            monkeypatch):
    """Each session reads the file and types the rows whose tax code hashes to it (all versions
    of a declaration, so it chooses their latest among its own): one, two or three sessions leave
    the same rows, latest flags, quarantine, counts and tallies, and every session typed some."""
    raw = ("\n".join([HEADER, *EDGE_ROWS, *REPEATS]) + "\n").encode()
    monkeypatch.setenv("HTX_BULK_SESSIONS", "2")
    two = stage(warehouse, raw, "tax/to_khai_202406.csv", 0, monkeypatch)
    two_latest = staged_latest(warehouse)
    shares, real_stage = [], bulk._Share.stage

    def watched_stage(share, cur, index):
        shares.append((index, real_stage(share, cur, index)))
        return shares[-1][1]

    monkeypatch.setattr(bulk._Share, "stage", watched_stage)
    monkeypatch.setenv("HTX_BULK_SESSIONS", str(sessions))
    other = stage(warehouse, raw, "tax/to_khai_202406.csv", 0, monkeypatch)
    assert other == two
    assert staged_latest(warehouse) == two_latest
    assert sorted(index for index, _ in shares) == list(range(sessions))
    assert all(staged > 0 for _, staged in shares)
    assert sum(staged for _, staged in shares) == two["counts"][0][2]
    assert open_partitions(warehouse) == []


def test_the_rows_are_shared_by_their_tax_code_as_typed(warehouse):
    """The split expression (its fast path for clean ASCII codes included) gives what csv_text
    gives — the tax code the declaration is keyed by — so that codes typed alike go to one
    session whatever their spaces, marks or width."""
    codes = ["5701001057", " 5701001057", "5701001057\u00a0", "\t5701001057-001 ", "5701001057\x1f",
             "\u3000", " ", "", None, "５７０１００１０５７", "Nghe\u0302\u0323", "e\u0301", "x", "~"]
    expression = (SQL_DIR / "bulk" / "tax_declarations_split.sql").read_text(encoding="utf-8")
    found = query(warehouse, f"SELECT tax_code, {expression}, staging.csv_text(tax_code)"
                             " FROM unnest(%s::text[]) AS raw(tax_code)", (codes,))
    assert [split for _, split, _ in found] == [typed for _, _, typed in found]
    assert len(found) == len(codes)


def test_a_session_failing_leaves_the_batch_as_it_was_and_a_rerun_stages_it(warehouse, landing,
                                                                           monkeypatch):
    """A helper session's error fails the whole staging of a batch staged before (the others
    cancelled): the batch stays as its earlier staging left it, though the failed helper's share
    may have been committed in the open partition, which nothing reads; staging the batch again
    drops that and stages the file whole."""
    raw = ("\n".join([HEADER, *EDGE_ROWS]) + "\n").encode()
    expected = stage(warehouse, raw, "tax/to_khai_202405.csv", 0, monkeypatch)
    (batch,) = query(warehouse, "SELECT max(batch_id) FROM audit.load_batch")[0]
    real_stage = bulk._Share.stage

    def failing_stage(share, cur, index):
        staged = real_stage(share, cur, index)
        if index == 1:
            cur.connection.commit()   # the worst case: its rows committed before it fails
            raise psycopg2.OperationalError("the helper session lost its server")
        return staged

    monkeypatch.setattr(bulk._Share, "stage", failing_stage)
    monkeypatch.setenv("HTX_BULK_SESSIONS", "2")
    with pytest.raises(psycopg2.OperationalError, match="lost its server"):
        pipeline.validate_and_stage(FEED.name, batch)
    assert query(warehouse, "SELECT status, rows_in, rows_loaded, rows_quarantined"
                            " FROM audit.load_batch WHERE batch_id = %s", (batch,)) == expected["counts"]
    assert query(warehouse, "SELECT count(*) FROM staging.tax_declarations WHERE batch_id = %s",
                 (batch,)) == [(expected["counts"][0][2],)]
    assert len(open_partitions(warehouse)) == 1   # left attached to nothing
    monkeypatch.setattr(bulk._Share, "stage", real_stage)
    pipeline.validate_and_stage(FEED.name, batch)
    assert open_partitions(warehouse) == []
    assert query(warehouse, "SELECT status, rows_in, rows_loaded, rows_quarantined"
                            " FROM audit.load_batch WHERE batch_id = %s", (batch,)) == expected["counts"]


# --- line ends and row lengths: read the same, or rejected the same (never a crash) ----------

ROW_LIMIT = 128 * 1024   # limits.CSV_LINE_CHARS, as `make demo` runs it
SHORT = EDGE_ROWS[:3]


def row_of(length: int, name_char: str = "x") -> str:
    """A valid declaration row of exactly `length` characters (its line break not counted)."""
    row = "5701001057;{};01/GTGT;09/2024;0;15/10/2024;1.000;;0"
    return row.format(name_char * (length - len(row) + 2))


@pytest.mark.parametrize("case, text, database, outcome", [
    # CR-only and mixed line ends: COPY would take them otherwise than Python's csv does.
    ("CR only", "\r".join([HEADER, *SHORT]) + "\r", "handed to Python", ("staged", 3)),
    ("CR and CRLF", f"{HEADER}\r\n{SHORT[0]}\r{SHORT[1]}\r\n{SHORT[2]}\n", "handed to Python",
     ("staged", 3)),
    ("CRLF", "\r\n".join([HEADER, *SHORT]) + "\r\n", "read by the database", ("staged", 3)),
    # A row as long as the limit allows (its line break makes it the limit) loads both ways.
    ("row at the limit", "\n".join([HEADER, row_of(ROW_LIMIT - 1), *SHORT]) + "\n",
     "read by the database", ("staged", 4)),
    ("row over the limit", "\n".join([HEADER, *SHORT, row_of(ROW_LIMIT)]) + "\n",
     "handed to Python", ("rejected", "from line 5")),
    # Bytes beyond the limit, characters within it: the Python parser decides (and loads it).
    ("two-byte letters", "\n".join([HEADER, row_of(100_000, "Đ"), *SHORT]) + "\n",
     "handed to Python", ("staged", 4)),
    ("header field of 200 KiB", f"{HEADER};{'S' * (200 << 10)}\n" + "\n".join(SHORT) + "\n",
     "handed to Python", ("rejected", "from line 1")),
    ("one line of 1 MiB", ";".join(["x" * (128 << 10)] * 8), "handed to Python",
     ("rejected", "from line 1")),
    # Short lines, but one quoted field runs across them beyond the limit.
    ("quoted field over the limit across lines",
     "\n".join([HEADER, SHORT[0], '5701001057;"' + ("x" * 99 + "\n") * 1400
                + '";01/GTGT;09/2024;0;15/10/2024;1.000;;0']) + "\n",
     "handed to Python", ("rejected", "from line 3")),
])
def test_line_ends_and_long_rows_read_the_same(case, text, database, outcome, warehouse, landing,
                                               monkeypatch):
    raw = text.encode()
    assert assert_same_reading(warehouse, raw, "tax/to_khai_202410.csv", monkeypatch) == database
    found = stage(warehouse, raw, "tax/to_khai_202411.csv", 0, monkeypatch)
    if outcome[0] == "staged":
        assert found["rejected"] is None and found["counts"][0][:2] == ("staged", outcome[1])
    else:
        assert found["rejected"] == ("a CSV row longer than the limit of 131,072 characters "
                                     f"(HTX_MAX_CSV_LINE_CHARS), {outcome[1]} — URL")


@pytest.mark.parametrize("setting, used_before, expected", [
    (None, False, "1GB"), ("96", False, "96MB"), ("96", True, "8MB")])
def test_the_reader_takes_larger_temp_buffers_only_where_the_session_allows(
        local_server, monkeypatch, setting, used_before, expected):
    """PostgreSQL lets a session size its temporary-table buffers until its first temporary
    table: the reader's larger ones (HTX_BULK_TEMP_BUFFERS_MB, 1 GB by default) are taken then,
    and a session that had one keeps its own (its transaction goes on unharmed)."""
    if setting is None:
        monkeypatch.delenv("HTX_BULK_TEMP_BUFFERS_MB", raising=False)
    else:
        monkeypatch.setenv("HTX_BULK_TEMP_BUFFERS_MB", setting)
    conn = psycopg2.connect(local_server.uri("postgres"))
    try:
        with conn.cursor() as cur:
            cur.execute("SET temp_buffers = '8MB'")
            if used_before:
                cur.execute("CREATE TEMP TABLE earlier (x int) ON COMMIT DROP;"
                            " INSERT INTO earlier VALUES (1)")
            bulk._room_for_temp_tables(cur, bulk.temp_buffers())
            cur.execute("SELECT current_setting('temp_buffers'), 1 + 1")
            assert cur.fetchone() == (expected, 2)
    finally:
        conn.close()


def test_a_temp_buffers_setting_that_is_no_size_is_refused_by_name(local_server, monkeypatch):
    monkeypatch.setenv("HTX_BULK_TEMP_BUFFERS_MB", "1GB")
    conn = psycopg2.connect(local_server.uri("postgres"))
    try:
        with conn.cursor() as cur, pytest.raises(limits.LimitSettingError) as refused:
            bulk._room_for_temp_tables(cur, bulk.temp_buffers())
        assert str(refused.value) == ("refused setting: HTX_BULK_TEMP_BUFFERS_MB must be a whole"
                                      " number of MB above 0, not '1GB'")
    finally:
        conn.close()


def test_the_raw_rows_are_analysed_from_a_small_sample_leaving_the_sessions_target(local_server):
    """The COPYed rows' statistics come from a small sample (their columns' own target), and the
    session keeps the target it had set for whatever it analyses later (a RESET would return it
    to the server's default)."""
    raw = ("\n".join([HEADER, *EDGE_ROWS[:3]]) + "\n").encode()
    conn = psycopg2.connect(local_server.uri("postgres"))
    try:
        with conn.cursor() as cur:
            cur.execute("SET default_statistics_target = 42")
            stream = io.BytesIO(raw)
            columns, encoding = bulk._read_header(stream, parser, "tax/raw.csv")
            bulk._copy_raw(cur, stream, columns, parser, encoding, "tax/raw.csv")
            cur.execute("SELECT current_setting('default_statistics_target')")
            assert cur.fetchone() == ("42",)
            cur.execute("SELECT DISTINCT attstattarget FROM pg_attribute"
                        " WHERE attrelid = 'pg_temp.bulk_raw'::regclass AND attnum > 0")
            assert cur.fetchall() == [(10,)]
            cur.execute("SELECT count(*) FROM pg_stats WHERE tablename = 'bulk_raw'")
            assert cur.fetchone()[0] == len(columns) + 1
    finally:
        conn.rollback()
        conn.close()


def test_the_planner_settings_of_the_staging_are_put_back_as_the_session_had_them(local_server):
    """The staging statement's planner settings (db.local_settings) last for it only: the session
    gets back what it had set, not the server's defaults (a RESET), also after its commit."""
    conn = psycopg2.connect(local_server.uri("postgres"))
    try:
        with conn.cursor() as cur:
            cur.execute("SET enable_sort = off")
            shown = "SELECT current_setting('enable_sort'), current_setting('enable_nestloop')"
            with db.local_settings(cur, enable_sort="on", enable_nestloop="off"):
                cur.execute(shown)
                assert cur.fetchone() == ("on", "off")
            cur.execute(shown)
            assert cur.fetchone() == ("off", "on")
            conn.commit()
            cur.execute(shown)
            assert cur.fetchone() == ("off", "on")
    finally:
        conn.close()
