"""The production topology, run for real: the components docker-compose.yml runs, each its own
process on 127.0.0.1 — Redis (Debian's redis-server, installed by .ci/run), the metadata database
in PostgreSQL, api-server, scheduler, dag-processor, triggerer and two Celery workers
(CeleryExecutor) — on a landing zone in an object store (moto's S3 API, tests/s3_support.py), the
warehouse on the local PostgreSQL.

Each component has its own AIRFLOW_HOME, as separate hosts would: what they must share (the
execution API's URL, the JWT secret, the API secret key, the Fernet key, the broker and the
databases) comes from the environment only (htx.stack.shared_settings), as docker-compose.yml
gives it from `.env`. Nothing may rely on in-process state or on one worker's disk: each worker
names itself on the task instances it runs (tests/topology_worker.py), and the tasks of one run
must land on both.

An operator then works through the REST API only: unpauses and triggers every feed DAG, sees the
Asset-triggered marts run (the marts DAG is never paused at creation), and the warehouse holds
every seed figure. A broken tax file fails its run, reaches audit.failed_loads and the alert
receivers (real SMTP and HTTP servers); the corrected file and `python -m htx recover` load it
through the scheduler and the workers, and the marts are refreshed once — by the Asset.

Log servers are off (`--skip-serve-logs`): on one machine two workers would collide on 8793 and
bind every interface; in docker-compose.yml each worker serves its own logs to the API server.
"""
from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from conftest import SEED_FIGURES, SERVER, as_dags_login, query
from htx import stack
from htx.dev import localpg, sample
from htx.feeds.config import FEEDS
from htx.migrate import migrate
from htx.dev.sample.registrations import PERIOD_END, PERIOD_START, generate
from ops_support import alert_receivers  # noqa: F401 (a fixture)
from s3_support import S3Landing, s3_landing_settings, s3_server  # noqa: F401 (a fixture)

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

ROOT = Path(__file__).resolve().parents[1]
FEED_DAGS = [feed.dag_id for feed in FEEDS.values()]
MARTS = "htx_plan_marts"
WORKERS = ("w1", "w2")
BROKEN = {  # the sample's broken deliveries per file feed: left out of the first load
    "tax/to_khai_202411.csv", "lending/vbsp_202405.xlsx",
    "credit_funds/5700778122_2024Q3.json", "annual_reports/bao_cao_nam_2022.csv",
    "plan_targets/chi_tieu_2023.xlsx", "plan_targets/chi_tieu_2022.xlsx",
    "plan_targets/chi_tieu_2021.xlsx"}
BROKEN_TAX = "tax/to_khai_202411.csv"
OPERATOR = "ops"
WAIT_S = 1200   # a bound for a loaded machine; on an idle one each wait takes seconds
FINISHED = ("success", "failed")


class Api:
    """Airflow's REST API as an operator uses it: a token from the login, then /api/v2."""

    def __init__(self, base_url: str, password: str):
        self.base_url = base_url
        answer = requests.post(f"{base_url}/auth/token", timeout=30,
                               json={"username": OPERATOR, "password": password})
        answer.raise_for_status()
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"

    def call(self, method: str, path: str, **kwargs) -> dict:
        answer = self.session.request(method, f"{self.base_url}/api/v2{path}", timeout=60,
                                      **kwargs)
        answer.raise_for_status()
        return answer.json() if answer.content else {}

    def trigger(self, dag_id: str) -> str:
        return self.call("POST", f"/dags/{dag_id}/dagRuns",
                         json={"logical_date": None})["dag_run_id"]

    def runs(self, dag_id: str) -> list[dict]:
        return self.call("GET", f"/dags/{dag_id}/dagRuns",
                         params={"order_by": "run_after", "limit": 100})["dag_runs"]

    def run(self, dag_id: str, run_id: str) -> dict:
        return self.call("GET", f"/dags/{dag_id}/dagRuns/{run_id}")

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        return self.call("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")[
            "task_instances"]

    def queued_asset_events(self, dag_id: str) -> int:
        answer = self.session.get(f"{self.base_url}/api/v2/dags/{dag_id}/assets/queuedEvents",
                                  timeout=60)
        if answer.status_code == 404:
            return 0
        answer.raise_for_status()
        return answer.json()["total_entries"]


