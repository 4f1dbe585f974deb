"""Reprocessing from the landing zone: quarantined rows, revalidation after a suite change, and
replay of core (then the marts) from landed objects alone.

Every path goes through the pipeline's own steps — validate_and_stage → merge → publish — on the
batch's landed objects (audit.landed_object), so staging, quarantine, audit.validation_result and
the batch's counts are rewritten together and rows in = loaded + quarantined still holds.

* A source re-sending a corrected file needs nothing from here: a changed file is a new batch,
  loaded by the feed's next run, whose merge replaces its predecessor's rows.
* `revalidate(feed)`: after a suite edit, the batches of the feed that quarantined rows are run
  again under the current suite. For a file drop, only each file's current delivery (the newest
  published batch of that file): its core rows are replaced by what passes now, in the merge's
  transaction. The registry's history spans batches, so for it revalidation is a replay.
* `replay(feeds)`: the feeds' core rows and cursor are deleted, then every batch that had reached
  core (merged or published) is run again in batch order; rejected and failed batches never
  reached core and stay as they are. Then the marts are refreshed. Interrupted, it is simply
  run again (a batch being reprocessed is 'staged' until published, and is picked up).

Pause the feed's DAG while these run: they rewrite batches a concurrent run could also touch.
"""
from __future__ import annotations

import logging

from psycopg2 import sql

from htx import db, marts, marts_incremental, pipeline
from htx.feeds.config import FEEDS, Feed
from htx.validation import SuiteRunner

log = logging.getLogger(__name__)

IN_CORE = ("merged", "published")
# A batch being reprocessed is set back to 'staged' (what validate_and_stage accepts) until it is
# published again; an interrupted replay or revalidation picks such batches up when re-run.
REPROCESSED = ("staged", "merged", "published")


# --- quarantine ----------------------------------------------------------------------------

QUARANTINE_COLUMNS = ("feed", "batch_id", "file", "source_row", "reason", "record")


def quarantined(feed_name: str | None = None, batch_id: int | None = None,
                limit: int = 200, dsn: str | None = None) -> list[dict]:
    """Quarantined rows of one batch or one feed, in file order, with the delivered file."""
    with db.transaction(dsn) as conn, conn.cursor() as cur:
        if batch_id is not None:
            cur.execute("SELECT feed FROM audit.load_batch WHERE batch_id = %s", (batch_id,))
            found = cur.fetchone()
            if found is None:
                raise LookupError(f"no batch {batch_id} in audit.load_batch")
            feed_name = found[0]
        feed = _feed(feed_name)
        cur.execute(sql.SQL(
            "SELECT %s, q.batch_id, b.source_object, q.source_row, q.reason, q.record"
            " FROM {} AS q JOIN audit.load_batch AS b USING (batch_id)"
            " WHERE (%s::bigint IS NULL OR q.batch_id = %s)"
            " ORDER BY q.batch_id, q.source_object, q.source_row LIMIT %s").format(
                db.qualified(feed.quarantine_table)),
            (feed.name, batch_id, batch_id, limit))
        return [dict(zip(QUARANTINE_COLUMNS, row)) for row in cur.fetchall()]


# --- one batch again -----------------------------------------------------------------------

def reprocess_batch(feed: Feed, batch_id: int, runner, replace_core_rows: bool) -> dict:
    """Run a batch again from its landed objects under the current parser and suite."""
    _reopen(batch_id)
    try:
        pipeline.validate_and_stage(feed.name, batch_id, runner)
    except pipeline.BatchRejected as err:
        if replace_core_rows:  # rejected now: nothing of it may stay in core
            _delete_core_rows(feed, batch_id)
        return {"batch_id": batch_id, "status": "rejected", "error": str(err)}
    if replace_core_rows:
        _merge_replacing_own_rows(feed, batch_id)
    else:
        pipeline.merge_into_core(feed.name, batch_id)
    return {"status": "published", **pipeline.publish(feed.name, batch_id)}


def _reopen(batch_id: int) -> None:
    with db.transaction() as conn, conn.cursor() as cur:
        cur.execute("UPDATE audit.load_batch SET status = 'staged', error = NULL,"
                    " finished_at = NULL WHERE batch_id = %s", (batch_id,))


def _delete_core_rows(feed: Feed, batch_id: int, cur=None) -> None:
    statement = sql.SQL("DELETE FROM {} WHERE batch_id = %s").format(
        db.qualified(feed.core_table))
    if cur is not None:
        cur.execute(statement, (batch_id,))
        _marts_change(cur, feed)
        return
    with db.transaction() as conn, conn.cursor() as own:
        own.execute(statement, (batch_id,))
        _marts_change(own, feed)


