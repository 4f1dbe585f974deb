"""The one pipeline every feed runs: extract → land → parse → validate → stage → merge → publish.

Each step is a plain function of (feed name, batch id) so a DAG task is one call, and a retried
task redoes its step from what the previous step left in the landing zone and the warehouse:
  * `extract_to_landing` opens the batch in `audit.load_batch` and lands every object untouched;
  * `validate_and_stage` parses landed objects in chunks, runs the feed's expectation suite,
    quarantines failing rows with their reasons and COPYs the rest into staging;
  * `merge_into_core` applies the feed's merge SQL to core in one transaction (idempotent);
  * `publish` clears the batch's staging rows and closes the batch.
Invariant, enforced by a CHECK on audit.load_batch: rows in = loaded + quarantined.
"""
from __future__ import annotations

import hashlib
import importlib
import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Iterable, Iterator

from psycopg2 import sql

from htx import bulk, db, marts_incremental
from htx.errors import Rejection, blames_delivery, describe, printable, with_object
from htx.feeds.common import ParsedRow
from htx.feeds.config import FEEDS, Feed
from htx.feeds.kit import batch_check_of, parser_of
from htx.landing import DeliveryChanged, LandingZone, RefusedDelivery
from htx.quarantine import jsonb, quarantine_rows
from htx.redaction import redact
from htx.validation import SAMPLE_SIZE, ExpectationTally, SuiteRunner

log = logging.getLogger(__name__)

CHUNK_ROWS = 50_000
# …and at most about this much source text: rows may be long (a CSV row up to
# limits.CSV_LINE_CHARS), and a chunk is held in memory several times over (rows, frame, GX).
CHUNK_SOURCE_CHARS = 16 << 20
LINEAGE_COLUMNS = ("batch_id", "source_object", "source_row")
# Re-read this much before the cursor: a change committed at the source just before our last
# pull may carry an earlier updated_at than the last one we saw. Re-read rows merge as no-ops.
CURSOR_OVERLAP = timedelta(minutes=15)


class BatchRejected(Rejection):
    """The batch cannot load at all; nothing of it reached core. Raised once the rejection is
    recorded in audit.load_batch (`batch_id`)."""

    def __init__(self, message: str, batch_id: int | None = None):
        super().__init__(message)
        self.batch_id = batch_id


@dataclass(frozen=True)
class RunInfo:
    dag_id: str
    run_id: str
    task_id: str = ""


@dataclass(frozen=True)
class StageCounts:
    rows_in: int
    rows_loaded: int
    rows_quarantined: int
    cursor_to: object = None  # newest cursor_field value of the rows staged (not quarantined)


# --- extract → land -----------------------------------------------------------------------

def extract_to_landing(feed_name: str, run: RunInfo) -> list[int]:
    """Land what the source delivered since the last run; returns the new batches' ids."""
    feed = FEEDS[feed_name]
    if feed.source.kind == "api":
        return [_extract_api(feed, run)]
    return _extract_files(feed, run)


def _extract_api(feed: Feed, run: RunInfo) -> int:
    """One incremental pull = one batch; every page landed as received. Any error of the pull
    but a transient one rejects the batch (BatchRejected): nothing of it reaches core. A pull the
    client refuses (its PullRejected: a token loop, a limit passed) keeps the pages landed until
    then, for inspection. The client is the feed's (htx.feeds.kit.ApiClient)."""
    client = importlib.import_module(feed.source.client)
    api = client.configured()  # a refused setting fails the task before any batch is opened
    zone = LandingZone.configured()
    with db.transaction() as conn, conn.cursor() as cur:
        updated_since = _cursor_start(cur, feed)
        batch_id = _open_batch(cur, feed, f"{run.dag_id}/{run.run_id}", run, updated_since)
    try:
        refused = _land_pages(feed, client, api, zone, batch_id, updated_since)
    except Exception as err:
        if not blames_delivery(err):
            raise
        refused = err
    if refused is not None:
        raise reject_batch(feed, batch_id, refused) from None
    return batch_id