@dataclass
class Topology:
    api: Api
    dsn: str
    landing: S3Landing
    running: stack.Stack
    env: dict[str, str]          # what every component got (a CLI on the stack gets it too)
    sample: Path                 # the bundled sample's drops, written locally

    def every_dag_parsed(self) -> bool:
        """True once every project DAG is parsed; a DAG file that fails to import fails the test
        at once, with the import error, instead of after the whole wait."""
        errors = self.api.call("GET", "/importErrors")["import_errors"]
        assert not errors, "a DAG file failed to import: " + "; ".join(
            f"{e['filename']}: {e['stack_trace'][-500:]}" for e in errors)
        parsed = {d["dag_id"] for d in self.api.call("GET", "/dags", params={"limit": 100})["dags"]}
        return parsed >= {*FEED_DAGS, MARTS}

    def wait_until(self, what: str, condition, timeout_s: float = WAIT_S):
        try:
            return self.running.wait_for(condition, timeout_s, what)
        except stack.StackFailed as failed:
            raise AssertionError(f"{failed}\n{self.log_tails()}") from None

    def finished(self, dag_id: str, run_id: str) -> dict:
        return self.wait_until(f"{dag_id} {run_id} finished", lambda: (
            lambda run: run if run["state"] in FINISHED else None)(self.api.run(dag_id, run_id)))

    def marts_settled(self) -> list[dict]:
        """The marts runs, once no feed run and no marts run is queued or running, no Asset
        event waits for one, and the marts hold every publish. (Unpausing a feed queues a
        scheduled run of its latest cron tick behind the triggered one; its publish would
        start a marts run after a settling that looked at the marts alone.)"""
        def settled():
            runs = self.api.runs(MARTS)
            feed_runs = [r for dag_id in FEED_DAGS for r in self.api.runs(dag_id)]
            if self.api.queued_asset_events(MARTS) or any(r["state"] not in FINISHED
                                                          for r in runs + feed_runs):
                return None
            lagging = query(self.dsn, "SELECT count(*) FROM audit.load_batch"
                                      " WHERE status = 'published' AND finished_at >"
                                      " (SELECT coalesce(max(refreshed_at), '-infinity')"
                                      "  FROM mart.refresh_log)")
            return runs if lagging == [(0,)] else None
        return self.wait_until("the marts settled", settled)

    def log_tails(self) -> str:
        return "\n".join(f"--- {path.name}\n{path.read_text(errors='replace')[-1500:]}"
                         for path in sorted(self.running.log_dir.glob("*.log")))


def _component_env(base: dict[str, str], name: str, home: Path) -> dict[str, str]:
    home.mkdir(parents=True, exist_ok=True)
    return {**base, "AIRFLOW_HOME": str(home), "HTX_EXPORT_DIR": str(home / "exports"),
            "HTX_DATA_DOCS_DIR": str(home / "data_docs")}


def _deployment_env(meta_uri: str, warehouse: str, broker: str, api_port: int,
                    landing: S3Landing, registry: str, passwords: Path) -> dict[str, str]:
    """docker-compose.yml's x-airflow-common environment, with this machine's addresses."""
    from cryptography.fernet import Fernet

    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG") if key in os.environ}
    env.update(stack.shared_settings(api_port))
    env.update(landing.settings)
    env.update({
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": meta_uri.replace("postgresql://",
                                                                "postgresql+psycopg2://"),
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + meta_uri,
        "AIRFLOW__CELERY__BROKER_URL": broker,
        "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "true",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "false",
        "AIRFLOW__CORE__DEFAULT_TIMEZONE": "Asia/Ho_Chi_Minh",
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{OPERATOR}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW_CONN_HTX_WAREHOUSE": warehouse,
        "AIRFLOW_CONN_HTX_REGISTRY_API": registry,
        "AIRFLOW_CONN_HTX_ALERT_SMTP": os.environ["AIRFLOW_CONN_HTX_ALERT_SMTP"],
        "AIRFLOW_CONN_HTX_ALERT_WEBHOOK": os.environ["AIRFLOW_CONN_HTX_ALERT_WEBHOOK"],
        "HTX_AIRFLOW_BASE_URL": f"http://127.0.0.1:{api_port}",
        "PYTHONPATH": str(ROOT / "plugins"),
        "GX_ANALYTICS_ENABLED": "False",
        "NO_PROXY": "127.0.0.1,localhost",
        # Other work shares this machine's two cores: a slow answer is not a lost one (5 s).
        "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "60",
    })
    return env