def _marts_change(cur, feed: Feed) -> None:
    """Rows changed outside a merge: the marts' next refresh recomputes every period."""
    marts_incremental.record(cur, f"{feed.name} reprocessed")


def _merge_replacing_own_rows(feed: Feed, batch_id: int) -> None:
    """The feed's merge, after removing what this same batch loaded before — in one transaction,
    so readers never see the file's rows missing. (The merge SQL alone keeps a batch's earlier
    rows: re-merging a batch is a no-op by design.)"""
    with db.transaction() as conn, conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"merge:{feed.name}",))
        _delete_core_rows(feed, batch_id, cur)
        db.run_sql_file(cur, feed.merge_sql, {"batch_id": batch_id})
        cur.execute("UPDATE audit.load_batch SET status = 'merged' WHERE batch_id = %s"
                    " AND status = 'staged'", (batch_id,))


# --- revalidate ----------------------------------------------------------------------------

def revalidate(feed_name: str, refresh_marts: bool = True) -> dict:
    """Re-run the current suite over the batches of `feed_name` that quarantined rows; load
    what passes now. Returns what was done per batch."""
    feed = _feed(feed_name)
    if feed.cursor_field:  # history across batches (the registry): rebuild the feed whole
        return {"feed": feed.name, "replayed": replay([feed.name], refresh_marts)}
    batches = _current_batches_with_quarantine(feed)
    runner = SuiteRunner(feed.name) if batches else None
    done = [reprocess_batch(feed, batch_id, runner, replace_core_rows=True)
            for batch_id in batches]
    marts = _refresh_marts("revalidate") if done and refresh_marts else None
    return {"feed": feed.name, "batches": done, "marts": marts}


def _current_batches_with_quarantine(feed: Feed) -> list[int]:
    """Each file's current delivery (no newer delivery of it reached core) that quarantined
    rows. Older deliveries were replaced in core; they stay as they are."""
    with db.transaction() as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT b.batch_id FROM audit.load_batch AS b"
            " WHERE b.feed = %s"
            "   AND (b.status = 'staged' OR (b.status = 'published' AND b.rows_quarantined > 0))"
            "   AND NOT EXISTS (SELECT 1 FROM audit.load_batch AS newer"
            "                   WHERE newer.feed = b.feed AND newer.source_object = b.source_object"
            "                     AND newer.batch_id > b.batch_id AND newer.status IN %s)"
            " ORDER BY b.batch_id", (feed.name, IN_CORE))
        return [batch_id for (batch_id,) in cur.fetchall()]


# --- replay --------------------------------------------------------------------------------

def replay(feed_names: list[str] | None = None, refresh_marts: bool = True) -> dict:
    """Rebuild the feeds' core tables (default: every feed) from the landing zone, then the
    marts. Returns per feed the batches replayed and the totals."""
    summary = {}
    for feed in [_feed(name) for name in (feed_names or list(FEEDS))]:
        batches = _clear_core(feed)
        runner = SuiteRunner(feed.name) if batches else None
        done = [reprocess_batch(feed, batch_id, runner, replace_core_rows=False)
                for batch_id in batches]
        summary[feed.name] = {
            "batches": len(done),
            "rejected": [d["batch_id"] for d in done if d["status"] == "rejected"],
            "rows_in": sum(d.get("rows_in") or 0 for d in done),
            "rows_loaded": sum(d.get("rows_loaded") or 0 for d in done),
            "rows_quarantined": sum(d.get("rows_quarantined") or 0 for d in done)}
        log.info("replayed %s: %s", feed.name, summary[feed.name])
    if refresh_marts:
        summary["marts"] = _refresh_marts("replay")
    return summary


def _clear_core(feed: Feed) -> list[int]:
    """Empty the feed's core table, staging and cursor; return the batches to replay."""
    with db.transaction() as conn, conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"merge:{feed.name}",))
        cur.execute("SELECT batch_id FROM audit.load_batch WHERE feed = %s AND status IN %s"
                    " ORDER BY batch_id FOR UPDATE", (feed.name, REPROCESSED))
        batches = [batch_id for (batch_id,) in cur.fetchall()]
        for table in (feed.core_table, feed.staging_table):
            cur.execute(sql.SQL("DELETE FROM {}").format(db.qualified(table)))
        cur.execute("DELETE FROM audit.source_cursor WHERE feed = %s", (feed.name,))
        _marts_change(cur, feed)
    return batches


def _refresh_marts(label: str) -> dict:
    return marts.refresh(dag_run_id=f"htx {label}")


def _feed(name: str | None) -> Feed:
    if name not in FEEDS:
        raise LookupError(f"unknown feed {name!r}; feeds: {', '.join(FEEDS)}")
    return FEEDS[name]