def _land_pages(feed: Feed, client, api, zone, batch_id: int, updated_since: str | None):
    """Land the pull's pages in the batch; the client's PullRejected that stopped it, if one did."""
    digests, requests, refused = [], [], None
    with db.transaction() as conn, conn.cursor() as cur:
        # The same run pulled twice at once (a task started again while its first try still
        # runs): the second waits here, then replaces the first one's pages instead of colliding
        # with them (both would otherwise insert the same (batch, seq) and one would crash).
        cur.execute("SELECT 1 FROM audit.load_batch WHERE batch_id = %s FOR UPDATE", (batch_id,))
        cur.execute("DELETE FROM audit.landed_object WHERE batch_id = %s", (batch_id,))
        try:
            for seq, (request, body) in enumerate(client.fetch_pages(api, updated_since),
                                                  start=1):
                landed = zone.land(feed.name, batch_id, f"page-{seq:05d}.json", body)
                _record_landed(cur, batch_id, seq, landed)
                digests.append(landed.sha256)
                requests.append(request)
        except client.PullRejected as err:
            refused = err
        cur.execute(
            "UPDATE audit.load_batch SET checksum = %s, source_object = %s WHERE batch_id = %s",
            (_combined_digest(digests), requests[0] if requests else "(no pages)", batch_id))
    log.info("%s: batch %s landed %d page(s) (updated_since=%s)", feed.name, batch_id,
             len(digests), updated_since)
    return refused


# A file modified less than this before the listing could be rewritten within the same mtime tick
# (a second on object stores) with its size and mtime unchanged; its fingerprint is not trusted,
# so the next run hashes it again. Generous for clocks kept by NTP.
RACY_MTIME_SECONDS = 2.0
FINISHED = ("merged", "published", "rejected")


def _extract_files(feed: Feed, run: RunInfo) -> list[int]:
    """One delivered file content = one batch. A file whose bytes are those of the newest
    finished delivery of its path is skipped (a re-sent identical file is a no-op, and a rejected
    one is not tried again until it changes); any other content is a new batch whose merge
    replaces its predecessor's rows — an earlier version sent again included: the delivery seen
    last wins. A file whose (size, mtime) are those of that newest delivery is skipped unread;
    any other is read once, by a streamed copy that hashes it as it goes (memory does not grow
    with file size), and the copy is kept only when its content is new.
    A delivery that cannot be landed (a link, not a regular file, unreadable) is rejected by
    name while the others land."""
    zone = LandingZone.configured()
    newest = _newest_fingerprints(feed)
    listed_at = time.time()
    batches = []
    for delivery in zone.deliveries(feed.source.glob):
        if newest.get(delivery.relative) == (delivery.size_bytes, delivery.mtime):
            continue
        try:
            batch_id = _land_delivery(feed, run, zone, delivery, listed_at)
        except DeliveryChanged as changed:  # the source is still writing it: the next run lands it
            log.warning("%s", changed)
            continue
        except Exception as err:
            if not blames_delivery(err):
                raise
            batch_id = _reject_delivery(feed, run, delivery, err, listed_at)
        if batch_id is not None:
            batches.append(batch_id)
    return batches


def _land_delivery(feed: Feed, run: RunInfo, zone, delivery, listed_at: float) -> int | None:
    """The delivery's batch, landed; None when its bytes are the newest delivery's of its path."""
    if delivery.refused:
        raise RefusedDelivery(delivery.refused)
    relative = delivery.relative
    with zone.receive(feed.name, delivery.path) as received, db.transaction() as conn, \
            conn.cursor() as cur:
        digest = received.sha256
        key = f"{relative}@{digest}"
        seen = _lock_batch(cur, feed, key)
        newest = _newest_finished(cur, feed, relative)  # read after the lock's wait
        if newest and newest[1] == digest:
            # Known content under a new mtime (touched, copied again): remember this
            # fingerprint so that the next run skips the file unread.
            _remember_fingerprint(cur, newest[0], _fingerprint(delivery, listed_at))
            return None
        if seen and seen[1] in FINISHED:  # an earlier version, sent again after a newer one
            key = f"{key}+{newest[0]}"
            seen = _lock_batch(cur, feed, key)
        if seen and seen[1] in FINISHED:  # another run landed it a moment ago
            return None
        if seen and seen[1] == "staged":
            # Landed and staged by a run that has not merged it yet (running alongside, or
            # stopped before its merge): take it over as it is. Reopening it would pull it
            # back to 'running' under that run's feet and fail its merge.
            return seen[0]
        batch_id = _open_batch(cur, feed, key, run, None, relative)
        cur.execute("DELETE FROM audit.landed_object WHERE batch_id = %s", (batch_id,))
        landed = received.keep(batch_id)
        _record_landed(cur, batch_id, 1, landed)
        cur.execute("UPDATE audit.load_batch SET checksum = %s WHERE batch_id = %s",
                    (digest, batch_id))
        _remember_fingerprint(cur, batch_id, _fingerprint(delivery, listed_at))
    log.info("%s: %s (sha256 %s…) landed as batch %s", feed.name, printable(relative),
             digest[:12], batch_id)
    return batch_id


