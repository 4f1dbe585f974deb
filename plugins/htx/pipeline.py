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
import json
import logging
import math
from dataclasses import dataclass, replace
from datetime import timedelta
from itertools import islice
from typing import Iterable, Iterator

from htx import db
from htx.feeds.common import ParsedRow, RejectedObject, jsonable
from htx.feeds.config import FEEDS, Feed

log = logging.getLogger(__name__)

CHUNK_ROWS = 50_000
LINEAGE_COLUMNS = ("batch_id", "source_object", "source_row")
# Re-read this much before the cursor: a change committed at the source just before our last
# pull may carry an earlier updated_at than the last one we saw. Re-read rows merge as no-ops.
CURSOR_OVERLAP = timedelta(minutes=15)


class BatchRejected(Exception):
    """The batch cannot load at all; nothing of it reached core."""


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
    cursor_to: object = None  # newest cursor_field value seen, quarantined rows included


# --- extract → land -----------------------------------------------------------------------

def extract_to_landing(feed_name: str, run: RunInfo) -> list[int]:
    """Land what the source delivered since the last run; returns the new batches' ids."""
    feed = FEEDS[feed_name]
    if feed.source == "api":
        return [_extract_api(feed, run)]
    return _extract_files(feed, run)


def _extract_api(feed: Feed, run: RunInfo) -> int:
    """One incremental pull = one batch; every page landed as received."""
    from htx.landing import LandingZone
    from htx.registry_api.client import fetch_pages
    from htx.settings import registry_api

    with db.transaction() as conn, conn.cursor() as cur:
        updated_since = _cursor_start(cur, feed)
        batch_id = _open_batch(cur, feed, f"{run.dag_id}/{run.run_id}", run, updated_since)
    zone = LandingZone.configured()
    digests, requests = [], []
    with db.transaction() as conn, conn.cursor() as cur:
        # The same run pulled twice at once (a task started again while its first try still
        # runs): the second waits here, then replaces the first one's pages instead of colliding
        # with them (both would otherwise insert the same (batch, seq) and one would crash).
        cur.execute("SELECT 1 FROM audit.load_batch WHERE batch_id = %s FOR UPDATE", (batch_id,))
        cur.execute("DELETE FROM audit.landed_object WHERE batch_id = %s", (batch_id,))
        for seq, (request, body) in enumerate(fetch_pages(registry_api(), updated_since), start=1):
            landed = zone.land(feed.name, batch_id, f"page-{seq:05d}.json", body)
            _record_landed(cur, batch_id, seq, landed)
            digests.append(landed.sha256)
            requests.append(request)
        cur.execute(
            "UPDATE audit.load_batch SET checksum = %s, source_object = %s WHERE batch_id = %s",
            (_combined_digest(digests), requests[0] if requests else "(no pages)", batch_id))
    log.info("%s: batch %s landed %d page(s) (updated_since=%s)", feed.name, batch_id,
             len(digests), updated_since)
    return batch_id


# A file modified less than this before the listing could be rewritten within the same mtime tick
# (a second on object stores) with its size and mtime unchanged; its fingerprint is not trusted,
# so the next run hashes it again. Generous for clocks kept by NTP.
RACY_MTIME_SECONDS = 2.0
FINISHED = ("merged", "published", "rejected")


