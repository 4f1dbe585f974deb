"""`python -m htx <command>`: the project's commands (the Makefile calls these).

  demo         run every DAG once over the bundled sample and print the period's indicators
  up           Airflow UI + scheduler on 127.0.0.1:8080 against the same local warehouse
  migrate      apply warehouse migrations and reload reference data
  indicators   print mart.plan_indicator for one period
  standin-api  serve the bundled sample as the registration API (for `up`)
  export       write one period's XLSX tables and HTML report from the marts
  dictionary   write docs/data_dictionary.md from the warehouse's comments
  health, failures, quarantine, revalidate, replay, recover, data-docs
               operations (htx.ops.commands; docs/runbook.md)
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
from pathlib import Path

from htx.errors import printable, with_object
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
    standin = commands.add_parser(
        "standin-api", help="serve the sample as the registration API (the token on stdin)")
    standin.add_argument("--port", type=int, default=8765)
    export = commands.add_parser("export", help="one period's XLSX tables and HTML report")
    _period_args(export)
    export.add_argument("--out", type=Path, help="folder (default: HTX_EXPORT_DIR, .local/exports)")
    dictionary = commands.add_parser("dictionary", help="docs/data_dictionary.md from the comments")
    dictionary.add_argument("--out", type=Path, help="file (default: docs/data_dictionary.md)")
    from htx.ops import commands as ops_commands

    ops_commands.add_parsers(commands)
    args = parser.parse_args(argv)
    if getattr(args, "handler", None):  # the operations commands carry their own handler
        return args.handler(args)
    return {"demo": _demo, "up": _up, "migrate": _migrate, "indicators": _indicators,
            "standin-api": _standin_api, "export": _export,
            "dictionary": _dictionary}[args.command](args)


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
    from pathlib import Path

    from htx import devenv, sample
    from htx.feeds.config import FEEDS
    from htx.sample.registrations import generate
    from htx.settings import ENV_LANDING_URL

    landing_configured = bool(os.environ.get(ENV_LANDING_URL))
    devenv.prepare()
    print(f"warehouse: {_redact(os.environ['AIRFLOW_CONN_HTX_WAREHOUSE'])}")
    print(f"landing zone: {os.environ[ENV_LANDING_URL]}")
    devenv.migrate_all()
    file_feeds = [f for f in FEEDS.values() if f.source == "file_drop"]
    with sample_registry_api():
        run_dag(FEEDS["registrations"].dag_id)
    if not landing_configured:  # never write sample files into a real landing zone
        root = Path(os.environ[ENV_LANDING_URL])
        written = sample.write_drops(root, generate())
        print(f"sample file drops written: {len(written)} under {root}")
    for feed in file_feeds:
        run_dag(feed.dag_id, must_succeed=False)
    if not landing_configured:
        resent = sample.deliver_resends(Path(os.environ[ENV_LANDING_URL]))
        print(f"corrected files re-sent: {', '.join(resent) or 'none'}")
        for feed in file_feeds:
            run_dag(feed.dag_id, must_succeed=False)
    run_dag("htx_plan_marts")
    _print_batches()
    from htx.ops import data_docs

    print(f"\nData Docs (Great Expectations validation results): {data_docs.build()}")
    _print_indicators(args.start, args.end)
    _print_exports(args.start, args.end)
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
        standin, token = start_standin_api(STANDIN_PORT)
        os.environ[ENV_REGISTRY_API] = json.dumps(
            {"conn_type": "http", "host": f"http://127.0.0.1:{STANDIN_PORT}", "password": token})
    print("Airflow on http://127.0.0.1:8080 (login details: .local/airflow/"
          "simple_auth_manager_passwords.json.generated)")
    try:
        return subprocess.call(["airflow", "standalone"])
    finally:
        if standin:
            standin.terminate()


STANDIN_PORT = 8765


def start_standin_api(port: int) -> tuple[subprocess.Popen, str]:
    """`standin-api` in its own process with a new token, handed over on its standard input:
    a command line is visible to every local user (`ps`), a pipe to no one."""
    token = secrets.token_urlsafe(16)
    process = subprocess.Popen([sys.executable, "-m", "htx", "standin-api", "--port", str(port)],
                               stdin=subprocess.PIPE, text=True)
    process.stdin.write(token + "\n")
    process.stdin.close()
    return process, token


def _standin_api(args) -> int:
    from htx.paths import LOCAL_DIR
    from htx.registry_api.standin import RegistryStandIn

    token = sys.stdin.readline().strip()
    if not token:
        print("standin-api: give the bearer token on standard input", file=sys.stderr)
        return 2
    items = json.loads((LOCAL_DIR / "sample" / "registrations.json").read_text())
    server = RegistryStandIn(items, token, port=args.port)
    print(f"registration API stand-in on {server.base_url}", flush=True)
    server.server.serve_forever()
    return 0


def _indicators(args) -> int:
    from htx import devenv

    devenv.prepare()
    _print_indicators(args.start, args.end)
    return 0


def _export(args) -> int:
    from htx import devenv
    from htx.exports import NoIndicators

    devenv.prepare()
    try:
        _print_exports(args.start, args.end, args.out)
    except NoIndicators as err:
        print(f"nothing exported: {err}", file=sys.stderr)
        return 1
    return 0


def _print_exports(start: date, end: date, out: Path | None = None) -> None:
    from htx.exports import write_period

    written = write_period(start, end, out)
    print(f"\nExports, {start:%d/%m/%Y} … {end:%d/%m/%Y} (from the marts):")
    print(f"  tables (XLSX): {written['xlsx']}")
    print(f"  report (HTML): {written['html']}")


def _dictionary(args) -> int:
    from htx import devenv, dictionary

    devenv.prepare()
    path = dictionary.write(args.out or dictionary.DOC_PATH)
    print(f"data dictionary written: {path}")
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


def run_dag(dag_id: str, must_succeed: bool = True):
    """Run one DAG to completion through Airflow (`dag.test()`). A run that did not succeed
    raises, or (must_succeed=False: the demo's deliberately broken files) is reported."""
    from airflow.dag_processing.dagbag import DagBag

    from htx.paths import DAGS_DIR

    bag = DagBag(dag_folder=str(DAGS_DIR))
    if bag.import_errors:
        raise RuntimeError(f"DAG import errors: {bag.import_errors}")
    run = bag.dags[dag_id].test()
    state = str(getattr(run.state, "value", run.state))
    print(f"DAG {dag_id}: {state}")
    if state != "success":
        if must_succeed:
            raise RuntimeError(f"DAG {dag_id} run {run.run_id} ended {state}")
        _print_rejections(dag_id, run.run_id)
    return run


def _print_rejections(dag_id: str, run_id: str) -> None:
    from htx import db

    with db.transaction() as conn, conn.cursor() as cur:
        cur.execute("SELECT source_object, error FROM audit.load_batch WHERE dag_id = %s"
                    " AND run_id = %s AND status IN ('rejected', 'failed')", (dag_id, run_id))
        for source_object, error in cur.fetchall():
            print(f"  not loaded: {with_object(error or '', source_object)}")


def _redact(uri: str) -> str:
    head, at, tail = uri.rpartition("@")
    return (head.split(":")[0] + ":" + head.split(":")[1] + ":***@" + tail) if at else uri


def _print_batches() -> None:
    from psycopg2 import sql

    from htx import db
    from htx.feeds.config import FEEDS

    quarantine = sql.SQL(" UNION ALL ").join(
        sql.SQL("SELECT {}, batch_id, source_object, source_row, reason FROM {}").format(
            sql.Literal(feed.name), db.qualified(feed.quarantine_table))
        for feed in FEEDS.values())
    with db.transaction() as conn, conn.cursor() as cur:
        cur.execute("SELECT batch_id, feed, status, source_object, rows_in, rows_loaded,"
                    " rows_quarantined FROM audit.load_batch ORDER BY batch_id")
        batches = cur.fetchall()
        cur.execute(sql.SQL("SELECT * FROM ({}) q ORDER BY 1, 2, 4").format(quarantine))
        quarantined = cur.fetchall()
    print("\nLoad batches (audit.load_batch): rows in = loaded + quarantined")
    for batch_id, feed, status, source, rows_in, loaded, bad in batches:
        counts = f"in {rows_in}, loaded {loaded}, quarantined {bad}" if rows_in is not None else ""
        print(f"  #{batch_id:<3} {feed:<20} {status:<9} {printable(source)[:48]:<48} {counts}")
    print("\nQuarantined rows (quarantine.<feed>): file, row, reason")
    for feed, batch_id, source_object, row, reason in quarantined:
        print(f"  {feed} #{batch_id} {source_object.rsplit('/', 1)[-1]} row {row}: {reason}")


def _print_indicators(start: date, end: date) -> None:
    from htx.marts import indicators_for

    rows = indicators_for(start, end)
    print(f"\nmart.plan_indicator, {start:%d/%m/%Y} … {end:%d/%m/%Y}")
    print(f"  {'indicator':<29} {'breakdown':<28} {'value':>14} {'unit':<11} {'target':>8} "
          f"{'attained %':>10}")
    for code, breakdown, value, unit, target, attainment in rows:
        print(f"  {code:<29} {breakdown:<28} {_number(value):>14} {unit:<11} "
              f"{_number(target) if target is not None else '':>8} "
              f"{_number(attainment) if attainment is not None else '':>10}")
    if not rows:
        print("  (no indicators for this period)")


def _number(value) -> str:
    """Exact in the warehouse; one decimal here when the value is not whole."""
    return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"