def _reject_delivery(feed: Feed, run: RunInfo, delivery, err: Exception,
                     listed_at: float) -> int | None:
    """Record a delivery that could not be landed as a rejected batch, keyed by what the
    listing saw of it (its bytes may be unreadable): the same delivery is not tried again."""
    key = f"{delivery.relative}@unlanded:{delivery.size_bytes}:{delivery.mtime}"
    with db.transaction() as conn, conn.cursor() as cur:
        seen = _lock_batch(cur, feed, key)
        if seen and seen[1] in FINISHED:
            return None
        batch_id = _open_batch(cur, feed, key, run, None, delivery.relative)
        _remember_fingerprint(cur, batch_id, _fingerprint(delivery, listed_at))
    return reject_batch(feed, batch_id, err).batch_id


def _lock_batch(cur, feed: Feed, key: str) -> tuple[int, str] | None:
    """(batch_id, status) of the feed's batch under `key`, locked. FOR UPDATE: a run merging
    this delivery right now is waited for, so its batch is seen merged and skipped — without the
    lock it was reopened (merged → running), which failed that run's publish."""
    cur.execute("SELECT batch_id, status FROM audit.load_batch"
                " WHERE feed = %s AND batch_key = %s FOR UPDATE", (feed.name, key))
    return cur.fetchone()


def _newest_finished(cur, feed: Feed, source_object: str) -> tuple[int, str | None] | None:
    """(batch_id, checksum) of the newest finished delivery of this path."""
    cur.execute("SELECT batch_id, checksum FROM audit.load_batch WHERE feed = %s"
                " AND source_object = %s AND status IN %s ORDER BY batch_id DESC LIMIT 1",
                (feed.name, source_object, FINISHED))
    return cur.fetchone()


def _newest_fingerprints(feed: Feed) -> dict[str, tuple[int, float]]:
    """path → (size, mtime) of the newest finished delivery of each path, where known and
    trusted. Only the newest: an earlier version sent again is a new delivery."""
    with db.transaction() as conn, conn.cursor() as cur:
        cur.execute("SELECT DISTINCT ON (source_object) source_object, source_size_bytes,"
                    " source_mtime FROM audit.load_batch WHERE feed = %s AND status IN %s"
                    " ORDER BY source_object, batch_id DESC", (feed.name, FINISHED))
        return {path: (size, mtime) for path, size, mtime in cur.fetchall()
                if mtime is not None}


def _fingerprint(delivery, listed_at: float) -> tuple[int, float | None]:
    """(size, mtime) to record for a delivery just read; mtime None unless it identifies the
    bytes read: unchanged since the listing (stat'ed again now; a link or an unreadable entry
    keeps what the listing saw) and older than the listing by RACY_MTIME_SECONDS, so that any
    later rewrite must show a later mtime."""
    try:
        now = delivery.path.stat() if not delivery.refused else None
    except OSError:
        return delivery.size_bytes, None
    unchanged = now is None or (now.st_size, now.st_mtime) == (delivery.size_bytes, delivery.mtime)
    settled = delivery.mtime <= listed_at - RACY_MTIME_SECONDS
    return delivery.size_bytes, (delivery.mtime if unchanged and settled else None)


def _remember_fingerprint(cur, batch_id: int, fingerprint: tuple[int, float | None]) -> None:
    size, mtime = fingerprint
    if mtime is not None:
        cur.execute("UPDATE audit.load_batch SET source_size_bytes = %s, source_mtime = %s"
                    " WHERE batch_id = %s", (size, mtime, batch_id))


def _record_landed(cur, batch_id: int, seq: int, landed) -> None:
    cur.execute(
        "INSERT INTO audit.landed_object (batch_id, seq, object_url, sha256, size_bytes)"
        " VALUES (%s, %s, %s, %s, %s)",
        (batch_id, seq, landed.url, landed.sha256, landed.size_bytes))


def _cursor_start(cur, feed: Feed) -> str | None:
    cur.execute("SELECT cursor_value - %s FROM audit.source_cursor WHERE feed = %s",
                (CURSOR_OVERLAP, feed.name))
    found = cur.fetchone()
    return found[0].isoformat() if found else None


