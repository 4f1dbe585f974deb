"""In-database ingest of large CSV deliveries: PostgreSQL reads, types and validates them.

The Python parsers spend 40–100 µs on each row; a national monthly tax file has millions. For a
CSV feed declaring a bulk transform (`Feed.bulk_sql`, e.g. `include/sql/bulk/<feed>.sql`; its parser
a htx.feeds.kit.BulkCsvParser), a delivery of at least
`HTX_BULK_MIN_BYTES` is instead streamed from the landing zone into PostgreSQL's own COPY (which
also decodes Windows-1258), typed by that SQL, and checked by the feed's expectation suite
compiled to SQL predicates (`compile_suite`) — one pass per batch instead of per-row Python,
in SESSIONS database sessions at once when the feed says how to share its rows among them.

Same input, same result: the staged rows, quarantine reasons, counts and expectation tallies
equal the Python path's (tests/test_bulk_equivalence.py). Anything the two CSV readers might
read differently — a quote inside a field, a `\\.` line, blank lines, a wrong field count, bytes
the encoding cannot hold, a CR alone as a line end, a quoted field holding a line break, a line
the row-length limit (limits.CSV_LINE_CHARS) could refuse, a header csv cannot read — sends the
file to the Python parser (`NotBulkLoadable`), which reads it row by row and reports each bad
row by number, or rejects the file naming the limit.
"""
from __future__ import annotations

import csv
import heapq
import io
import os
import re
import unicodedata
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
from operator import itemgetter
from pathlib import Path

from psycopg2 import DataError, sql

from htx import db, limits
from htx.feeds.common import Failure, RejectedObject, jsonable
from htx.quarantine import quarantine_rows
from htx.validation import SAMPLE_SIZE, ExpectationTally, expectation_key, load_suite

DEFAULT_MIN_BYTES = 8 * 1024 * 1024
# How many database sessions type one large file at once, each on a core of its own: one reads,
# types and stages the rows whose key (the feed's `bulk/<feed>_split.sql`) hashes to it.
SESSIONS = limits.Limit("HTX_BULK_SESSIONS", 2, "sessions",
                        "database sessions typing one large file at once")
SCAN_BYTES = 1024 * 1024
# Quarantined rows are fetched this much source text at a time (rows may each be as long as
# limits.CSV_LINE_CHARS allows).
QUARANTINE_FETCH_CHARS = 32 << 20
# The session's buffers for its temporary tables (PostgreSQL's default: 8 MB): its share of the
# COPYed rows (≈ 75 MB per session for a million-row file, ≈ 750 MB for ten million), read five
# times, stays in memory instead of being written out and read back on each pass (ten million
# rows ingested in 60.9 s against 66.3 s with 256 MB, back to back). The server takes them as
# they fill, up to this; a larger share passes through them, as through the default. A server
# with little memory to spare sets less (each of SESSIONS sessions may take this much).
TEMP_BUFFERS = limits.Limit("HTX_BULK_TEMP_BUFFERS_MB", 1024, "MB",
                            "server memory for one typing session's temporary tables")
_PG_ENCODING = {"utf-8": "UTF8", "utf-8-sig": "UTF8", "cp1258": "WIN1258"}
# A quote neither opening nor closing a field: Python's csv keeps it, COPY starts quoting there.
_MID_FIELD_QUOTE = re.compile(rb'[^;\n"]"[^;\r\n"]')
# A CR not followed by LF: Python's csv ends a line there, COPY does so only in a CR-only file.
_LONE_CR = re.compile(rb"\r(?=[^\n])")


class NotBulkLoadable(Exception):
    """This file must go through the Python parser (the reason is logged)."""


class NotCompilable(NotBulkLoadable):
    """The suite uses an expectation the SQL compiler does not know: the parser and GX read it."""


