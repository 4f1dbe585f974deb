"""One delivery never fails another (issue 11 §3 and §5), through Airflow (`dag.test()`).

A tax drop folder holds good files beside poisoned ones: a file whose data the warehouse refuses
while it is staged, one refused while it is merged, a link to a private file outside the zone, a
pipe, and names holding a newline or a tab. The run rejects each poisoned delivery — with the
error's class and message, reason first — loads and publishes every good one, ends failed (ops
get the alert, whose headers no name can break), and a later run does not try a rejected
delivery again unless it changes. Re-sending an earlier version of a file makes it current again.
The inputs are files of tests/corpus/isolation/ (tests/corpus/make_corpus.py); the warehouse's
refusals are CHECK constraints the test adds (a rule the data breaks, not a stub).
"""
from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import pytest
from psycopg2 import sql

from conftest import query
from htx.cli import run_dag
from htx.feeds.config import FEEDS
from ops_support import alert_receivers  # noqa: F401 (a fixture)

CORPUS = Path(__file__).parent / "corpus"
sys.path.insert(0, str(CORPUS))
import make_corpus as made  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

TAX = FEEDS["tax_declarations"]
PRIVATE_LINE = "MẬT-outside-the-zone-8f1c2d"   # the first line of the file a link points at


def deliver(landing: Path, name: str, corpus_file: str) -> Path:
    path = landing / "tax" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((CORPUS / "isolation" / corpus_file).read_bytes())
    return path


def tries(run) -> dict[str, tuple[str, int]]:
    """task id → (state, try number) of a dag.test() run."""
    from airflow.utils.session import create_session

    with create_session() as session:
        return {ti.task_id: (str(getattr(ti.state, "value", ti.state)), ti.try_number)
                for ti in run.get_task_instances(session=session)}


def state(run) -> str:
    return str(getattr(run.state, "value", run.state))


def batches(dsn: str) -> dict[str, tuple]:
    return {source: (status, error) for source, status, error in query(
        dsn, "SELECT source_object, status, error FROM audit.load_batch ORDER BY batch_id")}


@pytest.fixture
def refusing(warehouse):
    """The warehouse refusing one taxpayer name in staging and another in core."""
    for table, name in (("staging.tax_declarations", made.REFUSED_IN_STAGING),
                        ("core.tax_declaration", made.REFUSED_IN_CORE)):
        query(warehouse, sql.SQL("ALTER TABLE {} ADD CONSTRAINT refused_by_the_test"
                                 " CHECK (taxpayer_name IS DISTINCT FROM %s)").format(
            sql.Identifier(*table.split("."))), (name,))
    return warehouse


@pytest.fixture
def poisoned(landing, tmp_path):
    """Good files and poisoned ones in the tax drop folder."""
    outside = tmp_path / "outside" / "private.csv"
    outside.parent.mkdir()
    outside.write_text(f"{PRIVATE_LINE}\n", encoding="utf-8")
    outside.chmod(0o600)
    deliver(landing, "to_khai_202401.csv", "tax_good.csv")
    deliver(landing, "to_khai_202402.csv", "tax_refused_in_staging.csv")
    deliver(landing, "to_khai_202403.csv", "tax_refused_in_core.csv")
    (landing / "tax" / "to_khai_202404.csv").symlink_to(outside)
    os.mkfifo(landing / "tax" / "to_khai_202405.csv")
    deliver(landing, "to_khai_2024\n06.csv", "tax_version_a.csv")
    deliver(landing, "to_khai_2024\t07.csv", "tax_refused_in_staging.csv")
    deliver(landing, "to_khai_2024\n08.csv", "tax_refused_in_core.csv")
    return landing