def _extract_files(feed: Feed, run: RunInfo) -> list[int]:
    """One delivered file content = one batch. A file seen before with the same content is
    skipped (a re-sent identical file is a no-op); a changed file is a new batch whose merge
    replaces its predecessor's rows. A file whose (path, size, mtime) are those of a finished
    batch is skipped without being read; any other file is read once, by a streamed copy that
    hashes it as it goes (memory does not grow with file size), and the copy is kept only when
    its content is new."""
    import time

    from htx.landing import LandingZone

    zone = LandingZone.configured()
    finished = _finished_fingerprints(feed)
    listed_at = time.time()
    batches = []
    for delivery in zone.deliveries(feed.file_glob):
        relative = delivery.relative
        if (relative, delivery.size_bytes, delivery.mtime) in finished:
            continue
        with zone.receive(feed.name, delivery.path) as received, db.transaction() as conn, \
                conn.cursor() as cur:
            digest = received.sha256
            # FOR UPDATE: a run merging this delivery right now is waited for, so its batch is
            # seen merged and skipped — without the lock it was reopened (merged → running),
            # which failed that run's publish.
            cur.execute("SELECT batch_id, status FROM audit.load_batch"
                        " WHERE feed = %s AND batch_key = %s FOR UPDATE",
                        (feed.name, f"{relative}@{digest}"))
            seen = cur.fetchone()
            if seen and seen[1] in FINISHED:
                # Known content under a new mtime (touched, copied again): remember this
                # fingerprint so that the next run skips the file unread.
                _remember_fingerprint(cur, seen[0], _fingerprint(delivery, listed_at))
                continue
            if seen and seen[1] == "staged":
                # Landed and staged by a run that has not merged it yet (running alongside, or
                # stopped before its merge): take it over as it is. Reopening it would pull it
                # back to 'running' under that run's feet and fail its merge.
                batches.append(seen[0])
                continue
            batch_id = _open_batch(cur, feed, f"{relative}@{digest}", run, None, relative)
            cur.execute("DELETE FROM audit.landed_object WHERE batch_id = %s", (batch_id,))
            landed = received.keep(batch_id)
            _record_landed(cur, batch_id, 1, landed)
            cur.execute("UPDATE audit.load_batch SET checksum = %s WHERE batch_id = %s",
                        (digest, batch_id))
            _remember_fingerprint(cur, batch_id, _fingerprint(delivery, listed_at))
        batches.append(batch_id)
        log.info("%s: %s (sha256 %s…) landed as batch %s", feed.name, relative, digest[:12],
                 batch_id)
    return batches


def _finished_fingerprints(feed: Feed) -> set[tuple[str, int, float]]:
    """(source path, size, mtime) of the feed's finished batches, where known and trusted."""
    with db.transaction() as conn, conn.cursor() as cur:
        cur.execute("SELECT source_object, source_size_bytes, source_mtime FROM audit.load_batch"
                    " WHERE feed = %s AND status IN %s AND source_mtime IS NOT NULL",
                    (feed.name, FINISHED))
        return set(cur.fetchall())


def _fingerprint(delivery, listed_at: float) -> tuple[int, float | None]:
    """(size, mtime) to record for a delivery just read; mtime None unless it identifies the
    bytes read: unchanged since the listing (stat'ed again now) and older than the listing by
    RACY_MTIME_SECONDS, so that any later rewrite must show a later mtime."""
    now = delivery.path.stat()
    unchanged = (now.st_size, now.st_mtime) == (delivery.size_bytes, delivery.mtime)
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
        from htx.validation import SuiteRunner

        self.runner = self.runner or SuiteRunner(self.feed_name)
        self.runner.reset()
        return self.runner


def validate_and_stage(feed_name: str, batch_id: int, runner=None) -> StageCounts:
    """Parse and validate the batch's landed objects; stage valid rows, quarantine the rest.
    Raises BatchRejected (after recording it) when the batch cannot load at all. `runner`: a
    SuiteRunner (or a run's shared _Suite) to reuse."""
    from htx.landing import LandingZone

    feed = FEEDS[feed_name]
    parser = importlib.import_module(feed.parser_module)
    suite = runner if isinstance(runner, _Suite) else _Suite(feed.name, runner)
    zone = LandingZone.configured()
    try:
        with db.transaction() as conn, conn.cursor() as cur:
            # One stager per batch at a time. A second one (the same delivery in two runs at
            # once) waits here, then replaces the first one's rows; without the lock it could not
            # see them (uncommitted) and staged the batch twice.
            cur.execute("SELECT status, rows_in, rows_loaded, rows_quarantined"
                        " FROM audit.load_batch WHERE batch_id = %s FOR UPDATE", (batch_id,))
            status, *done = cur.fetchone()
            if status in ("merged", "published"):
                # Already in core: staging it again would set it back to 'staged' and leave
                # staging rows that no publish clears.
                return StageCounts(*done)
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
    except (RejectedObject, BatchRejected) as err:
        message = f"{feed.name} batch {batch_id} rejected: {err}"
        mark_batch(batch_id, "rejected", message)
        log.error(message)
        raise BatchRejected(message) from None
    log.info("%s batch %s: %d rows in, %d staged, %d quarantined", feed.name, batch_id,
             counts.rows_in, counts.rows_loaded, counts.rows_quarantined)
    return counts


