"""OpenLineage from every task, read back from the provider's file transport.

The DAGs run through Airflow (`dag.test()`) in a process of their own, as a worker would start:
the OpenLineage provider reads its configuration once per process. A registry pull and then the
marts: every task reports START and COMPLETE with the datasets it reads and writes, and those
chain from the registry API to `mart.plan_indicator`. Without a transport lineage is off; with one
that cannot write, every task still succeeds.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from conftest import ROOT
from htx.feeds.config import FEEDS
from htx.lineage import LineageTaskOperator
from htx.sample.registrations import generate

REGISTRATIONS = FEEDS["registrations"]
FEED_TASKS = ["extract_to_landing", "validate_and_stage", "merge_into_core", "publish",
              "build_data_docs"]
MARTS_TASKS = ["refresh_marts", "write_exports"]


def run_in_a_worker_process(*dag_ids: str, transport: dict | None) -> subprocess.CompletedProcess:
    """The DAGs through `dag.test()` in a new Python process, with this OpenLineage transport."""
    env = {k: v for k, v in os.environ.items() if "OPENLINEAGE" not in k}
    if transport is not None:
        env["AIRFLOW__OPENLINEAGE__TRANSPORT"] = json.dumps(transport)
    env["PYTHONPATH"] = str(ROOT / "plugins")
    code = ("import sys\nfrom htx.cli import run_dag\n"
            "states = [run_dag(d).state for d in sys.argv[1:]]\n")
    return subprocess.run([sys.executable, "-c", code, *dag_ids], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture
def registry_pull_then_marts(airflow_db, warehouse, landing, registry_api, tmp_path):
    """(events, warehouse DSN, API base URL): the registry pulled and the marts refreshed with
    OpenLineage written to a file."""
    api = registry_api(generate())
    events_file = tmp_path / "openlineage.jsonl"
    done = run_in_a_worker_process(REGISTRATIONS.dag_id, "htx_plan_marts", transport={
        "type": "file", "log_file_path": str(events_file), "append": True})
    assert done.returncode == 0, done.stderr[-3000:]
    text = events_file.read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()], text, warehouse, api


def _task_events(events: list[dict]) -> dict[str, dict[str, dict]]:
    """job name (`dag.task`) → event type → the event (the task's last of that type)."""
    found: dict[str, dict[str, dict]] = defaultdict(dict)
    for event in events:
        if "." in event["job"]["name"]:
            found[event["job"]["name"]][event["eventType"]] = event
    return found


def _names(datasets: list[dict]) -> set[tuple[str, str]]:
    return {(d["namespace"], d["name"]) for d in datasets}


def test_every_task_names_its_inputs_and_outputs_and_they_chain_from_the_api_to_the_marts(
        registry_pull_then_marts):
    events, text, dsn, api = registry_pull_then_marts
    tasks = _task_events(events)
    expected = ([f"{REGISTRATIONS.dag_id}.{t}" for t in FEED_TASKS]
                + [f"htx_plan_marts.{t}" for t in MARTS_TASKS])
    for job in expected:
        assert {"START", "COMPLETE"} <= set(tasks[job]), job
    warehouse = urlsplit(dsn)
    tables = f"postgres://{warehouse.hostname}:{warehouse.port}"
    database = warehouse.path.lstrip("/")
    api_dataset = (f"http://127.0.0.1:{urlsplit(api.base_url).port}", "/api/v1/entities")
    landed = ("file", f"{os.environ['HTX_LANDING_URL']}/_landed/registrations")

    def lineage(task: str) -> tuple[set, set]:
        complete = tasks[f"{REGISTRATIONS.dag_id}.{task}" if task in FEED_TASKS
                         else f"htx_plan_marts.{task}"]["COMPLETE"]
        return _names(complete["inputs"]), _names(complete["outputs"])

    def table(name: str) -> tuple[str, str]:
        return tables, f"{database}.{name}"

    assert lineage("extract_to_landing") == ({api_dataset}, {landed})
    assert lineage("validate_and_stage") == ({landed}, {table("staging.registrations"),
                                                        table("quarantine.registrations")})
    assert lineage("merge_into_core") == ({table("staging.registrations")},
                                          {table("core.registration_state")})
    assert lineage("publish") == ({table("core.registration_state")}, set())
    marts_in, marts_out = lineage("refresh_marts")
    assert marts_in == {table(f.core_table) for f in FEEDS.values()}
    assert marts_out == {table("mart.plan_indicator"), table("mart.plan_indicator_members")}

    # The chain, followed from the API through the events alone.
    edges = defaultdict(set)
    for events_of_task in tasks.values():
        complete = events_of_task.get("COMPLETE", {})
        for source in _names(complete.get("inputs", [])):
            edges[source] |= _names(complete.get("outputs", []))
    reached, frontier = {api_dataset}, [api_dataset]
    while frontier:
        for target in edges[frontier.pop()] - reached:
            reached.add(target)
            frontier.append(target)
    assert table("mart.plan_indicator") in reached
    assert {landed, table("staging.registrations"), table("core.registration_state")} <= reached

    assert api.token not in text and warehouse.password not in text   # names, never secrets


def test_without_a_transport_lineage_is_off(tmp_path):
    env = {k: v for k, v in os.environ.items() if "OPENLINEAGE" not in k}
    done = subprocess.run([sys.executable, "-c", "from airflow.providers.openlineage.conf import"
                           " is_disabled; print(is_disabled())"], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.stdout.strip().splitlines()[-1] == "True", done.stderr[-2000:]


def test_a_transport_that_cannot_write_fails_no_task(airflow_db, warehouse, landing, registry_api,
                                                     tmp_path):
    registry_api(generate()[:50])
    not_a_folder = tmp_path / "a-file"
    not_a_folder.write_text("", encoding="utf-8")
    done = run_in_a_worker_process(REGISTRATIONS.dag_id, transport={
        "type": "file", "log_file_path": str(not_a_folder / "openlineage.jsonl"), "append": True})
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"DAG {REGISTRATIONS.dag_id}: success" in done.stdout


def test_every_task_of_every_dag_reports_lineage():
    from airflow.dag_processing.dagbag import DagBag

    from htx.paths import DAGS_DIR

    bag = DagBag(dag_folder=str(DAGS_DIR))
    for dag in bag.dags.values():
        for task in dag.tasks:
            assert isinstance(task, LineageTaskOperator), (dag.dag_id, task.task_id)
            assert task.htx_lineage.inputs or task.htx_lineage.outputs, (dag.dag_id, task.task_id)
