"""National-scale ingest benchmark (issues 7 and 15), written to bench/results.md ("national" section).

`python bench/national.py --rows 1000000 10000000` — for each size, in a fresh scratch database
on the local server (dropped afterwards), on this machine:
  0. the national registry (bench/national_data.py: 35,000 cooperatives, 100 unions, 5,000
     groups, ~51,000 API states) served by the stand-in API and loaded through the
     registrations feed — timed per step;
  (a) PostgreSQL's own COPY of the tax file into a TEMP text table — the floor;
  (b) the platform's full ingest of the same file: the tax feed DAG's four tasks (extract + land,
      validate + stage, merge, publish), timed per step, in a child process whose peak RSS is (e);
  (p), (q) the same file loaded by what a data engineer would otherwise write, on the same
      server: pandas `read_csv` + `to_sql`, and a `dlt` pipeline (bench/peers.py);
  (c) the marts refresh over the registry and the tax rows, full;
  (f) after a VACUUM (ANALYZE) standing for the month's autovacuum, the next month's file (one
      declaration per filer) through feed 2, then the marts refresh as the marts DAG runs it
      after a feed run: incremental (htx.marts_incremental);
then (d) the DAG-folder parse time, once. It writes one section with every size, the ratios and a
verdict per target of the issue. Data files are generated once under bench/data/ (ignored by git)
and reused; each run's landing zone there is deleted afterwards.

While working on it: `--skip-peers` leaves out (p) and (q), `--keep-database` keeps the scratch
database for more refreshes (never in `make bench`).

A guard kills an ingest whose RSS passes --rss-guard-mib (the server is shared): the section
then says the ingest was aborted, and where.
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT / "plugins"))
sys.path.insert(0, str(BENCH))

import report  # noqa: E402
from national_data import COOPERATIVES, build_registry, month_file, tax_file  # noqa: E402

DATA = BENCH / "data"
TARGET_RATIO_1M = 5           # (b) ≤ 5 × (a) at 1,000,000 rows
TARGET_RATIO_10M = 6          # (b) ≤ 6 × (a) at 10,000,000 rows (issue 15)
TARGET_RSS_MIB_10M = 1024     # peak RSS of (b) < 1 GiB at 10,000,000 rows
TARGET_GROWTH_10M = 11        # (b) at 10M ≤ 11 × (b) at 1M
TARGET_MARTS_S = 30
TARGET_MARTS_AFTER_MONTH_S = 5   # (f) the incremental refresh after one monthly file (issue 15)
TARGET_DAG_PARSE_S = 1
PEERS = ("pandas", "dlt")   # bench/peers.py
PEERS_PYTHON = BENCH / ".venv" / "bin" / "python"   # their own venv (Makefile: bench/.venv)
ONE_M, TEN_M = 1_000_000, 10_000_000


def main(argv: list[str] | None = None) -> dict:
    args = _arguments(argv)
    started = report.now()
    from htx.dev import devenv, localpg

    devenv.prepare()
    server = localpg.ensure_running()
    registry = build_registry(args.cooperatives, args.seed)
    files = {}
    for rows in args.rows:
        start = time.perf_counter()
        files[rows] = tax_file(DATA, rows, registry, args.seed)
        print(f"tax file of {rows:,} rows: {files[rows].name}"
              f" ({time.perf_counter() - start:.1f} s)", flush=True)
    month = month_file(DATA, registry, args.seed)
    sizes = []
    with registry_api(registry.items):
        for rows in args.rows:
            sizes.append(measure_size(server, rows, files[rows], month, args))
            print(json.dumps(sizes[-1]), flush=True)
    from run import dag_parse_seconds

    parse = dag_parse_seconds()
    outcome = {"sizes": sizes, "dag_parse_s": parse, "registry": _registry_facts(registry),
               "command": "python bench/national.py " + " ".join(argv or sys.argv[1:]),
               "measured_at": started, "load_average": _load_before(sizes)}
    if not args.no_write:
        report.write_section("national", national_section(outcome),
                             report.machine(), args.results)
    return outcome


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[ONE_M],
                        help="tax-file sizes, each measured in its own scratch database")
    parser.add_argument("--cooperatives", type=int, default=COOPERATIVES)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rss-guard-mib", type=int, default=8192,
                        help="kill an ingest whose RSS passes this (shared machine)")
    parser.add_argument("--results", type=Path, default=report.RESULTS)
    parser.add_argument("--no-write", action="store_true", help="print only")
    # Development only (a run with them is not a benchmark: `make bench` never passes them).
    parser.add_argument("--skip-peers", action="store_true",
                        help="development: leave out the peers (p), (q), minutes of a run")
    parser.add_argument("--keep-database", action="store_true",
                        help="development: keep the scratch database (printed) for more refreshes")
    return parser.parse_args(argv)


@contextmanager
def registry_api(items: list[dict]):
    """The stand-in registration API serving `items`, configured as htx_registry_api."""
    from htx.dev.registry_standin import RegistryStandIn

    token = secrets.token_urlsafe(12)
    standin = RegistryStandIn(items, token).start()
    os.environ["AIRFLOW_CONN_HTX_REGISTRY_API"] = json.dumps(
        {"conn_type": "http", "host": standin.base_url, "password": token})
    try:
        yield standin
    finally:
        standin.stop()


def measure_size(server, rows: int, path: Path, month: Path, args: argparse.Namespace) -> dict:
    """Steps 0, (a), (b), (c) for one tax file, then (f) for the next month's file, in a fresh
    scratch database."""
    from htx.dev import localpg
    from htx.migrate import migrate

    name = f"htx_bench_{uuid.uuid4().hex[:8]}"
    landing = DATA / f"landing-{name}"
    localpg.create_database(server, name)
    dsn = server.uri(name)
    os.environ["AIRFLOW_CONN_HTX_WAREHOUSE"] = dsn
    os.environ["HTX_LANDING_URL"] = str(landing)
    result = {"rows": rows, "file_mb": path.stat().st_size / 1e6, "load_average": report.load_average()}
    guard_mib = args.rss_guard_mib
    peers = () if args.skip_peers else PEERS
    try:
        migrate(dsn)
        result["registry"] = run_ingest("registrations", landing, guard_mib)
        result["raw_copy_s"] = raw_copy_seconds(dsn, path)
        deliver(path, landing)
        result["ingest"] = loaded(run_ingest("tax_declarations", landing, guard_mib), path)
        result["peers"] = {peer: run_peer(peer, path, dsn, landing, guard_mib) for peer in peers}
        result["marts"] = refresh_marts(dsn)
        result["vacuum_s"] = vacuum(dsn)
        deliver(month, landing, "to_khai_202412.csv")
        result["month"] = loaded(run_ingest("tax_declarations", landing, guard_mib), month)
        result["marts_after_month"] = refresh_marts(dsn, incremental=True)
    finally:
        if args.keep_database:
            print(f"scratch database kept: {name}", flush=True)
        else:
            localpg.drop_database(server, name)
        shutil.rmtree(landing, ignore_errors=True)
    return result


def raw_copy_seconds(dsn: str, path: Path) -> float:
    """(a): the file COPYed as it is into a TEMP table of nine text columns."""
    import psycopg2

    conn = psycopg2.connect(dsn)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("CREATE TEMP TABLE raw_tax (c1 text, c2 text, c3 text, c4 text, c5 text,"
                        " c6 text, c7 text, c8 text, c9 text)")
            start = time.perf_counter()
            with open(path, "rb") as f:
                cur.copy_expert("COPY raw_tax FROM STDIN WITH (FORMAT csv, DELIMITER ';',"
                                " HEADER true, ENCODING 'UTF8')", f)
            return time.perf_counter() - start
    finally:
        conn.close()


def vacuum(dsn: str) -> float:
    """What autovacuum does in the month between two monthly files (the refresh deletes and
    rewrites millions of member rows; the members' BRIN index summarizes the new ones then):
    done here at once, timed apart, so that (f) meets the tables as a month later."""
    import psycopg2

    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            start = time.perf_counter()
            cur.execute("VACUUM (ANALYZE)")
            return time.perf_counter() - start
    finally:
        conn.close()


def deliver(path: Path, landing: Path, name: str = "to_khai_202410.csv") -> None:
    """The tax department's drop: the file appears as tax/<name> (a hard link, so a 10M-row file
    is not copied before the measurement; a symbolic link would be refused, as any link in a
    drop folder is)."""
    target = landing / "tax" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    os.link(path.resolve(), target)   # the file itself when `path` is a symbolic link to it


def loaded(ingest: dict, path: Path) -> dict:
    """The tax ingest's result, when it loaded the file: a rejected delivery measured nothing,
    and the run stops rather than report its seconds."""
    if ingest.get("rejected"):
        raise RuntimeError(f"tax file rejected by feed 2, nothing measured (batches"
                           f" {ingest['rejected']}: audit.load_batch has the reason) — {path}")
    return ingest


def run_ingest(feed: str, landing: Path, guard_mib: int, must_succeed: bool = True) -> dict:
    """bench/ingest_child.py in a child process, watched: killed if its RSS passes the guard.
    A run that ends in an error (a refused pull) raises, unless `must_succeed` is False: its
    result then holds the error."""
    return _run_watched(f"ingest-{feed}", [sys.executable, str(BENCH / "ingest_child.py"), feed],
                        landing, guard_mib, must_succeed)


def run_peer(peer: str, path: Path, dsn: str, landing: Path, guard_mib: int) -> dict:
    """(p), (q): bench/peers.py loading the same file in the peers' own venv (PEERS_PYTHON;
    pandas, a runtime package too, runs without it), watched like the ingest."""
    if peer == "dlt" and not PEERS_PYTHON.exists():
        return {"missing": "dlt is not installed (`make bench` makes bench/.venv from"
                           " bench/requirements.txt)"}
    python = PEERS_PYTHON if PEERS_PYTHON.exists() else Path(sys.executable)
    work = landing / f"_bench_{peer}"
    work.mkdir(parents=True, exist_ok=True)
    return _run_watched(peer, [str(python), str(BENCH / "peers.py"), peer, str(path), dsn,
                               str(work)], landing, guard_mib)


def _run_watched(name: str, command: list[str], landing: Path, guard_mib: int,
                 must_succeed: bool = True) -> dict:
    """`<command…> <result.json>` in a child process; its JSON result, or how it was aborted
    when its RSS passed the guard (the server is shared)."""
    logs = landing / "_bench_logs"
    logs.mkdir(parents=True, exist_ok=True)
    out_path, err_path = logs / f"{name}.out", logs / f"{name}.err"
    result_path = logs / f"{name}.json"
    start = time.perf_counter()
    sampled_peak, aborted = 0.0, None
    with open(out_path, "w") as out, open(err_path, "w") as err:
        child = subprocess.Popen([*command, str(result_path)],
                                 stdout=out, stderr=err, env=os.environ.copy())
        while child.poll() is None:
            sampled_peak = max(sampled_peak, _rss_mib(child.pid))
            if sampled_peak > guard_mib:
                child.kill()
                child.wait()
                aborted = (f"killed at {time.perf_counter() - start:.0f} s: RSS passed the"
                           f" {guard_mib:,} MiB guard")
                break
            time.sleep(0.2)
    if aborted:
        return {"aborted": aborted, "peak_rss_mib": sampled_peak,
                "seconds": time.perf_counter() - start}
    if child.returncode != 0 and (must_succeed or not result_path.exists()):
        raise RuntimeError(f"{name} failed:\n{out_path.read_text()[-2000:]}\n"
                           f"{err_path.read_text()[-3000:]}")
    return json.loads(result_path.read_text())


def _rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return 0.0


def refresh_marts(dsn: str, incremental: bool = False) -> dict:
    """(c): a full refresh; (f), `incremental`: the one the marts DAG runs after a feed run. The
    time of each model in it, and the sizes it worked on."""
    import psycopg2
    from htx import marts

    models: dict[str, float] = {}
    start = time.perf_counter()
    with _timed_sql_files(models):
        refreshed = marts.refresh(dsn=dsn, incremental=incremental)
    seconds = time.perf_counter() - start
    conn = psycopg2.connect(dsn)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SELECT (SELECT count(*) FROM core.registration_state),"
                        " (SELECT count(*) FROM core.tax_declaration),"
                        " (SELECT count(*) FROM mart.plan_indicator_members)")
            states, declarations, members = cur.fetchone()
    finally:
        conn.close()
    return {"seconds": seconds, "models": models, "periods": refreshed["periods"],
            "periods_recomputed": refreshed["periods_recomputed"],
            "indicator_rows": refreshed["indicator_rows"], "member_rows": members,
            "registry_states": states, "tax_rows": declarations}


@contextmanager
def _timed_sql_files(timings: dict[str, float]):
    """Time each SQL file the refresh runs (each mart model), inside the one measured refresh:
    `htx.marts` runs them through `htx.db.run_sql_file`, wrapped here for the duration."""
    from htx import db

    original = db.run_sql_file

    def timed(cur, relative, *args, **kwargs):
        start = time.perf_counter()
        try:
            return original(cur, relative, *args, **kwargs)
        finally:
            timings[Path(str(relative)).name] = time.perf_counter() - start

    db.run_sql_file = timed
    try:
        yield
    finally:
        db.run_sql_file = original


def _registry_facts(registry) -> dict:
    return {"items": len(registry.items), "filers": len(registry.filers), **registry.counts}


def _load_before(sizes: list[dict]) -> str:
    return sizes[0]["load_average"] if sizes else report.load_average()


# --- the section ------------------------------------------------------------------------------

def national_section(outcome: dict) -> list[str]:
    sizes, reg = outcome["sizes"], outcome["registry"]
    lines = [
        "## National-scale ingest (issues 7 and 15)", "",
        f"Measured {outcome['measured_at']} by `{outcome['command']}`; load average when it"
        f" started {outcome['load_average']} (the local PostgreSQL server is shared).", "",
        f"Data (`bench/national_data.py`, seeded): a registry of {reg['HTX']:,} cooperatives,"
        f" {reg['LHHTX']:,} unions and {reg['THT']:,} cooperative groups ({reg['items']:,} API"
        f" states, histories included, a few invalid ones), served by the stand-in API and"
        f" loaded through the registrations feed in every scratch database; tax files whose"
        f" taxpayers are {reg['filers']:,} of those cooperatives (one row in 200 from a code the"
        f" registry does not know). Tax codes carry 63 province prefixes; the reference data"
        f" knows only Quảng Ninh's 13 localities, so every head office is one of those.", "",
        "Lending reports (feed 3, 120 XLSX in the issue's example) are not generated: the marts"
        " refresh below runs without lending, credit-fund or annual-report rows.", "",
    ]
    lines += _measures_table(sizes)
    lines += ["", "### Targets", "", "| target | measured | verdict |", "| --- | ---: | --- |"]
    lines += _target_rows(sizes, outcome["dag_parse_s"])
    return lines


def _measures_table(sizes: list[dict]) -> list[str]:
    def row(label: str, cell) -> str:
        return f"| {label} | " + " | ".join(cell(s) for s in sizes) + " |"

    def steps(part: str, step: str):
        return lambda s: (f"{s[part]['steps'][step]:,.2f} s" if "steps" in s[part] else "—")

    def loaded(part: str):
        def cell(s):
            if "published" not in s[part]:
                return "—"
            batches = s[part]["published"]
            rejected = f" ({len(s[part]['rejected'])} batch rejected)" if s[part]["rejected"] else ""
            return (f"{sum(b['rows_loaded'] for b in batches):,} /"
                    f" {sum(b['rows_quarantined'] for b in batches):,}{rejected}")
        return cell

    step_names = ("extract + land", "validate + stage", "merge", "publish")
    return [
        "| measure | " + " | ".join(f"{s['rows']:,} rows" for s in sizes) + " |",
        "| --- |" + " ---: |" * len(sizes),
        row("tax file", lambda s: f"{s['file_mb']:,.1f} MB"),
        row("registry load through feed 1 (total)", lambda s: _seconds(s["registry"])),
        *[row(f"&nbsp;&nbsp;registry: {n}", steps("registry", n)) for n in step_names],
        row("registry states loaded / quarantined", loaded("registry")),
        row("**(a)** raw COPY of the tax file into a TEMP text table",
            lambda s: f"{s['raw_copy_s']:,.2f} s"),
        row("**(b)** platform's full tax ingest (the DAG's four tasks)",
            lambda s: _seconds(s["ingest"])),
        *[row(f"&nbsp;&nbsp;(b): {n}", steps("ingest", n)) for n in step_names],
        row("**(b)/(a)**", lambda s: f"{_ratio(s):,.1f}" if _ratio(s) else "—"),
        row("**(p)** pandas `read_csv` + `to_sql`, plain table (bench/peers.py) · /(a)",
            lambda s: _peer(s, "pandas")),
        row("**(q)** `dlt` pipeline into PostgreSQL (bench/peers.py) · /(a)",
            lambda s: _peer(s, "dlt")),
        row("&nbsp;&nbsp;peak RSS of (p) · (q)",
            lambda s: " · ".join(f"{s['peers'][p]['peak_rss_mib']:,.0f} MiB"
                                 if "peak_rss_mib" in s["peers"][p] else "—" for p in PEERS)),
        row("tax rows loaded / quarantined", loaded("ingest")),
        row("**(e)** peak RSS of (b)", lambda s: f"{s['ingest']['peak_rss_mib']:,.0f} MiB"),
        row("**(c)** marts refresh, full", lambda s: f"{s['marts']['seconds']:,.2f} s"),
        row("&nbsp;&nbsp;slowest mart models", _slowest_models),
        row("&nbsp;&nbsp;periods · indicator rows · member rows",
            lambda s: f"{s['marts']['periods']:,} · {s['marts']['indicator_rows']:,} ·"
                      f" {s['marts']['member_rows']:,}"),
        row("`VACUUM (ANALYZE)` after (c), as autovacuum within the month",
            lambda s: f"{s['vacuum_s']:,.2f} s" if "vacuum_s" in s else "—"),
        row("next month's file (one declaration per filer) through feed 2",
            lambda s: _seconds(s["month"]) if "month" in s else "—"),
        row("**(f)** marts refresh after it, incremental (as the marts DAG runs it)",
            lambda s: (f"{s['marts_after_month']['seconds']:,.2f} s"
                       f" ({s['marts_after_month']['periods_recomputed']:,} of"
                       f" {s['marts_after_month']['periods']:,} periods)")
            if "marts_after_month" in s else "—"),
        row("&nbsp;&nbsp;slowest mart models of (f)",
            lambda s: _slowest_models(s, part="marts_after_month")
            if "marts_after_month" in s else "—"),
    ]


def _peer(size: dict, peer: str) -> str:
    found = size["peers"][peer]
    if "missing" in found:
        return f"not measured: {found['missing']}"
    if "aborted" in found:
        return f"aborted ({found['aborted']})"
    return f"{found['seconds']:,.2f} s · {found['seconds'] / size['raw_copy_s']:,.1f}×"


def _slowest_models(size: dict, count: int = 3, part: str = "marts") -> str:
    models = sorted(size[part]["models"].items(), key=lambda m: -m[1])[:count]
    return "<br>".join(f"`{name}` {seconds:,.1f} s" for name, seconds in models)


def _seconds(part: dict) -> str:
    if "aborted" in part:
        return f"aborted ({part['aborted']})"
    return f"{part['seconds']:,.2f} s"


def _ratio(size: dict) -> float | None:
    if "aborted" in size["ingest"]:
        return None
    return size["ingest"]["seconds"] / size["raw_copy_s"]


def _target_rows(sizes: list[dict], parse: list[float]) -> list[str]:
    by_rows = {s["rows"]: s for s in sizes}
    one, ten = by_rows.get(ONE_M), by_rows.get(TEN_M)
    rows = []
    ratio = _ratio(one) if one else None
    rows.append(f"| 1,000,000 rows: (b) ≤ {TARGET_RATIO_1M} × (a) |"
                f" {_shown(ratio, '×')} | {report.verdict(ratio, TARGET_RATIO_1M)} |")
    ratio = _ratio(ten) if ten else None
    rows.append(f"| 10,000,000 rows: (b) ≤ {TARGET_RATIO_10M} × (a) |"
                f" {_shown(ratio, '×')} | {report.verdict(ratio, TARGET_RATIO_10M)} |")
    rss = ten["ingest"]["peak_rss_mib"] if ten else None
    rss_verdict = report.verdict(rss, TARGET_RSS_MIB_10M, " MiB", strict=True)
    if ten and "aborted" in ten["ingest"]:
        rss_verdict = f"missed: {ten['ingest']['aborted']}"
    rows.append(f"| 10,000,000 rows: peak RSS of (b) < 1 GiB | {_shown(rss, ' MiB', 0)} |"
                f" {rss_verdict} |")
    growth = None
    if one and ten and "aborted" not in one["ingest"] and "aborted" not in ten["ingest"]:
        growth = ten["ingest"]["seconds"] / one["ingest"]["seconds"]
    rows.append(f"| 10,000,000 rows: (b) ≤ {TARGET_GROWTH_10M} × (b) at 1,000,000 |"
                f" {_shown(growth, '×')} | {report.verdict(growth, TARGET_GROWTH_10M)} |")
    largest = max(sizes, key=lambda s: s["rows"]) if sizes else None
    refresh = largest["marts"]["seconds"] if largest else None
    label = (f" (registry of {largest['marts']['registry_states']:,} states,"
             f" {largest['marts']['tax_rows']:,} tax rows)" if largest else "")
    rows.append(f"| marts refresh over national-scale data < {TARGET_MARTS_S} s{label} |"
                f" {_shown(refresh, ' s', 2)} |"
                f" {report.verdict(refresh, TARGET_MARTS_S, ' s', strict=True)} |")
    after = largest.get("marts_after_month", {}).get("seconds") if largest else None
    rows.append(f"| marts refresh after one monthly tax file < {TARGET_MARTS_AFTER_MONTH_S} s"
                f"{label} | {_shown(after, ' s', 2)} |"
                f" {report.verdict(after, TARGET_MARTS_AFTER_MONTH_S, ' s', strict=True)} |")
    median = sorted(parse)[len(parse) // 2] if parse else None
    rows.append(f"| all DAG files parse < {TARGET_DAG_PARSE_S} s (median of {len(parse)}) |"
                f" {_shown(median, ' s', 3)} |"
                f" {report.verdict(median, TARGET_DAG_PARSE_S, ' s', strict=True)} |")
    return rows


def _shown(value: float | None, unit: str, digits: int = 1) -> str:
    return "—" if value is None else f"{value:,.{digits}f}{unit}"


if __name__ == "__main__":
    main()
