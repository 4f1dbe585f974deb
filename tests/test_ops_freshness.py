"""Freshness: each feed's delivery deadline, the daily htx_ops_freshness DAG alerting on a late
feed (real local SMTP and HTTP receivers), and stale marts."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from conftest import query
from htx.cli import run_dag
from htx.feeds.config import FEEDS
from htx.ops import checks, freshness
from htx.ops.freshness import LOCAL
from ops_support import alert_receivers  # noqa: F401 (a fixture)

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


def vn(*parts) -> datetime:
    return datetime(*parts, tzinfo=LOCAL)


def late(feed: str, last: datetime | None, now: datetime) -> bool:
    return freshness.evaluate(FEEDS[feed], last, now).late


def test_tax_is_due_by_the_20th_of_the_next_month():
    september_delivery = vn(2024, 10, 5, 10, 0)   # September's declarations, delivered 5 Oct
    assert not late("tax_declarations", september_delivery, vn(2024, 11, 20, 23, 59))
    assert late("tax_declarations", september_delivery, vn(2024, 11, 21, 0, 0))  # October's: due
    state = freshness.evaluate(FEEDS["tax_declarations"], september_delivery, vn(2024, 11, 21, 8))
    assert state.needed_since == vn(2024, 11, 1) and state.due_by == vn(2024, 11, 21)
    assert "LATE" in state.describe() and "2024-11-21 00:00" in state.describe()
    october_delivery = vn(2024, 11, 15, 9, 0)
    assert not late("tax_declarations", october_delivery, vn(2024, 12, 20, 12, 0))
    assert late("tax_declarations", october_delivery, vn(2024, 12, 21, 0, 1))


def test_the_deadline_crosses_the_year():
    assert late("tax_declarations", vn(2024, 12, 28), vn(2025, 1, 21, 9))
    assert not late("tax_declarations", vn(2025, 1, 3), vn(2025, 1, 21, 9))
    assert not late("tax_declarations", vn(2024, 12, 2), vn(2025, 1, 10))   # November's: in time


def test_credit_fund_reports_are_due_20_days_after_the_quarter():
    q2_delivery = vn(2024, 7, 10)
    assert not late("credit_fund_reports", q2_delivery, vn(2024, 10, 20, 23, 0))
    assert late("credit_fund_reports", q2_delivery, vn(2024, 10, 21, 0, 0))
    assert not late("credit_fund_reports", vn(2024, 10, 18), vn(2025, 1, 20, 12))


def test_feeds_without_a_deadline_follow_their_cadence():
    now = datetime(2024, 6, 1, 12, tzinfo=timezone.utc)
    assert not late("registrations", now - timedelta(hours=23), now)
    assert late("registrations", now - timedelta(hours=25), now)
    assert not late("annual_reports", now - timedelta(days=300), now)
    assert late("annual_reports", now - timedelta(days=400), now)
    assert all(late(name, None, now) for name in FEEDS)   # never delivered: late


def publish_batches(dsn: str, ages: dict[str, timedelta]) -> None:
    """Hand-made audit rows: each feed's newest delivery published `age` ago."""
    for feed, age in ages.items():
        query(dsn, "INSERT INTO audit.load_batch (feed, batch_key, source_object, status,"
                   " rows_in, rows_loaded, rows_quarantined, started_at, finished_at)"
                   " VALUES (%s, %s, %s, 'published', 0, 0, 0, now() - %s, now() - %s)",
              (feed, f"test-{feed}", f"test/{feed}", age, age))