@dataclass(frozen=True)
class CompiledRule:
    """One expectation as a SQL predicate that is true for each unexpected row."""
    key: str
    kind: str          # the expectation type, the failure's rule as in the Python path
    severity: str
    column: str
    field: str        # the source field a failure names (meta.field, else the column)
    message: str
    predicate: object  # psycopg2.sql.Composable
    bit: int


def min_bytes() -> int:
    return int(os.environ.get("HTX_BULK_MIN_BYTES", DEFAULT_MIN_BYTES))


def applies(feed, size_bytes: int | None) -> bool:
    """Large deliveries of CSV feeds that declare a bulk transform (and no source cursor)."""
    return (feed.bulk_sql is not None and feed.cursor_field is None
            and size_bytes is not None and size_bytes >= min_bytes())


# --- the suite as SQL ----------------------------------------------------------------------

def compile_suite(suite: dict, typed_columns: set[str]) -> list[CompiledRule]:
    """Each expectation → a NULL-safe predicate over the typed table, GX's semantics: NULLs are
    unexpected only for not_null; every other rule ignores them."""
    rules = []
    for bit, expectation in enumerate(suite["expectations"]):
        kwargs, meta = expectation.get("kwargs", {}), expectation.get("meta", {})
        column = kwargs.get("column")
        if column not in typed_columns or set(kwargs) - _KNOWN_KWARGS or bit > 62:
            raise NotCompilable(f"{expectation['type']}({column})")
        predicate = _predicate(expectation["type"], sql.Identifier(column), kwargs)
        key = expectation_key(expectation)
        rules.append(CompiledRule(key, expectation["type"], meta.get("severity", "critical"), column,
                                  meta.get("field", column), meta.get("message", key),
                                  predicate, bit))
    return rules


_KNOWN_KWARGS = {"column", "regex", "value_set", "min_value", "max_value", "strict_min",
                 "strict_max"}


def _predicate(kind: str, column, kwargs: dict):
    if kind == "expect_column_values_to_not_be_null":
        return sql.SQL("{} IS NULL").format(column)
    if kind == "expect_column_values_to_match_regex":
        return sql.SQL("coalesce({} !~ {}, false)").format(column, sql.Literal(kwargs["regex"]))
    if kind == "expect_column_values_to_be_in_set":
        return sql.SQL("coalesce(NOT ({} = ANY({})), false)").format(
            column, sql.Literal(list(kwargs["value_set"])))
    if kind == "expect_column_values_to_be_between":
        bounds = []
        for bound, strict, op, strict_op in (("min_value", "strict_min", ">=", ">"),
                                             ("max_value", "strict_max", "<=", "<")):
            if kwargs.get(bound) is not None:
                bounds.append(sql.SQL("{} {} {}").format(
                    column, sql.SQL(strict_op if kwargs.get(strict) else op),
                    sql.Literal(kwargs[bound])))
        if not bounds:
            raise NotCompilable(f"{kind} without bounds")
        return sql.SQL("coalesce(NOT ({}), false)").format(sql.SQL(" AND ").join(bounds))
    raise NotCompilable(kind)


# --- one landed CSV file → staging and quarantine -------------------------------------------

@dataclass
class BulkResult:
    rows_in: int
    rows_loaded: int
    rows_quarantined: int
    tallies: dict   # expectation key → htx.validation.ExpectationTally


