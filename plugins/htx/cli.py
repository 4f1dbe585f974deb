"""`python -m htx <command>`: the project's commands (the Makefile calls these).

  demo         run every DAG once over the bundled sample and print the period's indicators
  up           Airflow UI + scheduler on 127.0.0.1:8080 against the same local warehouse
  migrate      apply warehouse migrations and reload reference data
  indicators   print mart.plan_indicator for one period
  standin-api  serve the bundled sample as the registration API (for `up`)
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
from contextlib import contextmanager
from datetime import date

from htx.settings import ENV_REGISTRY_API


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m htx", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="run every DAG over the bundled sample")
    _period_args(demo)
    commands.add_parser("up", help="Airflow UI and scheduler against the local warehouse")
    commands.add_parser("migrate", help="apply warehouse migrations")
    indicators = commands.add_parser("indicators", help="print one period's indicators")
    _period_args(indicators)
    standin = commands.add_parser("standin-api", help="serve the sample as the registration API")
    standin.add_argument("--port", type=int, default=8765)
    standin.add_argument("--token", required=True)
    args = parser.parse_args(argv)
    return {"demo": _demo, "up": _up, "migrate": _migrate, "indicators": _indicators,
            "standin-api": _standin_api}[args.command](args)


def _period_args(parser: argparse.ArgumentParser) -> None:
    from htx.sample.registrations import PERIOD_END, PERIOD_START

    parser.add_argument("--start", type=date.fromisoformat, default=PERIOD_START)
    parser.add_argument("--end", type=date.fromisoformat, default=PERIOD_END)


def _migrate(args) -> int:
    from htx import devenv
    from htx.migrate import migrate

    devenv.prepare()
    applied = migrate()
    print(f"warehouse migrated ({len(applied)} new: {', '.join(applied) or 'none'})")
    return 0


def _demo(args) -> int:
    from htx import devenv
    from htx.feeds.config import FEEDS

    settings = devenv.prepare()
    print(f"warehouse: {_redact(os.environ['AIRFLOW_CONN_HTX_WAREHOUSE'])}")
    print(f"landing zone: {os.environ['HTX_LANDING_URL']}")
    devenv.migrate_all()
    with sample_registry_api():
        for feed in FEEDS.values():
            run_dag(feed.dag_id)
        run_dag("htx_plan_marts")
    _print_batches()
    _print_indicators(args.start, args.end)
    return 0


def _up(args) -> int:
    from htx import devenv
    from htx.sample.registrations import generate

    devenv.prepare()
    devenv.migrate_all()
    standin = None
    if not os.environ.get(ENV_REGISTRY_API):
        from htx.paths import LOCAL_DIR

        items_file = LOCAL_DIR / "sample" / "registrations.json"
        items_file.parent.mkdir(parents=True, exist_ok=True)
        items_file.write_text(json.dumps(generate(), ensure_ascii=False))
        token = secrets.token_urlsafe(16)
        standin = subprocess.Popen([sys.executable, "-m", "htx", "standin-api", "--port", "8765",
                                    "--token", token])
        os.environ[ENV_REGISTRY_API] = json.dumps(
            {"conn_type": "http", "host": "http://127.0.0.1:8765", "password": token})
    print("Airflow on http://127.0.0.1:8080 (login details: .local/airflow/"
          "simple_auth_manager_passwords.json.generated)")
    try:
        return subprocess.call(["airflow", "standalone"])
    finally:
        if standin:
            standin.terminate()


def _standin_api(args) -> int:
    from htx.paths import LOCAL_DIR
    from htx.registry_api.standin import RegistryStandIn

    items = json.loads((LOCAL_DIR / "sample" / "registrations.json").read_text())
    server = RegistryStandIn(items, args.token, port=args.port)
    print(f"registration API stand-in on {server.base_url}", flush=True)
    server.server.serve_forever()
    return 0


def _indicators(args) -> int:
    from htx import devenv

    devenv.prepare()
    _print_indicators(args.start, args.end)
    return 0


@contextmanager
def sample_registry_api():
    """The local stand-in of the registration API serving the bundled sample, unless a real
    `htx_registry_api` connection is configured. It opens with a 429 and a 503, which the
    extractor must ride out."""
    if os.environ.get(ENV_REGISTRY_API):
        yield None
        return
    from htx.registry_api.standin import RegistryStandIn
    from htx.sample.registrations import generate

    token = secrets.token_urlsafe(16)
    standin = RegistryStandIn(generate(), token).start()
    standin.queue_faults({"status": 429, "retry_after": 1}, {"status": 503})
    os.environ[ENV_REGISTRY_API] = json.dumps(
        {"conn_type": "http", "host": standin.base_url, "password": token})
    try:
        yield standin
    finally:
        del os.environ[ENV_REGISTRY_API]
        standin.stop()


def run_dag(dag_id: str):
    """Run one DAG to completion through Airflow (`dag.test()`); raise if it did not succeed."""
    from airflow.dag_processing.dagbag import DagBag

    from htx.paths import DAGS_DIR

    bag = DagBag(dag_folder=str(DAGS_DIR))
    if bag.import_errors:
        raise RuntimeError(f"DAG import errors: {bag.import_errors}")
    run = bag.dags[dag_id].test()
    state = str(getattr(run.state, "value", run.state))
    print(f"DAG {dag_id}: {state}")
    if state != "success":
        raise RuntimeError(f"DAG {dag_id} run {run.run_id} ended {state}")
    return run


def _redact(uri: str) -> str:
    head, at, tail = uri.rpartition("@")
    return (head.split(":")[0] + ":" + head.split(":")[1] + ":***@" + tail) if at else uri


def _print_batches() -> None:
    from htx import db

    with db.transaction() as conn, conn.cursor() as cur:
        cur.execute("SELECT batch_id, feed, status, rows_in, rows_loaded, rows_quarantined"
                    " FROM audit.load_batch ORDER BY batch_id DESC LIMIT 10")
        batches = cur.fetchall()
        cur.execute("SELECT 'registrations', batch_id, source_object, source_row, reason"
                    " FROM quarantine.registrations ORDER BY batch_id DESC, source_row LIMIT 10")
        quarantined = cur.fetchall()
    print("\nLoad batches (audit.load_batch): rows in = loaded + quarantined")
    for batch_id, feed, status, rows_in, loaded, bad in batches:
        print(f"  #{batch_id:<4} {feed:<14} {status:<10} in {rows_in}  loaded {loaded}  "
              f"quarantined {bad}")
    print("Quarantined rows (quarantine.*), latest:")
    for feed, batch_id, source_object, row, reason in quarantined:
        print(f"  {feed} batch {batch_id}, {source_object.rsplit('/', 1)[-1]} item {row}: {reason}")


def _print_indicators(start: date, end: date) -> None:
    from htx.marts import indicators_for

    rows = indicators_for(start, end)
    print(f"\nmart.plan_indicator, {start:%d/%m/%Y} … {end:%d/%m/%Y}")
    print(f"  {'indicator':<22} {'breakdown':<28} {'value':>14} {'unit':<11} {'target':>8} "
          f"{'attained %':>10}")
    for code, breakdown, value, unit, target, attainment in rows:
        print(f"  {code:<22} {breakdown:<28} {_number(value):>14} {unit:<11} "
              f"{_number(target) if target is not None else '':>8} "
              f"{_number(attainment) if attainment is not None else '':>10}")
    if not rows:
        print("  (no indicators for this period)")


def _number(value) -> str:
    """Exact in the warehouse; one decimal here when the value is not whole."""
    return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"