def test_the_daily_dag_alerts_when_a_feed_is_a_period_late(
        warehouse, airflow_db, alert_receivers, monkeypatch, tmp_path):  # noqa: F811
    monkeypatch.setenv("HTX_DATA_DOCS_DIR", str(tmp_path / "docs"))
    ages = {name: timedelta(minutes=5) for name in FEEDS}
    ages["tax_declarations"] = timedelta(days=70)   # always past a month's deadline
    publish_batches(warehouse, ages)
    query(warehouse, "INSERT INTO mart.refresh_log (periods, indicator_rows) VALUES (0, 0)")
    alert_receivers.clear()
    run = run_dag("htx_ops_freshness", must_succeed=False)
    assert str(getattr(run.state, "value", run.state)) == "failed"
    (post,) = alert_receivers.posts
    payload = post["json"]
    assert payload["kind"] == "late_feed" and payload["feed"] == "tax_declarations"
    assert payload["error"].startswith("tax_declarations late (due by ")
    assert payload["dag_id"] == "htx_ops_freshness" and payload["task_id"] == "check_freshness"
    assert payload["run_url"].endswith("/dags/htx_ops_freshness/runs/"
                                       + run.run_id.replace(":", "%3A").replace("+", "%2B"))
    (mail,) = alert_receivers.mails
    assert mail["Subject"].startswith("[htx] feed late: tax_declarations")
    assert "last delivery" in mail.get_content()
    # The Data Docs task runs whatever the check found.
    assert (tmp_path / "docs" / "index.html").is_file()


def test_nothing_is_sent_when_every_feed_is_on_time(warehouse):
    publish_batches(warehouse, {name: timedelta(minutes=5) for name in FEEDS})
    assert checks.daily_alert(warehouse) is None


def test_a_batch_quarantining_an_unusual_share_of_its_rows_is_reported(warehouse):
    publish_batches(warehouse, {name: timedelta(minutes=5) for name in FEEDS})
    query(warehouse, "INSERT INTO audit.load_batch (feed, batch_key, source_object, status,"
                     " rows_in, rows_loaded, rows_quarantined, finished_at) VALUES"
                     " ('annual_reports', 'spike', 'annual_reports/bao_cao_nam_2024.csv',"
                     "  'published', 100, 70, 30, now()),"
                     " ('tax_declarations', 'usual', 'tax/to_khai_202410.csv',"
                     "  'published', 683, 680, 3, now())")
    alert = checks.daily_alert(warehouse)
    assert alert.kind == "quarantine_spike" and alert.feed == "annual_reports"
    assert alert.files == ["annual_reports/bao_cao_nam_2024.csv"]
    assert "quarantined 30 of 100 rows" in alert.error


def test_marts_not_refreshed_after_a_publish_are_stale(warehouse):
    publish_batches(warehouse, {name: timedelta(hours=2) for name in FEEDS})
    alert = checks.daily_alert(warehouse)
    assert alert.kind == "marts_stale" and "htx_plan_marts" in alert.details[0]["marts"]
    query(warehouse, "INSERT INTO mart.refresh_log (periods, indicator_rows) VALUES (0, 0)")
    assert checks.daily_alert(warehouse) is None


def test_marts_behind_a_publish_say_so_at_once_and_the_hourly_check_catches_up(warehouse):
    """A marts DAG paused when a feed publishes never gets that Asset event (Airflow drops it):
    `health` shows the lag at once, and the marts DAG's hourly run — a no-op while the marts
    hold every publish — refreshes them once unpaused."""
    from htx import marts
    from htx.ops import health

    def health_text() -> str:
        return health.render(health.feed_health(warehouse), health.marts_health(warehouse), [])

    query(warehouse, "INSERT INTO mart.refresh_log (periods, indicator_rows, refreshed_at)"
                     " VALUES (0, 0, now() - interval '1 day')")
    assert not marts.needs_refresh("scheduled", warehouse)
    assert "BEHIND" not in health_text() and "STALE" not in health_text()

    publish_batches(warehouse, {"registrations": timedelta(minutes=1)})
    assert marts.needs_refresh("scheduled", warehouse)
    assert "BEHIND: registrations published at " in health_text()
    publish_batches(warehouse, {"annual_reports": timedelta(hours=2)})   # long enough: stale
    assert "STALE: annual_reports published at " in health_text()

    marts.refresh("scheduled__catch-up", warehouse)
    assert not marts.needs_refresh("scheduled", warehouse)
    assert "BEHIND" not in health_text() and "STALE" not in health_text()
    # A feed's Asset or a person asking always refreshes; a backfill is a run of the clock.
    assert marts.needs_refresh("asset_triggered", warehouse) and marts.needs_refresh("manual",
                                                                                      warehouse)
    assert not marts.needs_refresh("backfill", warehouse)