def _stage_in_database(cur, feed: Feed, parser, batch_id: int, url: str, size_bytes,
                       zone) -> tuple[StageCounts, dict] | None:
    """A large CSV delivery read, typed and checked by PostgreSQL (htx.bulk); None when the
    file is small or needs the Python parser."""
    from htx import bulk

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
    for chunk in _chunks(_parsed_rows(parser, urls, zone), CHUNK_ROWS):
        counts = _add(counts, _stage_chunk(cur, feed, parser, runner, batch_id, chunk))
    return counts


def _parsed_rows(parser, urls: list[str], zone) -> Iterator[ParsedRow]:
    for url in urls:
        if getattr(parser, "STREAMING", False):
            with zone.open(url) as stream:
                yield from parser.parse_object(stream, url)
        else:
            yield from parser.parse_object(zone.read(url), url)


def _summed(tallies: list[dict]) -> dict:
    """One batch's tallies from those of its parts (objects read by the database, the rest)."""
    from htx.validation import SAMPLE_SIZE, ExpectationTally

    total: dict = {}
    for part in tallies:
        for key, tally in part.items():
            into = total.setdefault(key, ExpectationTally(tally.severity))
            into.element_count += tally.element_count
            into.unexpected_count += tally.unexpected_count
            into.sample = (into.sample + tally.sample)[:SAMPLE_SIZE]
    return total


def _clear_batch_rows(cur, feed: Feed, batch_id: int) -> None:
    from psycopg2 import sql

    from htx import bulk

    for table in (feed.staging_table, feed.quarantine_table):
        cur.execute(sql.SQL("DELETE FROM {} WHERE batch_id = %s").format(db.qualified(table)),
                    (batch_id,))
    bulk.unstage(cur, feed, batch_id)
    cur.execute("DELETE FROM audit.validation_result WHERE batch_id = %s", (batch_id,))