def _start_airflow(running: stack.Stack, base_env: dict[str, str], homes: Path,
                   api_url: str) -> None:
    """As docker-compose.yml orders them: the metadata database migrated first, the API server
    answering before the workers start (a worker whose first task cannot reach the execution
    API leaves it queued until [scheduler] task_queued_timeout, ten minutes)."""
    migrated = subprocess.run(stack.airflow("db", "migrate"), capture_output=True, text=True,
                              env=_component_env(base_env, "init", homes / "init"))
    assert migrated.returncode == 0, migrated.stdout[-2000:] + migrated.stderr[-2000:]
    running.start("api-server", stack.airflow("api-server"),
                  _component_env(base_env, "api-server", homes / "api-server"))
    running.wait_answering(api_url, timeout_s=WAIT_S)
    for name, command in (("scheduler", ["scheduler"]), ("dag-processor", ["dag-processor"]),
                          ("triggerer", ["triggerer", "--skip-serve-logs"])):
        running.start(name, stack.airflow(*command),
                      _component_env(base_env, name, homes / name))
    for worker in WORKERS:
        env = _component_env(base_env, worker, homes / worker)
        env.update({"HTX_TEST_WORKER_NAME": worker,
                    "AIRFLOW__CORE__HOSTNAME_CALLABLE": "topology_worker.hostname",
                    "PYTHONPATH": os.pathsep.join([str(ROOT / "plugins"), str(ROOT / "tests")])})
        running.start(worker, stack.airflow("celery", "worker", "--celery-hostname",
                                            f"{worker}@%h", "--concurrency", "1",
                                            "--skip-serve-logs"), env)


@pytest.fixture(scope="module")
def topology(tmp_path_factory, s3_server, alert_receivers):  # noqa: F811
    from htx.dev.registry_standin import RegistryStandIn

    folder = tmp_path_factory.mktemp("topology")
    meta, warehouse = f"airflow_topo_{uuid.uuid4().hex[:8]}", f"htx_t_{uuid.uuid4().hex[:10]}"
    for name in (meta, warehouse):
        localpg.create_database(SERVER, name)
    migrate(SERVER.uri(warehouse))
    landing = S3Landing(s3_server, "province", s3_landing_settings(s3_server, "province"))
    token = secrets.token_urlsafe(12)
    standin = RegistryStandIn(generate(), token).start()
    password = secrets.token_urlsafe(16)
    (folder / "passwords.json").write_text(json.dumps({OPERATOR: password}))
    running = stack.Stack(folder / "logs")
    try:
        redis_port, api_port = stack.free_port(), stack.free_port()
        running.start("redis", ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1",
                                "--save", "", "--appendonly", "no", "--daemonize", "no"], {})
        env = _deployment_env(
            SERVER.uri(meta), as_dags_login(SERVER.uri(warehouse)),
            f"redis://127.0.0.1:{redis_port}/0",
            api_port, landing, json.dumps({"conn_type": "http", "host": standin.base_url,
                                           "password": token}), folder / "passwords.json")
        api_url = f"http://127.0.0.1:{api_port}"
        _start_airflow(running, env, folder / "homes", api_url)
        running.wait_healthy(api_url, timeout_s=WAIT_S)
        topology = Topology(Api(api_url, password), SERVER.uri(warehouse), landing, running,
                            _component_env(env, "cli", folder / "homes" / "cli"),
                            folder / "sample")
        topology.wait_until("every DAG parsed", topology.every_dag_parsed)
        yield topology
    finally:
        running.stop()
        standin.stop()
        for name in (meta, warehouse):
            localpg.drop_database(SERVER, name)


