"""`python -m htx health`: per feed, its last success and last failure, what it holds, what it
quarantined, and whether it is on time; then the marts' last refresh and the open failures."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from psycopg2 import sql

from htx import db
from htx.errors import printable, with_object
from htx.feeds.config import FEEDS
from htx.ops import freshness
from htx.ops.freshness import LOCAL


@dataclass(frozen=True)
class FeedHealth:
    feed: str
    last_success: datetime | None
    last_failure: datetime | None
    last_failure_error: str | None
    core_rows: int
    last_batch_rows: tuple | None     # (rows in, loaded, quarantined) of the newest published
    quarantined_rows: int             # rows held in quarantine.<feed>, every batch
    freshness: object                 # htx.ops.freshness.FeedFreshness

    @property
    def late(self) -> bool:
        return self.freshness.late


def feed_health(dsn: str | None = None, now: datetime | None = None) -> list[FeedHealth]:
    now = now or datetime.now(timezone.utc)
    with db.transaction(dsn) as conn, conn.cursor() as cur:
        on_time = {f.feed: f for f in freshness.check(cur, now)}
        return [_one_feed(cur, feed, on_time[feed.name]) for feed in FEEDS.values()]


def _one_feed(cur, feed, feed_freshness) -> FeedHealth:
    cur.execute("SELECT finished_at, rows_in, rows_loaded, rows_quarantined"
                " FROM audit.load_batch WHERE feed = %s AND status = 'published'"
                " ORDER BY finished_at DESC NULLS LAST, batch_id DESC LIMIT 1", (feed.name,))
    success = cur.fetchone()
    cur.execute("SELECT coalesce(finished_at, started_at), error, source_object"
                " FROM audit.load_batch WHERE feed = %s AND status IN ('failed', 'rejected')"
                " ORDER BY coalesce(finished_at, started_at) DESC, batch_id DESC LIMIT 1",
                (feed.name,))
    failure = cur.fetchone()
    if failure:  # the reason first: a long path after it may be cut, never the reason
        failure = (failure[0], with_object(failure[1] or "", failure[2]))
    cur.execute(sql.SQL("SELECT (SELECT count(*) FROM {}), (SELECT count(*) FROM {})").format(
        db.qualified(feed.core_table), db.qualified(feed.quarantine_table)))
    core_rows, quarantined_rows = cur.fetchone()
    return FeedHealth(feed.name, success[0] if success else None,
                      failure[0] if failure else None, failure[1] if failure else None,
                      core_rows, tuple(success[1:]) if success else None, quarantined_rows,
                      feed_freshness)


def marts_health(dsn: str | None = None, now: datetime | None = None) -> dict:
    with db.transaction(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT refreshed_at, indicator_rows, stale_feeds FROM mart.refresh_log"
                    " ORDER BY refreshed_at DESC LIMIT 1")
        last = cur.fetchone()
        behind = freshness.marts_lag(cur)
        stale = freshness.marts_staleness(cur, now)
    return {"last_refresh": last[0] if last else None, "indicator_rows": last[1] if last else None,
            "stale_feeds_at_refresh": (last[2] or []) if last else [], "behind": behind,
            "stale": stale}


def render(feeds: list[FeedHealth], marts: dict, failures: list[dict], days: int = 7) -> str:
    def when(moment):
        return _local(moment) if moment else "never"

    lines = [f"Times are {LOCAL.key} ({datetime.now(LOCAL):UTC%z})",
             "Feeds (audit.load_batch; freshness per htx.feeds.config)"]
    for h in feeds:
        counts = (f"last batch in {h.last_batch_rows[0]}, loaded {h.last_batch_rows[1]}, "
                  f"quarantined {h.last_batch_rows[2]}" if h.last_batch_rows else "no batch")
        lines += [f"  {h.feed:<20} {'LATE' if h.late else 'ok':<4}  last success {when(h.last_success)}"
                  f" | last failure {when(h.last_failure)}",
                  f"  {'':<26}core rows {h.core_rows:,} | {counts} | in quarantine "
                  f"{h.quarantined_rows:,}",
                  f"  {'':<26}{h.freshness.describe()}"]
        if h.last_failure_error:
            lines.append(f"  {'':<26}last failure: {' '.join(h.last_failure_error.split())[:160]}")
    lines.append(f"\nMarts: last refresh {when(marts['last_refresh'])}"
                 f" ({marts['indicator_rows'] or 0:,} indicator rows; late feeds then: "
                 f"{', '.join(marts['stale_feeds_at_refresh']) or 'none'})")
    if marts["stale"]:
        lines.append(f"  STALE: {marts['stale']}")
    elif marts["behind"]:
        lines.append(f"  BEHIND: {marts['behind'].describe()}; htx_plan_marts refreshes them on"
                     f" that Asset within minutes, or — paused — at its hourly check once unpaused")
    open_failures = [f for f in failures if f["resolved_by_batch"] is None]
    lines.append(f"\nFailed or rejected loads, last {days} day(s) (audit.failed_loads): "
                 f"{len(failures)}, "
                 f"{len(open_failures)} not yet superseded by a later load")
    for f in failures:
        state = (f"resolved by batch {f['resolved_by_batch']}" if f["resolved_by_batch"]
                 else "OPEN")
        reason = " ".join(with_object(f["error"] or "", f["source_object"]).split())
        lines += [f"  #{f['batch_id']} {f['feed']} {f['status']} — {state}: {reason[:200]}",
                  f"     {printable(f['source_object'])}",
                  f"     {f['run_url'] or ''}"]
    return "\n".join(lines)


def _local(moment: datetime) -> str:
    """The moment in Vietnam time, its zone labelled: `2024-11-21 00:00 +07`."""
    return moment.astimezone(LOCAL).strftime("%Y-%m-%d %H:%M %Z")
