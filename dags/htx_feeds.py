"""Airflow DAGs: one per feed of htx.feeds.config.FEEDS, all of one shape (see htx.dag_factory)."""
from htx.dag_factory import build_feed_dag
from htx.feeds.config import FEEDS

for _feed in FEEDS.values():
    globals()[_feed.dag_id] = build_feed_dag(_feed)