def _open_batch(cur, feed: Feed, batch_key: str, run: RunInfo, cursor_from: str | None,
                source_object: str | None = None) -> int:
    """Create the batch, or reopen it when a retry or a later run takes it up again (it starts
    over, under the run that now processes it)."""
    cur.execute(
        """
        INSERT INTO audit.load_batch (feed, batch_key, source_object, cursor_from, dag_id, run_id,
                                      task_id)
        VALUES (%(feed)s, %(key)s, %(source)s, %(cursor)s, %(dag)s, %(run)s, %(task)s)
        ON CONFLICT (feed, batch_key) DO UPDATE
            SET status = 'running', error = NULL, started_at = now(), finished_at = NULL,
                rows_in = NULL, rows_loaded = NULL, rows_quarantined = NULL, cursor_to = NULL,
                cursor_from = EXCLUDED.cursor_from, dag_id = EXCLUDED.dag_id,
                run_id = EXCLUDED.run_id, task_id = EXCLUDED.task_id
        RETURNING batch_id
        """,
        {"feed": feed.name, "key": batch_key, "source": source_object or batch_key,
         "cursor": cursor_from, "dag": run.dag_id, "run": run.run_id, "task": run.task_id})
    return cur.fetchone()[0]


def _combined_digest(digests: list[str]) -> str:
    return hashlib.sha256("".join(digests).encode()).hexdigest()


# --- parse → validate → stage -------------------------------------------------------------

def stage_batches(feed_name: str, batch_ids: list[int]) -> dict:
    """Validate and stage each batch; a rejected batch is recorded and the others go on."""
    suite = _Suite(feed_name)
    outcome: dict = {"staged": [], "rejected": []}
    for batch_id in batch_ids:
        try:
            validate_and_stage(feed_name, batch_id, suite)
            outcome["staged"].append(batch_id)
        except BatchRejected:
            outcome["rejected"].append(batch_id)
    return outcome


class _Suite:
    """The feed's GX suite runner, shared by a run's batches and built on first use: building it
    imports GX (seconds) that a batch read by the database (htx.bulk) never needs."""

    def __init__(self, feed_name: str, runner=None):
        self.feed_name, self.runner = feed_name, runner

    def runner_for_new_batch(self):
        self.runner = self.runner or SuiteRunner(self.feed_name)
        self.runner.reset()
        return self.runner


def validate_and_stage(feed_name: str, batch_id: int, runner=None) -> StageCounts:
    """Parse and validate the batch's landed objects; stage valid rows, quarantine the rest.
    Any failure but the infrastructure's rejects the batch (recorded, then raised as
    BatchRejected): one delivery's fault never stops another. `runner`: a SuiteRunner (or a
    run's shared _Suite) to reuse."""
    feed = FEEDS[feed_name]
    suite = runner if isinstance(runner, _Suite) else _Suite(feed.name, runner)
    try:
        counts = _validate_and_stage(feed, suite, batch_id)
    except Exception as err:
        if isinstance(err, BatchRejected) and err.batch_id is not None:
            raise  # recorded already
        if not blames_delivery(err):
            raise
        raise reject_batch(feed, batch_id, err) from None
    log.info("%s batch %s: %d rows in, %d staged, %d quarantined", feed.name, batch_id,
             counts.rows_in, counts.rows_loaded, counts.rows_quarantined)
    return counts