def stage_file(cur, feed, parser, batch_id: int, url: str, zone) -> BulkResult:
    """COPY the landed file, type and check it in SQL, stage good rows, quarantine bad ones —
    in SESSIONS sessions at once, `cur`'s and helpers', each taking its share of the rows; the
    batch's partition, which they all fill, is opened beforehand in a transaction of its own and
    closed in `cur`'s: the batch is staged whole or not at all. NotBulkLoadable leaves `cur`'s
    transaction as it found it."""
    rules = compile_suite(load_suite(feed.name), set(parser.COLUMNS + parser.CHECK_COLUMNS))
    with zone.open(url) as stream:
        columns, encoding = _read_header(stream, parser, url)
    critical = sum(1 << r.bit for r in rules if r.severity == "critical")
    split_key = _split_key(feed)
    share = _Share(feed, parser, rules, url, zone, columns, encoding,
                   {f"m_{column}": message for column, message in parser.PARSE_MESSAGES.items()},
                   {"batch_id": batch_id, "critical": critical}, split_key,
                   1 if split_key is None else SESSIONS.value(), temp_buffers())
    cur.execute("SAVEPOINT bulk_stage")
    try:
        with _helper_sessions(share.sessions - 1) as helpers:
            sessions = [cur, *helpers]
            share.opened = _open_partition(feed, batch_id)
            loaded = sum(_in_parallel(sessions, share.stage))
            rows_in, tallies = _tallies(sessions, rules, loaded, critical)
            if rows_in == 0:   # rejected: the caller's transaction, rolled back, takes all along
                raise RejectedObject(url, parser.EMPTY_DELIVERY)
            quarantined = _quarantine_bad_rows(sessions, feed, parser, rules, batch_id, url,
                                               critical)
            for helper in helpers:
                helper.connection.commit()
    except NotBulkLoadable:
        cur.execute("ROLLBACK TO SAVEPOINT bulk_stage")
        unstage(cur, feed, batch_id)   # the partition opened for it
        raise
    cur.execute("RELEASE SAVEPOINT bulk_stage")
    db.run_sql_file(cur, _companion_sql(feed, "close"), share.staging)
    return BulkResult(rows_in, loaded, quarantined, tallies)


@dataclass
class _Share:
    """What every session needs to read, type and stage its share of one landed file."""
    feed: object
    parser: object
    rules: list
    url: str
    zone: object
    columns: list
    encoding: str
    messages: dict   # m_<column>: the parser's failure message for each field it converts
    staging: dict    # batch_id, critical (the bits of the critical expectations)
    split_key: str | None = None   # the feed's `bulk/<feed>_split.sql`, if it has one
    sessions: int = 1              # SESSIONS for a feed that has one
    temp_buffers: str = "8MB"      # temp_buffers(), read once before any session (else the default)
    opened: sql.Composable | None = None   # the batch's open partition

    def stage(self, cur, index: int) -> int:
        """This session's share of the rows COPYed, typed, checked and staged; how many it
        staged (its flagged rows stay in pg_temp.bulk_flagged, its raw ones in bulk_raw)."""
        _room_for_temp_tables(cur, self.temp_buffers)
        split = None
        if self.sessions > 1:   # the expression, its comments included, inside the condition
            split = sql.SQL("abs(hashtext(coalesce({}, '')) % {}) = {}").format(
                sql.SQL(self.split_key), sql.Literal(self.sessions), sql.Literal(index))
        with self.zone.open(self.url) as stream:
            _copy_raw(cur, stream, self.columns, self.parser, self.encoding, self.url, split)
        return _type_check_and_stage(cur, self.feed, self.rules, self.messages, self.staging,
                                     self.opened)


def _split_key(feed) -> str | None:
    """The feed's expression sharing its rows among sessions (`bulk/<feed>_split.sql`), read
    once for all of them; None when the feed has none."""
    path = _companion_sql(feed, "split")
    return path.read_text(encoding="utf-8").rstrip() + "\n" if path.exists() else None


@contextmanager
def _helper_sessions(count: int):
    """`count` more sessions of the loader, as cursors; their uncommitted work goes with them."""
    connections = []
    try:
        for _ in range(count):
            connections.append(db.connect(role=db.LOADER_ROLE))
        yield [connection.cursor() for connection in connections]
    finally:
        for connection in connections:
            connection.close()


