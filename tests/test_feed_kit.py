"""The feed kit (htx.feeds.kit, docs/feed-kit.md): every feed's parser offers the kit's interface,
and a new feed made of its own files only — tests/toy_feed/: configuration, parser, suite, merge
SQL, migration — is registered by configuration (HTX_FEED_MODULES), migrated by `htx migrate`
and run through the generic feed DAG with dag.test(), in a process of its own, with no edit
anywhere else; the marts DAG then follows its Asset too."""
import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import ROOT, query
from htx.feeds.config import FEEDS
from htx.feeds.kit import ApiClient, BulkCsvParser, Parser, parser_of

TOY = Path(__file__).parent / "toy_feed"
# Checklist steps 4 and 5 of docs/feed-kit.md: migrate, then run the feed's DAG.
RUN_TOY_FEED = """
import json
from htx.dag_runs import run
from htx.migrate import migrate
from airflow.dag_processing.dagbag import DagBag
from htx.paths import DAGS_DIR

migrate()
bag = DagBag(dag_folder=str(DAGS_DIR))
dag = bag.dags["htx_feed_toy_counts"]
marts = bag.dags["htx_plan_marts"].timetable.asset_condition.objects
state = run("htx_feed_toy_counts").state
print(json.dumps({"state": str(getattr(state, "value", state)),
                  "tasks": [t.task_id for t in dag.topological_sort()],
                  "marts_follow": [a.name for a in marts]}))
"""


def test_every_feed_offers_the_kits_interfaces():
    import importlib

    for feed in FEEDS.values():
        assert isinstance(parser_of(feed), Parser), feed.name
        if feed.bulk_sql:
            assert isinstance(parser_of(feed), BulkCsvParser) and feed.bulk_sql.exists()
        if feed.source.kind == "api":
            assert isinstance(importlib.import_module(feed.source.client), ApiClient)


def test_a_toy_feed_from_its_own_files_runs_through_the_generic_dag(warehouse, landing,
                                                                   airflow_db):
    drop = landing / "toy"
    drop.mkdir()
    (drop / "counts_1.csv").write_text("code,amount\nA,5\nB,-1\nC,x\n,7\nD,9\n", encoding="utf-8")
    environment = {**os.environ, "HTX_FEED_MODULES": "toy_counts_feed",
                   "PYTHONPATH": os.pathsep.join([str(ROOT / "plugins"), str(TOY)])}
    done = subprocess.run([sys.executable, "-c", RUN_TOY_FEED], env=environment,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcome["state"] == "success"
    assert outcome["tasks"] == ["extract_to_landing", "validate_and_stage", "merge_into_core",
                                "publish", "build_data_docs"]
    assert "htx_core_toy_count" in outcome["marts_follow"]
    assert query(warehouse, "SELECT code, amount FROM core.toy_count ORDER BY code") == [
        ("A", 5), ("D", 9)]
    assert query(warehouse, "SELECT source_row, reason FROM quarantine.toy_counts"
                            " ORDER BY source_row") == [
        (3, "amount: amount is negative (-1)"), (4, "amount: amount is not a whole number ('x')"),
        (5, "code: code is missing (None)")]
    assert query(warehouse, "SELECT status, rows_in, rows_loaded, rows_quarantined"
                            " FROM audit.load_batch WHERE feed = 'toy_counts'") == [
        ("published", 5, 2, 3)]