def test_poisoned_deliveries_are_rejected_alone_and_the_good_ones_load(
        refusing, poisoned, airflow_db, alert_receivers):  # noqa: F811
    alert_receivers.clear()
    run = run_dag(TAX.dag_id, must_succeed=False)

    # The run ends failed at its publish — at once, not retried — after every step ran whole.
    assert state(run) == "failed"
    assert tries(run) == {"extract_to_landing": ("success", 1),
                          "validate_and_stage": ("success", 1),
                          "merge_into_core": ("success", 1), "publish": ("failed", 1),
                          "build_data_docs": ("success", 1)}   # the teardown, whatever
    found = batches(refusing)
    assert {source: status for source, (status, _) in found.items()} == {
        "tax/to_khai_202401.csv": "published", "tax/to_khai_2024\n06.csv": "published",
        "tax/to_khai_202402.csv": "rejected", "tax/to_khai_202403.csv": "rejected",
        "tax/to_khai_202404.csv": "rejected", "tax/to_khai_202405.csv": "rejected",
        "tax/to_khai_2024\t07.csv": "rejected", "tax/to_khai_2024\n08.csv": "rejected"}

    # Each rejection: the reason first (the error's class and message), then the delivery.
    def error(name):
        return found[f"tax/{name}"][1]
    # The relation named is a partition: staging's for parsed rows, the batch's own in core.
    for name, step_table in (("to_khai_202402.csv", "tax_declarations_parsed"),
                             ("to_khai_202403.csv", r"tax_declaration_\d{8}_latest"),
                             ("to_khai_2024\t07.csv", "tax_declarations_parsed"),
                             ("to_khai_2024\n08.csv", r"tax_declaration_\d{8}_latest")):
        assert re.match(f'CheckViolation: new row for relation "{step_table}"'
                        ' violates check constraint "refused_by_the_test"', error(name)), name
        shown = name.replace("\t", "\\t").replace("\n", "\\n")
        assert error(name).endswith(f" — tax/{shown}"), error(name)
    assert error("to_khai_202404.csv") == (
        "refused: a symbolic link (links are never followed) — tax/to_khai_202404.csv")
    assert error("to_khai_202405.csv").startswith("refused: not a regular file")

    # The good deliveries are in core; nothing of a rejected one is anywhere.
    in_core = dict(query(refusing, "SELECT source_file, count(*) FROM core.tax_declaration"
                                   " GROUP BY 1"))
    assert in_core == {"tax/to_khai_202401.csv": 2, "tax/to_khai_2024\n06.csv": 2}
    for table in ("staging.tax_declarations", "quarantine.tax_declarations"):
        assert query(refusing, sql.SQL("SELECT count(*) FROM {}").format(
            sql.Identifier(*table.split(".")))) == [(0,)]

    # Nothing of the link's target was read: not landed, not quoted anywhere.
    landed = [p for p in (poisoned / "_landed").rglob("*") if p.is_file()]
    assert len(landed) == 6 and not any(PRIVATE_LINE in p.read_text() for p in landed)
    assert PRIVATE_LINE not in json.dumps(query(refusing, "SELECT * FROM audit.load_batch"),
                                         default=str, ensure_ascii=False)

    # Ops are told: one e-mail, its subject one line whatever the names hold; the webhook too.
    (mail,) = alert_receivers.mails
    (post,) = alert_receivers.posts
    assert "\n" not in mail["Subject"] and "\t" not in mail["Subject"]
    assert mail["Subject"].startswith("[htx] load failed: tax_declarations: CheckViolation")
    body = mail.get_content()
    assert "tax/to_khai_2024\\t07.csv" in body and "tax/to_khai_2024\\n08.csv" in body
    assert sorted(post["json"]["files"]) == sorted(s for s, (st, _) in found.items()
                                                   if st == "rejected")
    assert PRIVATE_LINE not in body + json.dumps(post["json"], ensure_ascii=False)

    # A later run tries no rejected delivery again ...
    again = run_dag(TAX.dag_id)
    assert state(again) == "success" and batches(refusing) == found
    # ... unless it changes: the corrected file loads.
    deliver(poisoned, "to_khai_202402.csv", "tax_version_b.csv")
    run_dag(TAX.dag_id)
    assert query(refusing, "SELECT status FROM audit.load_batch WHERE source_object = %s"
                           " ORDER BY batch_id", ("tax/to_khai_202402.csv",)) == [
        ("rejected",), ("published",)]


def test_an_earlier_version_sent_again_is_current_again(warehouse, landing, airflow_db):
    """A, then B, then A again: the delivery seen last wins (the contract's supersession)."""
    def revenues():
        return sorted(query(warehouse, "SELECT revenue_vnd FROM core.tax_declaration_latest"))

    deliver(landing, "to_khai_202409.csv", "tax_version_a.csv")
    run_dag(TAX.dag_id)
    version_a = revenues()
    deliver(landing, "to_khai_202409.csv", "tax_version_b.csv")
    run_dag(TAX.dag_id)
    assert revenues() != version_a
    deliver(landing, "to_khai_202409.csv", "tax_version_a.csv")
    run_dag(TAX.dag_id)
    assert revenues() == version_a == [(1_000_000,), (2_000_000,)]
    assert query(warehouse, "SELECT status, count(*) FROM audit.load_batch GROUP BY 1") == [
        ("published", 3)]
    run_dag(TAX.dag_id)  # the same A once more: nothing new
    assert query(warehouse, "SELECT count(*) FROM audit.load_batch") == [(3,)]


def test_a_credit_fund_report_no_rule_foresaw_is_rejected_with_its_error(
        warehouse, landing, airflow_db):
    """An error of the parser itself (1e308 members: Decimal's InvalidOperation) rejects that
    report; the fund's other report loads."""
    folder = landing / "credit_funds"
    folder.mkdir()
    (folder / f"{made.A}_2024Q1.json").write_bytes(
        (CORPUS / "isolation" / "credit_fund_huge_float.json").read_bytes().replace(
            b"2024-09-30", b"2024-03-31"))
    (folder / f"{made.A}_2024Q3.json").write_bytes(
        (CORPUS / "credit_fund_reports" / "extra_column.json").read_bytes())
    run = run_dag(FEEDS["credit_fund_reports"].dag_id, must_succeed=False)
    assert state(run) == "failed"
    found = batches(warehouse)
    assert found[f"credit_funds/{made.A}_2024Q3.json"] == ("published", None)
    status, error = found[f"credit_funds/{made.A}_2024Q1.json"]
    assert status == "rejected" and error.startswith("InvalidOperation: ")
    assert error.endswith(f" — credit_funds/{made.A}_2024Q1.json")
