"""`python -m htx <command>`: the project's commands (the Makefile calls these).

  demo         run every DAG once over the bundled sample and print the period's indicators
  up           Airflow (UI, scheduler, dag-processor, triggerer) on 127.0.0.1:8080 against the
               same local warehouse, every htx DAG unpaused
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
import faulthandler
import json
import os
import secrets
import signal
import subprocess
import sys
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from psycopg2 import sql

from htx import db, dictionary, stack
from htx.dag_runs import run_dag
from htx.errors import printable
from htx.exports import NoIndicators, write_period
from htx.feeds.config import FEEDS
from htx.marts import indicators_for, latest_complete_period
from htx.migrate import migrate
from htx.ops import commands as ops_commands
from htx.ops import data_docs
from htx.paths import LOCAL_DIR
from htx.settings import ENV_LANDING_URL, ENV_REGISTRY_API

# Function-local imports: the development tools (htx.dev), which production never imports.


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m htx", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="run every DAG over the bundled sample")
    _period_args(demo)
    up = commands.add_parser("up", help="Airflow UI and scheduler against the local warehouse")
    up.add_argument("--port", type=int, default=8080, help="the UI's and API's port (127.0.0.1)")
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

    ops_commands.add_parsers(commands)
    args = parser.parse_args(argv)
    if (getattr(args, "start", None) is None) != (getattr(args, "end", None) is None):
        parser.error("--start and --end go together")
    if getattr(args, "handler", None):  # the operations commands carry their own handler
        return args.handler(args)
    return {"demo": _demo, "up": _up, "migrate": _migrate, "indicators": _indicators,
            "standin-api": _standin_api, "export": _export,
            "dictionary": _dictionary}[args.command](args)


def _period_args(parser: argparse.ArgumentParser) -> None:
    """A reporting period; by default the latest complete one the marts hold (`demo` over the
    bundled sample: the sample's own, 2024-01-01 … 2024-09-30)."""
    parser.add_argument("--start", type=date.fromisoformat, help="first day, ISO (YYYY-MM-DD)")
    parser.add_argument("--end", type=date.fromisoformat, help="last day, ISO (YYYY-MM-DD)")


def _period(args, over_sample: bool = False) -> tuple[date, date] | None:
    """The period asked for, else the sample's (a demo over the sample), else the latest
    complete period the marts hold (None: they hold none)."""
    from htx.dev.sample.registrations import PERIOD_END, PERIOD_START

    if args.start is not None:
        return args.start, args.end
    return (PERIOD_START, PERIOD_END) if over_sample else latest_complete_period()


def _show_period(period, indicators: bool = True, exports: bool = True,
                 out: Path | None = None) -> int:
    """Print the period's indicators and/or write its exports; a period the marts do not hold
    is named with the latest complete one they do (exit 1), never a traceback."""
    try:
        if period is None:
            raise NoIndicators("mart.plan_indicator holds no indicators yet")
        if indicators:
            _print_indicators(*period)
        if exports:
            _print_exports(*period, out)
    except NoIndicators as err:
        latest = latest_complete_period()
        held = (f"the latest complete period the marts hold is {latest[0]} … {latest[1]}"
                f" (--start {latest[0]} --end {latest[1]})" if latest else "the marts hold none")
        print(f"\nnothing to show: {err}; {held}", file=sys.stderr)
        return 1
    return 0


def _migrate(args) -> int:
    from htx.dev import devenv

    devenv.prepare()
    applied = migrate()
    print(f"warehouse migrated ({len(applied)} new: {', '.join(applied) or 'none'})")
    return 0


def _demo(args) -> int:
    from htx.dev import devenv, sample
    from htx.dev.sample.registrations import generate

    landing_configured = bool(os.environ.get(ENV_LANDING_URL))
    over_sample = not (landing_configured or os.environ.get(ENV_REGISTRY_API))
    devenv.prepare()
    print(f"warehouse: {_redact(os.environ['AIRFLOW_CONN_HTX_WAREHOUSE'])}")
    print(f"landing zone: {os.environ[ENV_LANDING_URL]}")
    devenv.migrate_all()
    file_feeds = [f for f in FEEDS.values() if f.source.kind == "file_drop"]
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

    print(f"\nData Docs (Great Expectations validation results): {data_docs.build()}")
    period = _period(args, over_sample)
    if not over_sample or args.start is not None:
        return _show_period(period)
    from htx.dev.sample.registrations import AFTER_REFORM_END, AFTER_REFORM_START

    # The sample's period, one after the 2025 reform (new map), then the sample period's exports.
    return max(_show_period(period, exports=False),
               _show_period((AFTER_REFORM_START, AFTER_REFORM_END), exports=False),
               _show_period(period, indicators=False))


def _up(args) -> int:
    """The local stack: Airflow's components as separate processes (htx.stack), every DAG of the
    project unpaused, a stand-in of the registration API unless a real one is configured."""
    from htx.dev import devenv

    # `kill -USR1 <pid>` prints where every thread of `up` is (on its standard error).
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    devenv.prepare()
    devenv.migrate_all()
    home = Path(os.environ["AIRFLOW_HOME"])
    env = {**os.environ, **stack.shared_settings(args.port),
           "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False"}
    stack.unpause_project_dags(env)
    # Ctrl-C or SIGTERM stops every component, at any point.
    stack.run_until_stopped(home / "components",
                            lambda running: _start_airflow(running, env, args.port, home))
    return 0


def _start_airflow(running, env: dict[str, str], port: int, home: Path) -> None:
    """Airflow's components (and the registration API's stand-in) started, until healthy."""
    api_url = f"http://127.0.0.1:{port}"
    if not os.environ.get(ENV_REGISTRY_API):
        env[ENV_REGISTRY_API] = _start_registry_standin(running, env)
    for name, command in stack.LOCAL_COMPONENTS.items():
        running.start(name, stack.airflow(*command), env)
        if name == "api-server":   # tasks report to it: it answers before anything runs them
            running.wait_answering(api_url)
    print(f"starting Airflow (logs: {running.log_dir}) …", flush=True)
    running.wait_healthy(api_url)
    print(f"Airflow on {api_url} (login details: {home}/simple_auth_manager_passwords"
          ".json.generated); every htx DAG runs on its schedule. Ctrl-C stops it.", flush=True)


def _start_registry_standin(running, env: dict[str, str]) -> str:
    """The bundled sample served as the registration API; its connection (JSON)."""
    from htx.dev.sample.registrations import generate

    items_file = LOCAL_DIR / "sample" / "registrations.json"
    items_file.parent.mkdir(parents=True, exist_ok=True)
    items_file.write_text(json.dumps(generate(), ensure_ascii=False))
    port = stack.free_port()
    _, token = start_standin_api(port, running, env)
    return json.dumps({"conn_type": "http", "host": f"http://127.0.0.1:{port}", "password": token})


def start_standin_api(port: int, running=None,
                      env: dict[str, str] | None = None) -> tuple[subprocess.Popen, str]:
    """`standin-api` in its own process with a new token, handed over on its standard input
    (htx.stack.popen: never on its command line); one of `running`'s processes (a Stack: its
    log, stopped with it) when given."""
    token = secrets.token_urlsafe(16)
    argv = [sys.executable, "-m", "htx", "standin-api", "--port", str(port)]
    if running is not None:
        return running.start("registry-standin", argv, env, secret_input=token + "\n"), token
    return stack.popen(argv, secret_input=token + "\n"), token


def _standin_api(args) -> int:
    from htx.dev.registry_standin import RegistryStandIn

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
    from htx.dev import devenv

    devenv.prepare()
    return _show_period(_period(args), exports=False)


def _export(args) -> int:
    from htx.dev import devenv

    devenv.prepare()
    return _show_period(_period(args), indicators=False, out=args.out)


def _print_exports(start: date, end: date, out: Path | None = None) -> None:
    written = write_period(start, end, out)
    print(f"\nExports, {start:%d/%m/%Y} … {end:%d/%m/%Y} (from the marts):")
    print(f"  tables (XLSX): {written['xlsx']}")
    print(f"  report (HTML): {written['html']}")


def _dictionary(args) -> int:
    from htx.dev import devenv

    devenv.prepare()
    migrate()   # the comments of every migration, even on a warehouse never migrated before
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
    from htx.dev.registry_standin import RegistryStandIn
    from htx.dev.sample.registrations import generate

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


def _redact(uri: str) -> str:
    head, at, tail = uri.rpartition("@")
    return (head.split(":")[0] + ":" + head.split(":")[1] + ":***@" + tail) if at else uri


def _print_batches() -> None:
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
    print("\nQuarantined rows (quarantine.<feed>): reason — file, row")
    for feed, batch_id, source_object, row, reason in quarantined:
        print(f"  {reason} — {printable(source_object.rsplit('/', 1)[-1])} row {row}"
              f" ({feed} #{batch_id})")


def _print_indicators(start: date, end: date) -> None:
    rows = indicators_for(start, end)
    if not rows:
        raise NoIndicators.for_period(start, end)
    print(f"\nmart.plan_indicator, {start:%d/%m/%Y} … {end:%d/%m/%Y}")
    print(f"  {'indicator':<29} {'breakdown':<28} {'value':>14} {'unit':<11} {'target':>8} "
          f"{'attained %':>10} {'year-end est.':>14} {'est. %':>7}")
    for code, breakdown, value, unit, *planned in rows:
        target, attainment, estimate, estimate_attainment = map(_number_or_blank, planned)
        print(f"  {code:<29} {breakdown:<28} {_number(value):>14} {unit:<11} {target:>8} "
              f"{attainment:>10} {estimate:>14} {estimate_attainment:>7}")


def _number_or_blank(value) -> str:
    return "" if value is None else _number(value)


def _number(value) -> str:
    """Exact in the warehouse; one decimal here when the value is not whole."""
    return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"
