"""A toy file-drop feed declared from its own files only (docs/feed-kit.md; tests/test_feed_kit.py):
this configuration, its parser (toy_counts_parser.py), suite (toy_counts.json), merge SQL
(toy_counts_merge.sql) and migration (migrations/). Registered by the setting
HTX_FEED_MODULES=toy_counts_feed, with this folder on the Python path."""
from datetime import timedelta
from pathlib import Path

from htx.feeds.config import Feed
from htx.feeds.kit import FileDrop

HERE = Path(__file__).resolve().parent

FEED = Feed(
    name="toy_counts",
    title="Toy counts (a feed-kit example)",
    source=FileDrop("toy/counts_*.csv"),
    schedule="0 5 * * *",
    core_table="core.toy_count",
    expected_cadence=timedelta(days=1),
    doc="One CSV `code,amount` per delivery; a re-sent file replaces its predecessor's rows.",
    parser="toy_counts_parser",
    suite=HERE / "toy_counts.json",
    merge=HERE / "toy_counts_merge.sql",
    migrations=HERE / "migrations",
)
