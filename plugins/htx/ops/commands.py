"""The operations commands of `python -m htx` (docs/runbook.md says when to run each).

  health      per feed: last success, last failure, rows, quarantine, on time or late
  failures    failed or rejected loads of the last N days, with their Airflow run links
  quarantine  quarantined rows of one batch (--batch N) or one feed (--feed F)
  revalidate  re-run a feed's suite over its quarantined batches (after a suite change)
  replay      rebuild core (one feed or all) and then the marts from the landing zone alone
  recover     run a feed's DAG now and, when it loads, refresh the marts once (after a fix or a
              re-send); through the scheduler when a live stack runs the DAGs
  data-docs   build the Great Expectations Data Docs from the kept validation results
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from htx import dag_runs
from htx.dag_factory import MARTS_DAG_ID
from htx.dag_runs import report_run, run_dag
from htx.errors import printable
from htx.feeds.config import FEEDS
from htx.ops import data_docs, health
from htx.ops.failures import failed_loads
from htx.ops.reprocess import quarantined, replay, revalidate

# Function-local imports: the development tools (htx.dev), which production never imports.


def add_parsers(commands) -> None:
    """Register the commands on `python -m htx`'s subparsers; each carries its handler."""
    feeds = sorted(FEEDS)
    health = commands.add_parser("health", help="per feed: last success/failure, rows, on time")
    health.add_argument("--days", type=int, default=7, help="failures of the last N days")
    health.set_defaults(handler=_health)
    failures = commands.add_parser("failures", help="failed or rejected loads, with run links")
    failures.add_argument("--days", type=int, default=7)
    failures.set_defaults(handler=_failures)
    quarantine = commands.add_parser("quarantine", help="quarantined rows of a batch or a feed")
    which = quarantine.add_mutually_exclusive_group(required=True)
    which.add_argument("--batch", type=int)
    which.add_argument("--feed", choices=feeds)
    quarantine.add_argument("--limit", type=int, default=200)
    quarantine.set_defaults(handler=_quarantine)
    revalidate = commands.add_parser("revalidate", help="re-run a feed's suite over its "
                                                        "quarantined batches")
    revalidate.add_argument("--feed", choices=feeds, required=True)
    revalidate.set_defaults(handler=_revalidate)
    replay = commands.add_parser("replay", help="rebuild core and marts from the landing zone")
    replay.add_argument("--feed", choices=feeds, help="one feed (default: every feed)")
    replay.set_defaults(handler=_replay)
    recover = commands.add_parser("recover", help="run a feed's DAG now, then the marts DAG")
    recover.add_argument("--feed", choices=feeds, required=True)
    recover.set_defaults(handler=_recover)
    docs = commands.add_parser("data-docs", help="Great Expectations Data Docs (HTML)")
    docs.add_argument("--out", help="folder (default: HTX_DATA_DOCS_DIR, .local/data_docs)")
    docs.set_defaults(handler=_data_docs)


def _prepare() -> None:
    from htx.dev import devenv

    devenv.prepare()


def _health(args: argparse.Namespace) -> int:
    _prepare()
    feeds = health.feed_health()
    print(health.render(feeds, health.marts_health(), failed_loads(args.days), args.days))
    return 1 if any(h.late for h in feeds) else 0


def _failures(args: argparse.Namespace) -> int:
    _prepare()
    found = failed_loads(args.days)
    for row in found:
        print(json.dumps(row, ensure_ascii=False, default=str))
    if not found:
        print(f"no failed or rejected load in the last {args.days} day(s)")
    return 0


def _quarantine(args: argparse.Namespace) -> int:
    _prepare()
    rows = quarantined(args.feed, args.batch, args.limit)
    for row in rows:
        print(f"{row['reason']} — {printable(row['file'])} row {row['source_row']} (batch"
              f" {row['batch_id']}, {row['feed']})\n    "
              f"{json.dumps(row['record'], ensure_ascii=False)}")
    print(f"{len(rows)} quarantined row(s) shown" + (f" (limit {args.limit})"
                                                    if len(rows) == args.limit else ""))
    return 0


def _revalidate(args: argparse.Namespace) -> int:
    _prepare()
    print(json.dumps(revalidate(args.feed), ensure_ascii=False, indent=2, default=str))
    return 0


def _replay(args: argparse.Namespace) -> int:
    _prepare()
    print(json.dumps(replay([args.feed] if args.feed else None), ensure_ascii=False, indent=2,
                     default=str))
    return 0


def _recover(args: argparse.Namespace) -> int:
    _prepare()
    return 0 if recover(args.feed) else 1


def recover(feed_name: str) -> bool:
    """Run the feed's DAG now and, when it succeeds, refresh the marts once: the scheduler's
    run on the feed's Asset when a live stack runs the marts DAG (htx.dag_runs), else a run
    here. Returns whether the feed's run succeeded."""
    feed = FEEDS[feed_name]
    # The configured sources only: never the demo's stand-in API (it would load sample data).
    run = run_dag(feed.dag_id, must_succeed=False)
    succeeded = str(getattr(run.state, "value", run.state)) == "success"
    if succeeded:
        marts = dag_runs.asset_triggered_run(MARTS_DAG_ID, run)
        if marts is None:
            run_dag(MARTS_DAG_ID)
        else:
            report_run(marts)
    mine = [h for h in health.feed_health() if h.feed == feed.name]
    print(health.render(mine, health.marts_health(),
                        [f for f in failed_loads() if f["feed"] == feed.name]))
    return succeeded


def _data_docs(args: argparse.Namespace) -> int:
    _prepare()
    print(f"Data Docs: {data_docs.build(out=Path(args.out) if args.out else None)}")
    return 0