def _open_partition(feed, batch_id: int) -> sql.Composable:
    """The batch's partition every session inserts into, opened and committed (the feed's
    `bulk/<feed>_open.sql`, which returns its schema and name)."""
    with db.transaction() as conn, conn.cursor() as cur:
        db.run_sql_file(cur, _companion_sql(feed, "open"), {"batch_id": batch_id})
        return sql.Identifier(*cur.fetchone())


def _in_parallel(cursors, work) -> list:
    """work(cursor, index) in every session at once, a thread each (psycopg2 lets the others run
    while one waits for its server); their results in order. The first failure is raised, once
    every session is done: the others are cancelled first, unless it is NotBulkLoadable (every
    session reads the same file and finds it too; `cur`'s transaction is then still usable)."""
    pool = ThreadPoolExecutor(len(cursors), thread_name_prefix="bulk-session")
    futures = [pool.submit(work, cursor, index) for index, cursor in enumerate(cursors)]
    try:
        for future in as_completed(futures):
            if future.exception() is not None:
                raise future.exception()
    except NotBulkLoadable:
        raise
    except BaseException:   # a task's timeout too: the sessions must not run on
        for cursor in cursors:
            cursor.connection.cancel()
        raise
    finally:
        pool.shutdown(wait=True)
    return [future.result() for future in futures]


def unstage(cur, feed, batch_id: int) -> None:
    """Forget what an earlier staging of the batch by the database left besides staged rows."""
    if feed.bulk_sql is not None:
        db.run_sql_file(cur, _companion_sql(feed, "unstage"), {"batch_id": batch_id})


def _companion_sql(feed, step: str) -> Path:
    """A step of the feed's database reader beside its transform: `<transform>_<step>.sql`."""
    return feed.bulk_sql.with_name(f"{feed.bulk_sql.stem}_{step}.sql")


def temp_buffers() -> str:
    """TEMP_BUFFERS as PostgreSQL's temp_buffers reads it; a refused setting raises
    LimitSettingError."""
    return f"{TEMP_BUFFERS.value()}MB"


def _room_for_temp_tables(cur, size: str) -> None:
    """Temporary buffers of `size` for the session, which PostgreSQL allows until its first
    temporary table: a session that had one keeps its size."""
    cur.execute("SAVEPOINT bulk_temp_buffers")
    try:
        cur.execute("SELECT set_config('temp_buffers', %s, true)", (size,))
    except DataError:
        cur.execute("ROLLBACK TO SAVEPOINT bulk_temp_buffers")
    cur.execute("RELEASE SAVEPOINT bulk_temp_buffers")


def _read_header(stream, parser, url: str) -> tuple[list[str], str]:
    """The column order, and the encoding the header line shows. The whole file's encoding is
    decided while COPY reads it (_copy_raw); a header the contract refuses is reported after the
    file's encoding problems, as the parser reports them."""
    longest = limits.CSV_LINE_CHARS.value()
    first = stream.readline(longest + 1)
    if b"\r" in first.removesuffix(b"\r\n"):
        raise NotBulkLoadable(f"a CR alone ends a line — {url}")
    if len(first) > longest:
        raise NotBulkLoadable(f"the header line is {longest:,} bytes or longer — {url}")
    encoding = _encoding_of(first)
    try:
        return _header_columns(first, parser, encoding, url), encoding
    except RejectedObject:
        stream.seek(0)
        encoding = parser.detect_encoding(stream, url)
        return _header_columns(first, parser, encoding, url), encoding


def _encoding_of(line: bytes) -> str:
    if line.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    try:
        line.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        return "cp1258"


def _header_columns(first: bytes, parser, encoding: str, url: str) -> list[str]:
    text = unicodedata.normalize("NFC", first.decode(encoding, "replace")).rstrip("\r\n")
    try:
        header = next(csv.reader(io.StringIO(text), delimiter=parser.DELIMITER, quotechar='"'),
                      None)
    except csv.Error as err:
        raise NotBulkLoadable(f"the header is no CSV the bulk reader takes ({err})"
                              f" — {url}") from None
    return parser.check_header(header if first else None, url)