@pytest.fixture(scope="module")
def first_load(topology):
    """The sample's drops in the bucket (corrected re-sends in place, the broken files left out
    for later); every feed unpaused and triggered through the API; the marts settled."""
    sample.write_drops(topology.sample, generate())
    sample.deliver_resends(topology.sample)
    topology.landing.upload(topology.sample, skip=tuple(BROKEN))
    api = topology.api
    marts_paused_at_creation = api.call("GET", f"/dags/{MARTS}")["is_paused"]
    runs = {}
    for dag_id in FEED_DAGS:
        api.call("PATCH", f"/dags/{dag_id}", json={"is_paused": False})
        runs[dag_id] = api.trigger(dag_id)
    finished = {dag_id: topology.finished(dag_id, run_id) for dag_id, run_id in runs.items()}
    return {"marts_paused_at_creation": marts_paused_at_creation, "feed_runs": finished,
            "marts_runs": topology.marts_settled()}


def test_every_feed_run_and_the_asset_triggered_marts_run_succeed(first_load, topology):
    assert {dag_id: run["state"] for dag_id, run in first_load["feed_runs"].items()} == \
        dict.fromkeys(FEED_DAGS, "success"), topology.log_tails()
    assert first_load["marts_paused_at_creation"] is False
    by_assets = [r for r in first_load["marts_runs"] if r["run_type"] == "asset_triggered"]
    assert by_assets and all(r["state"] == "success" for r in by_assets)
    refreshed_by = {run_id for (run_id,) in query(topology.dsn,
                                                  "SELECT dag_run_id FROM mart.refresh_log")}
    assert refreshed_by & {r["dag_run_id"] for r in by_assets}


def test_the_warehouse_holds_every_seed_figure(first_load, topology):
    values = {(code, breakdown): value for code, breakdown, value in query(
        topology.dsn, "SELECT indicator_code, breakdown, value FROM mart.plan_indicator"
                      " WHERE period_start = %s AND period_end = %s", (PERIOD_START, PERIOD_END))}
    for code, breakdowns in SEED_FIGURES["values"].items():
        for breakdown, expected in breakdowns.items():
            assert float(values[(code, breakdown)]) == pytest.approx(expected, abs=1e-9), (
                code, breakdown)


def test_the_tasks_of_one_run_land_on_both_workers(first_load, topology):
    """Every feed run so far (each feed ran on being unpaused, then on the operator's trigger):
    which worker ran each of its tasks, as the task instances record it."""
    ran_on = {(dag_id, run["dag_run_id"]): {
        ti["hostname"] for ti in topology.api.task_instances(dag_id, run["dag_run_id"])
        if ti["state"] in ("success", "skipped", "failed")}
        for dag_id in FEED_DAGS for run in topology.api.runs(dag_id)}
    assert set().union(*ran_on.values()) == set(WORKERS), ran_on
    assert any(hosts == set(WORKERS) for hosts in ran_on.values()), ran_on


def test_drops_and_landed_copies_are_in_the_bucket(first_load, topology):
    landed = [url for (url,) in query(topology.dsn, "SELECT object_url FROM audit.landed_object")]
    in_bucket = set(topology.landing.keys("_landed/"))
    assert landed and all(url.startswith("s3://") for url in landed)
    assert {url.split("/province/", 1)[1] for url in landed} <= in_bucket
    files = query(topology.dsn, "SELECT count(*) FROM audit.load_batch WHERE feed <> 'registrations'")
    assert files == [(len(topology.landing.keys()) - len(in_bucket),)]


