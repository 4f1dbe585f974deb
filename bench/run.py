"""Benchmarks (targets live here, never in timed unit tests). Writes bench/results.md.

Measured now: DAG-folder parse time, the registrations feed over the bundled sample
(extract → land → validate → stage → merge → publish, the same functions the DAG runs) plus the
marts refresh, and the peak memory of feed runs over hostile deliveries (bench/hostile_memory.py,
issue 11). bench/national.py writes the national-scale section (issue 7) of the same file;
this script replaces only its own ("run", see bench/report.py).

Run: `make bench` (uses the local PostgreSQL; a scratch database is created and dropped).
"""
from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugins"))
sys.path.insert(0, str(ROOT / "bench"))

import hostile_memory  # noqa: E402
import national  # noqa: E402  (its stand-in registry API)
import report  # noqa: E402


def dag_parse_seconds(repeats: int = 5) -> list[float]:
    code = ("import time, runpy, glob, sys\n"
            f"sys.path.insert(0, {str(ROOT / 'plugins')!r})\n"
            "import airflow.sdk\n"
            "t = time.perf_counter()\n"
            f"[runpy.run_path(f) for f in sorted(glob.glob({str(ROOT / 'dags' / '*.py')!r}))]\n"
            "print(time.perf_counter() - t)\n")
    return [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                 check=True).stdout.strip().splitlines()[-1])
            for _ in range(repeats)]


def sample_ingest_seconds() -> dict[str, float]:
    from htx import devenv, localpg, marts, pipeline
    from htx.migrate import migrate
    from htx.sample.registrations import generate

    server = localpg.ensure_running()
    name = f"htx_bench_{uuid.uuid4().hex[:8]}"
    localpg.create_database(server, name)
    os.environ["AIRFLOW_CONN_HTX_WAREHOUSE"] = server.uri(name)
    landing = ROOT / ".local" / "bench-landing"
    os.environ["HTX_LANDING_URL"] = str(landing)
    devenv.prepare()
    try:
        migrate(server.uri(name))
        with national.registry_api(generate()):
            return _timed_sample_ingest(pipeline, marts)
    finally:
        localpg.drop_database(server, name)
        shutil.rmtree(landing, ignore_errors=True)   # scratch, like the database


def _timed_sample_ingest(pipeline, marts) -> dict[str, float]:
    timings = {}
    run = pipeline.RunInfo("bench", uuid.uuid4().hex)
    t = time.perf_counter()
    (batch,) = pipeline.extract_to_landing("registrations", run)
    timings["extract + land"] = time.perf_counter() - t
    t = time.perf_counter()
    pipeline.validate_and_stage("registrations", batch)
    timings["parse + validate + stage (incl. GX start-up)"] = time.perf_counter() - t
    t = time.perf_counter()
    pipeline.merge_into_core("registrations", batch)
    pipeline.publish("registrations", batch)
    timings["merge + publish"] = time.perf_counter() - t
    t = time.perf_counter()
    marts.refresh()
    timings["marts refresh"] = time.perf_counter() - t
    return timings


def main() -> None:
    parse = dag_parse_seconds()
    ingest = sample_ingest_seconds()
    hostile = hostile_memory.measure()
    lines = [
        "## DAG-folder parse time (target: under 1 s for all DAG files)", "",
        f"Measured {report.now()} (load average {report.load_average()}):"
        f" median {statistics.median(parse):.3f} s over {len(parse)} runs"
        f" (max {max(parse):.3f} s), after `import airflow.sdk`"
        f" — {report.verdict(statistics.median(parse), 1, ' s', strict=True)}.", "",
        "## Registrations feed over the bundled sample (1,336 API items)", "",
        "| step | seconds |", "| --- | ---: |",
        *[f"| {step} | {seconds:.2f} |" for step, seconds in ingest.items()],
        "", *hostile_memory.section(hostile, scale=1.0),
    ]
    report.write_section("run", lines, report.machine())
    print("\n".join(lines))


if __name__ == "__main__":
    main()