class _ScanningReader:
    """The landed file as COPY reads it, every chunk also checked for what the two CSV readers
    could read differently, and fed to the parser's encoding detector unless COPY checks the
    encoding itself (`copy_checks`): one read of the file for all. A divergence found ends the
    read early (the file goes to the Python parser)."""

    def __init__(self, stream, parser, url: str, copy_checks: bool):
        self.stream, self.parser, self.url = stream, parser, url
        self.detector = None if copy_checks else parser.EncodingDetector()
        self.divergence: str | None = None
        self._longest = limits.CSV_LINE_CHARS.value()
        self._carry = b""   # the unfinished line before the next chunk (shorter than the limit)

    def read(self, size: int = SCAN_BYTES) -> bytes:
        if self.divergence:
            return b""
        chunk = self.stream.read(size)
        if self.detector is not None:
            self.detector.feed(chunk)
        window = self._carry + chunk
        self.divergence = _divergence(window, self._longest, self.url, last=not chunk)
        self._carry = window[window.rfind(b"\n") + 1:]
        return b"" if self.divergence else chunk

    def verdict(self, assumed: str, copied: bool) -> str:
        """The file's encoding (reading what COPY did not); RejectedObject as the parser's. When
        COPY checked the encoding and read the whole file (`copied`), it is the one `assumed`:
        PostgreSQL verifies every byte of UTF-8 input (NUL included) and the parser's detector
        would find the same; otherwise the detector reads the file from its start."""
        if self.detector is None:
            if copied:
                return assumed
            self.stream.seek(0)
            return self.parser.detect_encoding(self.stream, self.url)
        while chunk := self.stream.read(SCAN_BYTES):
            self.detector.feed(chunk)
        return self.detector.verdict(self.url)


def _divergence(window: bytes, longest: int, url: str, last: bool) -> str | None:
    """Why a file the two CSV readers might read differently goes to the Python parser."""
    if b"\\" in window and b"\\." in window:   # a byte first: found far faster than a pair
        return f"holds a '\\.' sequence (COPY's end-of-data marker) — {url}"
    if b'"' in window and (_MID_FIELD_QUOTE.search(window) or _quoted_line_break(window)):
        return f"a quote inside a field, or a quoted line break — {url}"
    if b"\r" in window and _LONE_CR.search(window):
        return f"a CR alone ends a line — {url}"
    if _holds_long_line(window, longest):
        return (f"a line of {longest:,} bytes or more, which the row limit "
                f"{limits.CSV_LINE_CHARS.setting} may refuse — {url}")
    if last and window.endswith(b"\r"):
        return f"a CR alone ends the last line — {url}"
    return None


