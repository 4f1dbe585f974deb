"""Is each feed's data on time? A feed's deliveries are its published batches
(audit.load_batch.finished_at); its rule is in htx.feeds.config:

* with a `due` rule (a delivery per month or quarter, due by day D of the month after it): once a
  period's deadline has passed, the feed is late until a batch is published after that period
  closed. Tax: September's declarations are due by 20 October; on 21 October, with no delivery
  published since 1 October, the feed is late.
* otherwise, a rolling cadence: late when the newest delivery is older than `expected_cadence`
  (registrations: a successful pull within the last day).

The marts are behind while a feed's publish is newer than their last refresh (the marts DAG
normally runs within minutes of it, on the feed's Asset), and stale when no refresh followed
within MARTS_GRACE: Airflow drops the Asset events of a paused DAG, so a marts DAG paused at that
moment never runs for them — its hourly check catches up once it is unpaused.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from htx.feeds.config import FEEDS, DueRule, Feed

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
MARTS_GRACE = timedelta(hours=1)
_PERIOD_MONTHS = {"month": 1, "quarter": 3}


@dataclass(frozen=True)
class FeedFreshness:
    feed: str
    late: bool
    last_delivery: datetime | None   # the newest published batch's finished_at
    due_by: datetime                 # the deadline that decides it (passed when late)
    needed_since: datetime           # a delivery published after this meets it
    rule: str

    def describe(self) -> str:
        last = local_time(self.last_delivery) if self.last_delivery else "never"
        if self.late:
            return (f"LATE: a delivery published after {local_time(self.needed_since)} was due by "
                    f"{local_time(self.due_by)}; last delivery {last} ({self.rule})")
        return f"on time: last delivery {last}, next due by {local_time(self.due_by)} ({self.rule})"


def evaluate(feed: Feed, last_delivery: datetime | None, now: datetime) -> FeedFreshness:
    if feed.due:
        return _by_deadline(feed, feed.due, last_delivery, now)
    return _by_cadence(feed, last_delivery, now)


def _by_cadence(feed: Feed, last: datetime | None, now: datetime) -> FeedFreshness:
    needed_since = now - feed.expected_cadence
    late = last is None or last < needed_since
    due_by = now if last is None else last + feed.expected_cadence
    return FeedFreshness(feed.name, late, last, due_by, needed_since,
                         f"a delivery at least every {_span(feed.expected_cadence)}")


def _by_deadline(feed: Feed, due: DueRule, last: datetime | None,
                 now: datetime) -> FeedFreshness:
    """The newest period whose deadline has passed decides: its delivery (published once the
    period closed) must be there. Not late: the next period's deadline is reported."""
    months = _PERIOD_MONTHS[due.period]
    today = now.astimezone(LOCAL).date()
    current = _period_start(today, months)          # the open period; the one before it closed
    if now >= _deadline(current, due.day):
        closed, next_close = current, _add_months(current, months)
    else:
        closed, next_close = _add_months(current, -months), current
    needed_since = datetime.combine(closed, time(), LOCAL)
    late = last is None or last < needed_since
    due_by = _deadline(closed, due.day) if late else _deadline(next_close, due.day)
    return FeedFreshness(feed.name, late, last, due_by, needed_since,
                         f"each {due.period}'s delivery due by day {due.day} of the next month")


def _period_start(day: date, months: int) -> date:
    return date(day.year, (day.month - 1) // months * months + 1, 1)


def _add_months(first: date, months: int) -> date:
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _deadline(close: date, day: int) -> datetime:
    """Due by the end of day `day` of the month starting at `close`."""
    return datetime.combine(close + timedelta(days=day), time(), LOCAL)


def local_time(moment: datetime) -> str:
    return moment.astimezone(LOCAL).strftime("%Y-%m-%d %H:%M")


def _span(delta: timedelta) -> str:
    return f"{delta.days} day(s)" if delta.days else str(delta)


# --- against the warehouse -----------------------------------------------------------------

def last_deliveries(cur) -> dict[str, datetime]:
    cur.execute("SELECT feed, max(finished_at) FROM audit.load_batch WHERE status = 'published'"
                " GROUP BY feed")
    return dict(cur.fetchall())


def check(cur, now: datetime | None = None) -> list[FeedFreshness]:
    now = now or datetime.now(timezone.utc)
    last = last_deliveries(cur)
    return [evaluate(feed, last.get(feed.name), now) for feed in FEEDS.values()]


def stale_feeds(cur, now: datetime | None = None) -> list[str]:
    """Names of the feeds late now (recorded with each marts refresh)."""
    return [f.feed for f in check(cur, now) if f.late]


@dataclass(frozen=True)
class MartsLag:
    """The marts miss a publish: the first batch published after their last refresh began."""
    feed: str
    published_at: datetime
    refreshed_at: datetime | None

    def describe(self) -> str:
        last = local_time(self.refreshed_at) if self.refreshed_at else "never"
        return (f"{self.feed} published at {local_time(self.published_at)}, after the marts' last"
                f" refresh ({last})")


def marts_lag(cur) -> MartsLag | None:
    """The oldest publish after the marts' last refresh began (how long they have been
    behind), or None when they hold every publish."""
    cur.execute("SELECT b.feed, b.finished_at, r.refreshed_at"
                " FROM (SELECT max(refreshed_at) AS refreshed_at FROM mart.refresh_log) AS r"
                " JOIN audit.load_batch AS b ON b.status = 'published'"
                "  AND b.finished_at > coalesce(r.refreshed_at, '-infinity')"
                " ORDER BY b.finished_at LIMIT 1")
    found = cur.fetchone()
    return MartsLag(*found) if found else None


def marts_staleness(cur, now: datetime | None = None) -> str | None:
    """Why the marts are stale, or None: a publish not followed by a refresh within MARTS_GRACE
    (the marts DAG was paused when the feed's Asset came, or failed)."""
    now = now or datetime.now(timezone.utc)
    lag = marts_lag(cur)
    if lag is None or lag.published_at > now - MARTS_GRACE:
        return None
    return (f"{lag.describe()}; is the htx_plan_marts DAG paused? Unpause it (its hourly check"
            f" catches up) or trigger it")