@pytest.fixture(scope="module")
def broken_run(first_load, topology, alert_receivers):  # noqa: F811
    """November's tax file arrives with a renamed column; ops trigger the tax DAG."""
    alert_receivers.clear()
    marts_runs = {r["dag_run_id"] for r in topology.api.runs(MARTS)}
    topology.landing.put(BROKEN_TAX, (topology.sample / BROKEN_TAX).read_bytes())
    tax = FEEDS["tax_declarations"].dag_id
    run = topology.finished(tax, topology.api.trigger(tax))
    topology.wait_until("the alert e-mail and webhook", lambda: alert_receivers.mails
                        and alert_receivers.posts, timeout_s=120)
    return {"run": run, "mails": list(alert_receivers.mails),
            "posts": list(alert_receivers.posts),
            # The tax feed's (the sample's broken plan annexes fail the scheduled runs too).
            "failed_loads": query(topology.dsn, "SELECT source_object, error, run_id, run_url,"
                                                " resolved_by_batch FROM audit.failed_loads"
                                                " WHERE feed = 'tax_declarations'"),
            # New marts runs but the hourly check's, which may fall in these minutes.
            "marts_runs": [(r["run_type"], r["dag_run_id"]) for r in topology.api.runs(MARTS)
                           if r["run_type"] != "scheduled" and r["dag_run_id"] not in marts_runs]}


def test_a_broken_file_fails_its_run_and_reaches_failed_loads_and_the_receivers(broken_run,
                                                                               topology):
    run = broken_run["run"]
    assert run["state"] == "failed"
    (source, error, run_id, run_url, resolved), = broken_run["failed_loads"]
    assert (source, run_id, resolved) == (BROKEN_TAX, run["dag_run_id"], None)
    assert "Doanh thu" in error and "/dags/htx_feed_tax_declarations/runs/manual__" in run_url
    (mail,) = broken_run["mails"]
    assert BROKEN_TAX in mail["Subject"] and "Doanh thu" in mail["Subject"]
    (post,) = broken_run["posts"]
    assert post["json"]["files"] == [BROKEN_TAX] and post["json"]["run_id"] == run["dag_run_id"]
    assert post["json"]["run_url"].startswith(f"{topology.api.base_url}/dags/{run['dag_id']}/")
    assert broken_run["marts_runs"] == []  # no publish, no Asset: the marts keep their state


@pytest.fixture(scope="module")
def recovered(broken_run, topology):
    """The corrected file; `python -m htx recover` run beside the live stack."""
    broken = (topology.sample / BROKEN_TAX).read_bytes()
    topology.landing.put(BROKEN_TAX, broken.replace("Tổng doanh thu".encode(),
                                                    "Doanh thu".encode(), 1))
    refreshes = query(topology.dsn, "SELECT count(*) FROM mart.refresh_log")[0][0]
    marts_runs = {r["dag_run_id"] for r in topology.api.runs(MARTS)}
    done = subprocess.run([sys.executable, "-m", "htx", "recover", "--feed", "tax_declarations"],
                          env=topology.env, cwd=ROOT, capture_output=True, text=True,
                          timeout=WAIT_S)
    topology.marts_settled()
    return {"done": done, "marts_runs": [r for r in topology.api.runs(MARTS)
                                         if r["dag_run_id"] not in marts_runs],
            "refreshes": query(topology.dsn, "SELECT dag_run_id FROM mart.refresh_log"
                                             " ORDER BY refreshed_at OFFSET %s", (refreshes,))}


def test_recover_loads_through_the_workers_and_the_marts_refresh_once(recovered, topology):
    done = recovered["done"]
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "resolved by batch" in done.stdout
    tax = FEEDS["tax_declarations"].dag_id
    (run_id,) = query(topology.dsn, "SELECT run_id FROM audit.load_batch WHERE source_object = %s"
                                    " AND status = 'published'", (BROKEN_TAX,))[0]
    assert {ti["hostname"] for ti in topology.api.task_instances(tax, run_id)} <= set(WORKERS)
    # Once, by the feed's Asset — not a second, in-process run of the marts DAG (the hourly
    # check, which may fall in this minute, refreshes only marts that miss a publish).
    not_hourly = [r for r in recovered["marts_runs"] if r["run_type"] != "scheduled"]
    assert [r["run_type"] for r in not_hourly] == ["asset_triggered"]
    assert [r for r in recovered["refreshes"] if not r[0].startswith("scheduled__")] == [
        (not_hourly[0]["dag_run_id"],)]