def _validate_and_stage(feed: Feed, suite: _Suite, batch_id: int) -> StageCounts:
    parser = parser_of(feed)
    zone = LandingZone.configured()
    with db.transaction() as conn, conn.cursor() as cur:
        # One stager per batch at a time. A second one (the same delivery in two runs at
        # once) waits here, then replaces the first one's rows; without the lock it could not
        # see them (uncommitted) and staged the batch twice.
        cur.execute("SELECT status, error, rows_in, rows_loaded, rows_quarantined"
                    " FROM audit.load_batch WHERE batch_id = %s FOR UPDATE", (batch_id,))
        status, error, *done = cur.fetchone()
        if status in ("merged", "published"):
            # Already in core: staging it again would set it back to 'staged' and leave
            # staging rows that no publish clears.
            return StageCounts(*done)
        if status == "rejected":  # at landing: nothing to stage
            raise BatchRejected(error, batch_id)
        _clear_batch_rows(cur, feed, batch_id)
        cur.execute("SELECT object_url, size_bytes FROM audit.landed_object"
                    " WHERE batch_id = %s ORDER BY seq", (batch_id,))
        objects = cur.fetchall()
        counts, tallies, by_python = StageCounts(0, 0, 0), [], []
        for url, size_bytes in objects:
            staged = _stage_in_database(cur, feed, parser, batch_id, url, size_bytes, zone)
            if staged is None:
                by_python.append(url)
            else:
                counts = _add(counts, staged[0])
                tallies.append(staged[1])
        if by_python or not objects:  # no object (an empty pull): the suite's zero tallies
            runner = suite.runner_for_new_batch()
            counts = _add(counts, _stage_in_python(cur, feed, parser, runner, batch_id,
                                                   by_python, zone))
            tallies.append(runner.tallies)
        tallies = _summed(tallies)
        _record_validation(cur, feed.name, tallies, batch_id)
        cur.execute(
            "UPDATE audit.load_batch SET rows_in = %s, rows_loaded = %s, rows_quarantined = %s,"
            " cursor_to = %s, status = 'staged' WHERE batch_id = %s",
            (counts.rows_in, counts.rows_loaded, counts.rows_quarantined, counts.cursor_to,
             batch_id))
    return counts


def reject_batch(feed: Feed, batch_id: int, err: Exception) -> BatchRejected:
    """Record the batch rejected — why first, then the delivery — with nothing of it left in
    staging or quarantine; returns the BatchRejected to raise. A planned rejection says why in
    its own words; any other error by its class and message."""
    with db.transaction() as conn, conn.cursor() as cur:
        cur.execute("SELECT source_object FROM audit.load_batch WHERE batch_id = %s", (batch_id,))
        (source_object,) = cur.fetchone()
        message = describe(err)
        if isinstance(err, Rejection):
            message = message.removeprefix(f"{type(err).__name__}: ")
        # A landed copy's reader and an API's client name their own object (file, request).
        if not getattr(err, "names_its_object", False):
            message = with_object(message, source_object)
        _clear_batch_rows(cur, feed, batch_id)
        cur.execute(
            "UPDATE audit.load_batch SET status = 'rejected', error = %s, finished_at = now(),"
            " rows_in = NULL, rows_loaded = NULL, rows_quarantined = NULL, cursor_to = NULL"
            " WHERE batch_id = %s", (message[:10_000], batch_id))
    log.error("rejected: %s (%s batch %s)", message, feed.name, batch_id)
    return BatchRejected(message, batch_id)


def _stage_in_database(cur, feed: Feed, parser, batch_id: int, url: str, size_bytes,
                       zone) -> tuple[StageCounts, dict] | None:
    """A large CSV delivery read, typed and checked by PostgreSQL (htx.bulk); None when the
    file is small or needs the Python parser."""
    if not bulk.applies(feed, size_bytes):
        return None
    try:
        result = bulk.stage_file(cur, feed, parser, batch_id, url, zone)
    except bulk.NotBulkLoadable as why:
        log.warning("%s batch %s: read by the Python parser instead: %s", feed.name, batch_id, why)
        return None
    return StageCounts(result.rows_in, result.rows_loaded, result.rows_quarantined), result.tallies


def _stage_in_python(cur, feed: Feed, parser, runner, batch_id: int, urls: list[str],
                     zone) -> StageCounts:
    """Parse the objects with the feed's parser and validate them with GX, in chunks that run
    across objects: an API pull of a hundred 500-item pages is validated in two calls, not a
    hundred (each GX call costs about 0.3 s whatever its size)."""
    counts = StageCounts(0, 0, 0)
    for chunk in _chunks(_parsed_rows(feed, parser, urls, zone), CHUNK_ROWS, CHUNK_SOURCE_CHARS):
        counts = _add(counts, _stage_chunk(cur, feed, parser, runner, batch_id, chunk))
    return counts


def _parsed_rows(feed: Feed, parser, urls: list[str], zone) -> Iterator[ParsedRow]:
    """Each parser is given the landed object open, and reads no more of it than its limits
    allow (htx.limits): an oversized delivery is refused without being held in memory. A feed's
    batch check (htx.feeds.kit.BatchCheck) sees each object's rows whole before any is yielded."""
    check = batch_check_of(feed)
    for url in urls:
        with zone.open(url) as stream:
            rows = parser.parse_object(stream, url)
            if check is not None:
                rows = list(rows)
                _table_rules_hold(check(rows, url), url)
            yield from rows