def _holds_long_line(window: bytes, longest: int) -> bool:
    """A run of `longest` bytes without a line feed. Such a run covers a whole aligned block of
    half that length, itself without one: only those few blocks are looked at closely (a
    search per byte cost seconds per 100 MB)."""
    half = max(1, longest // 2)
    for start in range(0, len(window), half):
        if window.find(b"\n", start, start + half) < 0:
            after = window.find(b"\n", start)
            line_end = len(window) if after < 0 else after
            if line_end - (window.rfind(b"\n", 0, start) + 1) >= longest:
                return True
    return False


def _quoted_line_break(window: bytes) -> bool:
    """A finished line with an odd number of quotes: a quoted field runs on past its line break
    (the Python parser then measures the row across its lines)."""
    return any(line.count(b'"') % 2 for line in window.split(b"\n")[:-1])


def _copy_raw(cur, stream, columns: list[str], parser, encoding: str, url: str,
              split=None) -> None:
    """COPY the file (from its start) into pg_temp.bulk_raw as `encoding`; again as the file's
    real encoding in the rare case its header line suggested another one. `split`: a condition
    on each row, true for this session's share (COPY reads, numbers and checks every row)."""
    cur.execute("DROP TABLE IF EXISTS pg_temp.bulk_raw")
    # Every line COPY reads is numbered (the WHERE comes after): numbers drawn a million at a
    # time, not one by one from the sequence's page (0.13 s per 10^6 lines and session).
    cur.execute(sql.SQL(
        "CREATE TEMP TABLE bulk_raw (source_row integer GENERATED ALWAYS AS IDENTITY"
        " (START WITH 2 CACHE 1000000), {}) ON COMMIT DROP").format(
        sql.SQL(", ").join(sql.SQL("{} text").format(sql.Identifier(c)) for c in columns)))
    stream.seek(0)
    # A UTF-8 file COPYed into a UTF-8 database is checked by the server (its detector in Python
    # cost a third of a second per 100 MB and session).
    reader = _ScanningReader(stream, parser, url, encoding != "cp1258" and
                             cur.connection.get_parameter_status("server_encoding") == "UTF8")
    cur.execute("SAVEPOINT bulk_copy")
    try:
        cur.copy_expert(_copy_statement(columns, parser, encoding, split).as_string(cur),
                        reader, size=SCAN_BYTES)
        failed = None
    except DataError as err:
        failed = " ".join(str(err).split())
    # the file's encoding problems first, as the parser reports them
    real = reader.verdict(encoding, failed is None and not reader.divergence)
    if failed or reader.divergence or real != encoding:
        cur.execute("ROLLBACK TO SAVEPOINT bulk_copy")
    if reader.divergence:
        raise NotBulkLoadable(reader.divergence)
    if failed:
        raise NotBulkLoadable(f"COPY cannot read it as the contract's CSV ({failed}) — {url}")
    cur.execute("RELEASE SAVEPOINT bulk_copy")
    if real != encoding:
        stream.seek(0)
        _copy_raw(cur, stream, columns, parser, real, url, split)
        return
    # Statistics for the typing query's plan (a temp table has none until analysed), from a
    # sample of 3,000 rows (300 × its columns' target of 10; the default, 30,000, cost 0.3 s at
    # 10^6 rows: the plans are the same) — set on the table's columns, so that the session's own
    # target stays as it was for the tables analysed later — and room for its per-distinct-value
    # hash tables (tens of thousands of taxpayers).
    cur.execute(sql.SQL("ALTER TABLE pg_temp.bulk_raw {}").format(sql.SQL(", ").join(
        sql.SQL("ALTER COLUMN {} SET STATISTICS 10").format(sql.Identifier(c))
        for c in ("source_row", *columns))))
    cur.execute("ANALYZE pg_temp.bulk_raw")
    cur.execute("SET LOCAL work_mem = '64MB'")


def _copy_statement(columns: list[str], parser, encoding: str, split=None):
    return sql.SQL("COPY pg_temp.bulk_raw ({}) FROM STDIN WITH (FORMAT csv, HEADER true,"
                   " DELIMITER {}, QUOTE '\"', ENCODING {}){}").format(
        sql.SQL(", ").join(sql.Identifier(c) for c in columns),
        sql.Literal(parser.DELIMITER), sql.Literal(_PG_ENCODING[encoding]),
        sql.SQL("") if split is None else sql.SQL(" WHERE {}").format(split))


def _type_check_and_stage(cur, feed, rules: list[CompiledRule], messages: dict,
                          staging: dict, opened) -> int:
    """Type and check the session's rows, and stage the good ones, in one statement; returns how
    many were staged. The typed rows (the feed's `bulk/<feed>.sql`, plus `unexpected`, a bit per
    expectation the row fails, NULL for rows that did not convert: the suite never sees those,
    as in the Python path) are the common table expression `bulk_typed` of the feed's staging
    INSERT (`bulk/<feed>_stage.sql`, into the partition `opened` that `bulk/<feed>_open.sql`
    made and `bulk/<feed>_close.sql` closes, setting what the batch's rows share once for all of
    them): written once, where they are staged. The same statement keeps the few rows failing any
    rule or not converted (pg_temp.bulk_flagged: the quarantine's rows, the tallies' samples and
    verdicts). The feed's distinct values are collected by hashing (whatever the planner
    estimates) and typed first (bulk/<feed>_values.sql), and the rules over their columns checked
    once per value (_check_distinct_values); the typed rows join them by hashing and the staging
    groups them by hashing: the planner, which underestimates joins on several columns and cannot
    estimate `unexpected & critical = 0`, is held to it."""
    with db.local_settings(cur, enable_sort="off"):   # its distinct values by hashing: see there
        db.run_sql_file(cur, _companion_sql(feed, "values"), messages)
    row_rules = _check_distinct_values(cur, rules)
    typed = sql.SQL(
        "SELECT typed.*, CASE WHEN parse_failures IS NULL THEN distinct_unexpected | {} END"
        " AS unexpected FROM ({} OFFSET 0) AS typed").format(
        _bits(row_rules), sql.SQL(feed.bulk_sql.read_text(encoding="utf-8")))
    cur.execute(sql.SQL("CREATE TEMP TABLE bulk_flagged ON COMMIT DROP AS {} WITH NO DATA").format(
        typed), messages)
    with db.local_settings(cur, enable_nestloop="off", enable_mergejoin="off", enable_sort="off"):
        cur.execute(sql.SQL(
            "WITH bulk_typed AS MATERIALIZED ({typed}),"
            " flagged AS (INSERT INTO pg_temp.bulk_flagged"
            "             SELECT * FROM bulk_typed WHERE unexpected IS DISTINCT FROM 0)\n"
            "{stage}").format(
            typed=typed, stage=sql.SQL(_companion_sql(feed, "stage").read_text(encoding="utf-8"))
            .format(opened=opened)), {**messages, **staging})
        staged = cur.rowcount
    cur.execute("ANALYZE pg_temp.bulk_flagged")
    return staged


def _check_distinct_values(cur, rules: list[CompiledRule]) -> list[CompiledRule]:
    """The rules over a column of a table of distinct values (a temp table the values step made
    with an `unexpected` column; the typed rows carry its bits as `distinct_unexpected` and its
    columns unchanged) are checked there, tens of thousands of times, not a million; the rules
    left are checked per row."""
    cur.execute("SELECT c.relname, array_agg(a.attname::text) FROM pg_class AS c"
                " JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attnum > 0"
                " AND NOT a.attisdropped"
                " WHERE c.relnamespace = pg_my_temp_schema() AND c.relkind = 'r'"
                " GROUP BY c.relname HAVING 'unexpected' = ANY(array_agg(a.attname::text))"
                " ORDER BY c.relname")
    left = list(rules)
    for table, columns in cur.fetchall():
        own = [r for r in left if r.column in columns]
        if own:
            cur.execute(sql.SQL("UPDATE pg_temp.{} SET unexpected = {}").format(
                sql.Identifier(table), _bits(own)))
            left = [r for r in left if r not in own]
    return left


def _bits(rules: list[CompiledRule]):
    """The bits of the rules a row fails, as one bigint."""
    if not rules:
        return sql.SQL("0::bigint")
    return sql.SQL(" | ").join(
        sql.SQL("CASE WHEN {} THEN {}::bigint ELSE 0 END").format(r.predicate,
                                                                  sql.Literal(1 << r.bit))
        for r in rules)


def _tallies(sessions, rules: list[CompiledRule], staged: int,
             critical: int) -> tuple[int, dict]:
    """Rows in, and per expectation the rows checked and unexpected (counted from the few
    distinct verdicts: the sessions' flagged rows', and the staged rows that passed every rule),
    with a sample of the values."""
    counts: dict = {}
    for cur in sessions:
        cur.execute("SELECT unexpected, count(*) FROM pg_temp.bulk_flagged GROUP BY unexpected")
        for unexpected, count in cur.fetchall():
            counts[unexpected] = counts.get(unexpected, 0) + count
    verdicts = list(counts.items())
    staged_flagged = sum(n for unexpected, n in verdicts
                         if unexpected is not None and not unexpected & critical)
    verdicts.append((0, staged - staged_flagged))
    rows_in = sum(count for _, count in verdicts)
    checked = sum(count for unexpected, count in verdicts if unexpected is not None)
    tallies = {}
    for rule in rules:
        count = sum(n for unexpected, n in verdicts if unexpected and unexpected & (1 << rule.bit))
        tally = ExpectationTally(rule.severity, checked, count)
        if count:
            tally.sample = _first_unexpected(sessions, rule)
        tallies[rule.key] = tally
    return rows_in, tallies


def _first_unexpected(sessions, rule: CompiledRule) -> list:
    """The first SAMPLE_SIZE values the rule finds unexpected, in the file's order."""
    found = []
    for cur in sessions:
        cur.execute(sql.SQL("SELECT source_row, {} FROM pg_temp.bulk_flagged"
                            " WHERE unexpected & {} <> 0 ORDER BY source_row LIMIT {}").format(
            sql.Identifier(rule.field), sql.Literal(1 << rule.bit), sql.Literal(SAMPLE_SIZE)))
        found += cur.fetchall()
    return [jsonable(value) for _, value in sorted(found, key=itemgetter(0))[:SAMPLE_SIZE]]


def _quarantine_bad_rows(sessions, feed, parser, rules, batch_id: int, url: str,
                         critical: int) -> int:
    """Bad rows are few: their reasons are written by the same Python code as the parser's, in
    the file's order, by the first session (the staging transaction's)."""
    fields = sorted({r.field for r in rules if r.severity == "critical"})
    record = sql.SQL(", ").join(
        sql.SQL("{}, coalesce({}, '')").format(
            sql.Literal(parser.FIELD_HEADER[c]), sql.SQL("normalize(r.{}, NFC)").format(sql.Identifier(c)))
        for c in parser.HEADERS.values())
    query = sql.SQL(
        "SELECT t.source_row, t.parse_failures, t.unexpected, jsonb_build_object({record}), {fields}"
        " FROM pg_temp.bulk_flagged AS t JOIN pg_temp.bulk_raw AS r USING (source_row)"
        " WHERE t.parse_failures IS NOT NULL OR t.unexpected & {critical} <> 0"
        " ORDER BY t.source_row").format(
        record=record, critical=sql.Literal(critical),
        fields=sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(f)) for f in fields))
    # Half the rows QUARANTINE_FETCH_CHARS allows in the sessions' fetches, half being written.
    write_rows = max(1, QUARANTINE_FETCH_CHARS // limits.CSV_LINE_CHARS.value() // 2)
    readers = []
    for index, cur in enumerate(sessions):
        readers.append(cur.connection.cursor(name=f"bulk_quarantine_{batch_id}_{index}"))
        readers[-1].itersize = max(1, write_rows // len(sessions))
        readers[-1].execute(query)
    bad_rows = heapq.merge(*readers, key=itemgetter(0))
    total = 0
    while bad := list(islice(bad_rows, write_rows)):
        quarantine_rows(sessions[0], feed, batch_id, url,
                        ((row[0], _failures(row, rules, fields, critical), row[3]) for row in bad))
        total += len(bad)
    for reader in readers:
        reader.close()
    return total


def _failures(row, rules, fields, critical: int) -> list[Failure]:
    _, parse_failures, unexpected, _, *values = row
    if parse_failures:
        return [Failure(f["field"], f["rule"], f["value"], f["message"]) for f in parse_failures]
    value_of = dict(zip(fields, values))
    return [Failure(r.field, r.kind, value_of[r.field], r.message)
            for r in rules if unexpected & (1 << r.bit) & critical]