def _chunks(rows: Iterable[ParsedRow], size: int) -> Iterator[list[ParsedRow]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _add(a: StageCounts, b: StageCounts) -> StageCounts:
    cursors = [c for c in (a.cursor_to, b.cursor_to) if c is not None]
    return StageCounts(a.rows_in + b.rows_in, a.rows_loaded + b.rows_loaded,
                       a.rows_quarantined + b.rows_quarantined, max(cursors, default=None))


def _stage_chunk(cur, feed: Feed, parser, runner, batch_id: int,
                 chunk: list[ParsedRow]) -> StageCounts:
    import pandas as pd

    parsed = [row for row in chunk if not row.failures]
    if parsed:
        frame = pd.DataFrame([row.values for row in parsed],
                             columns=list(parser.COLUMNS + parser.CHECK_COLUMNS))
        verdict = runner.validate(frame)
        if verdict.table_failures:
            raise BatchRejected("; ".join(verdict.table_failures))
        for position, failures in verdict.row_failures.items():
            row = parsed[position]
            # The row's own value, not the frame's: pandas turns a chunk's integers into floats
            # when another row of the chunk has none there, so a reason read "(-1.0)".
            row.failures.extend(replace(f, value=row.values.get(f.field, f.value))
                                for f in failures)
    good = [row for row in chunk if not row.failures]
    bad = [row for row in chunk if row.failures]
    db.copy_rows(cur, feed.staging_table, LINEAGE_COLUMNS + parser.COLUMNS,
                 ((batch_id, r.source_object, r.source_row, *(r.values[c] for c in parser.COLUMNS))
                  for r in good))
    for source_object in {r.source_object for r in bad}:
        quarantine_rows(cur, feed, batch_id, source_object,
                        ((r.source_row, r.failures, r.record) for r in bad
                         if r.source_object == source_object))
    cursor_values = [r.values.get(feed.cursor_field) for r in chunk] if feed.cursor_field else []
    return StageCounts(len(chunk), len(good), len(bad),
                       max((v for v in cursor_values if v is not None), default=None))


def quarantine_rows(cur, feed: Feed, batch_id: int, source_object: str,
                    rows: Iterable[tuple[int, list, object]]) -> int:
    """COPY (source_row, failures, record as delivered) into the feed's quarantine table."""
    return db.copy_rows(
        cur, feed.quarantine_table,
        ("batch_id", "source_object", "source_row", "reason", "failures", "record"),
        ((batch_id, source_object, source_row, "; ".join(f.describe() for f in failures),
          _jsonb([f.as_json() for f in failures]), _jsonb(jsonable(record)))
         for source_row, failures, record in rows))


def _record_validation(cur, suite_name: str, tallies: dict, batch_id: int) -> None:
    for expectation, tally in tallies.items():
        cur.execute(
            "INSERT INTO audit.validation_result (batch_id, suite, expectation, severity, success,"
            " element_count, unexpected_count, unexpected_sample) VALUES (%s,%s,%s,%s,%s,%s,%s,%s)",
            (batch_id, suite_name, expectation, tally.severity, tally.success,
             tally.element_count, tally.unexpected_count, _jsonb(tally.sample)))


def _jsonb(value) -> str:
    """JSON text for a jsonb column. jsonb holds neither U+0000 nor NaN/Infinity, which a hostile
    source may send (the COPY then failed the whole batch with a bare error): they are kept as
    ␀ (U+2400) and as the text "NaN"/"Infinity"; the landed object keeps the exact bytes."""
    def visible(v):
        if isinstance(v, str):
            return v.replace("\x00", "\u2400")
        if isinstance(v, float) and not math.isfinite(v):
            return json.dumps(v)
        if isinstance(v, dict):
            return {visible(k): visible(x) for k, x in v.items()}
        if isinstance(v, list):
            return [visible(x) for x in v]
        return v
    return json.dumps(visible(value), ensure_ascii=False, allow_nan=False)


# --- merge → publish ----------------------------------------------------------------------

def merge_batches(feed_name: str, batch_ids: list[int]) -> list[int]:
    """Merge the staged ones of `batch_ids`, in delivery order; returns those merged now."""
    return [b for b in sorted(batch_ids) if merge_into_core(feed_name, b)]


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
        db.run_sql_file(cur, feed.merge_sql, {"batch_id": batch_id})
        if feed.cursor_field:
            _advance_cursor(cur, feed, batch_id)
        cur.execute("UPDATE audit.load_batch SET status = 'merged' WHERE batch_id = %s", (batch_id,))
    return True


def _advance_cursor(cur, feed: Feed, batch_id: int) -> None:
    """The cursor only moves forward, to the newest change the batch delivered (quarantined
    rows included: they are kept in quarantine, not fetched again)."""
    cur.execute(
        """
        INSERT INTO audit.source_cursor (feed, cursor_value, batch_id)
        SELECT feed, cursor_to, batch_id FROM audit.load_batch
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
    from psycopg2 import sql

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


def mark_batch(batch_id: int, status: str, error: str) -> None:
    with db.transaction() as conn, conn.cursor() as cur:
        cur.execute("UPDATE audit.load_batch SET status = %s, error = %s, finished_at = now()"
                    " WHERE batch_id = %s", (status, error[:10_000], batch_id))


def mark_run_failed(dag_id: str, run_id: str, error: str) -> int:
    """Mark the run's unfinished batches failed (failure callback); returns how many."""
    with db.transaction() as conn, conn.cursor() as cur:
        cur.execute(
            "UPDATE audit.load_batch SET status = 'failed', error = %s, finished_at = now()"
            " WHERE dag_id = %s AND run_id = %s AND status IN ('running', 'staged')",
            (error[:10_000], dag_id, run_id))
        return cur.rowcount