def _table_rules_hold(failures: list[str], source_object: str | None = None) -> None:
    """A broken table-level rule — the suite's, or the feed's batch check over one landed
    object — rejects the whole batch (recorded by validate_and_stage): the reasons, then the
    object (a suite's chunk may span objects: then the batch's delivery)."""
    if failures:
        rejected = BatchRejected(with_object("; ".join(failures), source_object))
        rejected.names_its_object = source_object is not None
        raise rejected


def _summed(tallies: list[dict]) -> dict:
    """One batch's tallies from those of its parts (objects read by the database, the rest)."""
    total: dict = {}
    for part in tallies:
        for key, tally in part.items():
            into = total.setdefault(key, ExpectationTally(tally.severity))
            into.element_count += tally.element_count
            into.unexpected_count += tally.unexpected_count
            into.sample = (into.sample + tally.sample)[:SAMPLE_SIZE]
    return total


def _clear_batch_rows(cur, feed: Feed, batch_id: int) -> None:
    # What the database staged goes first, whole (feed 2: the batch's partition is dropped), so
    # that its rows are not deleted one by one just before (≈ 0.8 s at 10^6 rows).
    bulk.unstage(cur, feed, batch_id)
    for table in (feed.staging_table, feed.quarantine_table):
        cur.execute(sql.SQL("DELETE FROM {} WHERE batch_id = %s").format(db.qualified(table)),
                    (batch_id,))
    cur.execute("DELETE FROM audit.validation_result WHERE batch_id = %s", (batch_id,))


def _chunks(rows: Iterable[ParsedRow], max_rows: int,
            max_chars: int) -> Iterator[list[ParsedRow]]:
    chunk, chars = [], 0
    for row in rows:
        chunk.append(row)
        chars += row.size
        if len(chunk) >= max_rows or chars >= max_chars:
            yield chunk
            chunk, chars = [], 0
    if chunk:
        yield chunk


def _add(a: StageCounts, b: StageCounts) -> StageCounts:
    cursors = [c for c in (a.cursor_to, b.cursor_to) if c is not None]
    return StageCounts(a.rows_in + b.rows_in, a.rows_loaded + b.rows_loaded,
                       a.rows_quarantined + b.rows_quarantined, max(cursors, default=None))


def _stage_chunk(cur, feed: Feed, parser, runner, batch_id: int,
                 chunk: list[ParsedRow]) -> StageCounts:
    _table_rules_hold(runner.check(chunk, parser.COLUMNS + parser.CHECK_COLUMNS))
    good = [row for row in chunk if not row.failures]
    bad = [row for row in chunk if row.failures]
    db.copy_rows(cur, feed.staging_table, LINEAGE_COLUMNS + parser.COLUMNS,
                 ((batch_id, r.source_object, r.source_row, *(r.values[c] for c in parser.COLUMNS))
                  for r in good))
    for source_object in {r.source_object for r in bad}:
        quarantine_rows(cur, feed, batch_id, source_object,
                        ((r.source_row, r.failures, r.record) for r in bad
                         if r.source_object == source_object))
    # The cursor follows staged rows only: a quarantined one (a timestamp in 2204) must not
    # carry it past changes not yet pulled.
    cursor_values = [r.values.get(feed.cursor_field) for r in good] if feed.cursor_field else []
    return StageCounts(len(chunk), len(good), len(bad),
                       max((v for v in cursor_values if v is not None), default=None))


def _record_validation(cur, suite_name: str, tallies: dict, batch_id: int) -> None:
    for expectation, tally in tallies.items():
        cur.execute(
            "INSERT INTO audit.validation_result (batch_id, suite, expectation, severity, success,"
            " element_count, unexpected_count, unexpected_sample) VALUES (%s,%s,%s,%s,%s,%s,%s,%s)",
            (batch_id, suite_name, expectation, tally.severity, tally.success,
             tally.element_count, tally.unexpected_count, jsonb(tally.sample)))


# --- merge → publish ----------------------------------------------------------------------

def merge_batches(feed_name: str, batch_ids: list[int]) -> list[int]:
    """Merge the staged ones of `batch_ids`, in delivery order; returns those merged now. A
    batch whose merge fails for its own data is rejected (its merge rolled back) and the
    others merge."""
    merged = []
    for batch_id in sorted(batch_ids):
        try:
            if merge_into_core(feed_name, batch_id):
                merged.append(batch_id)
        except Exception as err:
            if not blames_delivery(err):
                raise
            reject_batch(FEEDS[feed_name], batch_id, err)
    return merged


