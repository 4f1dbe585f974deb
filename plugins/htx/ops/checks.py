"""The daily operations check (DAG htx_ops_freshness): one alert listing every feed past its
deadline, every batch of the last day that quarantined an unusual share of its rows, and marts
left behind by a publish. Nothing to report: no alert."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from htx import db
from htx.ops import freshness
from htx.ops.notify import Alert

# A quarantine spike: a batch published within SPIKE_WINDOW that quarantined at least
# SPIKE_MIN_ROWS rows and more than SPIKE_SHARE of its rows (the sample's files quarantine a
# handful in hundreds; a spike usually means the source changed a format or a code list).
SPIKE_WINDOW = timedelta(days=1)
SPIKE_MIN_ROWS = 10
SPIKE_SHARE = 0.05


def quarantine_spikes(cur, now: datetime) -> list[dict]:
    cur.execute(
        "SELECT batch_id, feed, source_object, rows_in, rows_quarantined FROM audit.load_batch"
        " WHERE status = 'published' AND finished_at >= %s AND rows_quarantined >= %s"
        "   AND rows_quarantined > rows_in * %s ORDER BY batch_id",
        (now - SPIKE_WINDOW, SPIKE_MIN_ROWS, SPIKE_SHARE))
    return [{"batch_id": batch_id, "feed": feed, "file": source,
             "quarantined": f"{bad} of {rows_in} rows"}
            for batch_id, feed, source, rows_in, bad in cur.fetchall()]


def daily_alert(dsn: str | None = None, now: datetime | None = None):
    """The alert of the day, or None when every feed is on time and nothing else is wrong."""
    now = now or datetime.now(timezone.utc)
    with db.transaction(dsn) as conn, conn.cursor() as cur:
        late = [f for f in freshness.check(cur, now) if f.late]
        spikes = quarantine_spikes(cur, now)
        marts = freshness.marts_staleness(cur, now)
    if not (late or spikes or marts):
        return None
    reasons = [f"{f.feed} late (due by {freshness.local_time(f.due_by)})" for f in late]
    reasons += [f"{s['feed']} batch {s['batch_id']} quarantined {s['quarantined']}"
                for s in spikes]
    reasons += ["marts stale"] if marts else []
    details = [{"feed": f.feed, "status": f.describe()} for f in late] + spikes
    details += [{"marts": marts}] if marts else []
    kind = "late_feed" if late else "quarantine_spike" if spikes else "marts_stale"
    feeds = list(dict.fromkeys([f.feed for f in late] + [s["feed"] for s in spikes]))
    return Alert(kind=kind, error="; ".join(reasons), feed=", ".join(feeds) or None,
                 batches=[s["batch_id"] for s in spikes], files=[s["file"] for s in spikes],
                 details=details)