def merge_into_core(feed_name: str, batch_id: int) -> bool:
    """Apply the staged batch to core in one transaction; False if it was already merged or
    was rejected."""
    feed = FEEDS[feed_name]
    with db.transaction() as conn, conn.cursor() as cur:
        # One merge per feed at a time: history is recomputed across batches.
        cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"merge:{feed.name}",))
        cur.execute("SELECT status FROM audit.load_batch WHERE batch_id = %s FOR UPDATE",
                    (batch_id,))
        (status,) = cur.fetchone()
        if status in ("merged", "published", "rejected"):
            return False
        if status != "staged":
            raise RuntimeError(f"batch {batch_id} is {status!r}, not staged: run validate first")
        marts_incremental.record_merge(cur, feed, batch_id)   # before: it reads what goes
        db.run_sql_file(cur, feed.merge_sql, {"batch_id": batch_id})
        if feed.cursor_field:
            _advance_cursor(cur, feed, batch_id)
        cur.execute("UPDATE audit.load_batch SET status = 'merged' WHERE batch_id = %s", (batch_id,))
    return True


def _advance_cursor(cur, feed: Feed, batch_id: int) -> None:
    """The cursor only moves forward, to the newest change the batch staged, and never past the
    pull's own start: nothing the source records later can have been pulled. A quarantined row
    is pulled again by later pulls (and quarantined again) while the cursor has not passed it."""
    cur.execute(
        """
        INSERT INTO audit.source_cursor (feed, cursor_value, batch_id)
        SELECT feed, LEAST(cursor_to, started_at), batch_id FROM audit.load_batch
        WHERE batch_id = %s AND cursor_to IS NOT NULL
        ON CONFLICT (feed) DO UPDATE
            SET cursor_value = GREATEST(audit.source_cursor.cursor_value, EXCLUDED.cursor_value),
                batch_id = EXCLUDED.batch_id, updated_at = now()
        """, (batch_id,))


def publish_batches(feed_name: str, batch_ids: list[int]) -> dict:
    """Close the run's merged batches; report them and the rejected ones (with their reasons)."""
    summary: dict = {"feed": feed_name, "published": [], "rejected": []}
    with db.transaction() as conn, conn.cursor() as cur:
        cur.execute("SELECT batch_id, status, source_object, error FROM audit.load_batch"
                    " WHERE batch_id = ANY(%s) ORDER BY batch_id", (list(batch_ids),))
        batches = cur.fetchall()
    for batch_id, status, source_object, error in batches:
        if status == "rejected":
            summary["rejected"].append({"batch_id": batch_id, "file": source_object,
                                        "error": error})
        else:
            summary["published"].append(publish(feed_name, batch_id))
    return summary


def publish(feed_name: str, batch_id: int) -> dict:
    """Close the batch: drop its staging rows and report what it did."""
    feed = FEEDS[feed_name]
    with db.transaction() as conn, conn.cursor() as cur:
        cur.execute(sql.SQL("DELETE FROM {} WHERE batch_id = %s").format(
            db.qualified(feed.staging_table)), (batch_id,))
        cur.execute(
            "UPDATE audit.load_batch SET status = 'published', finished_at = now()"
            " WHERE batch_id = %s AND status IN ('merged', 'published')"
            " RETURNING rows_in, rows_loaded, rows_quarantined", (batch_id,))
        found = cur.fetchone()
    if found is None:
        raise RuntimeError(f"batch {batch_id} was not merged; nothing to publish")
    return {"feed": feed.name, "batch_id": batch_id, "rows_in": found[0],
            "rows_loaded": found[1], "rows_quarantined": found[2]}


def mark_run_failed(dag_id: str, run_id: str, error: str) -> int:
    """Mark the run's unfinished batches failed (failure callback); returns how many. Only a
    failure of the infrastructure or the platform leaves a batch unfinished: the next run takes
    it up again."""
    with db.transaction() as conn, conn.cursor() as cur:
        cur.execute(
            "UPDATE audit.load_batch SET status = 'failed', error = %s, finished_at = now()"
            " WHERE dag_id = %s AND run_id = %s AND status IN ('running', 'staged')",
            (redact(error)[:10_000], dag_id, run_id))
        return cur.rowcount
