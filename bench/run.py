"""Benchmarks (targets live here, never in timed unit tests). Writes bench/results.md.

Measured now: DAG-folder parse time, and the registrations feed over the bundled sample
(extract → land → validate → stage → merge → publish, the same functions the DAG runs) plus the
marts refresh. National-scale ingest (issue 7) will add its own sections.

Run: `make bench` (uses the local PostgreSQL; a scratch database is created and dropped).
"""
from __future__ import annotations

import json
import os
import platform
import secrets
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugins"))


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
    from htx.registry_api.standin import RegistryStandIn
    from htx.sample.registrations import generate

    server = localpg.ensure_running()
    name = f"htx_bench_{uuid.uuid4().hex[:8]}"
    localpg.create_database(server, name)
    os.environ["AIRFLOW_CONN_HTX_WAREHOUSE"] = server.uri(name)
    os.environ["HTX_LANDING_URL"] = str(ROOT / ".local" / "bench-landing")
    devenv.prepare()
    try:
        migrate(server.uri(name))
        token = secrets.token_urlsafe(8)
        standin = RegistryStandIn(generate(), token).start()
        os.environ["AIRFLOW_CONN_HTX_REGISTRY_API"] = json.dumps(
            {"conn_type": "http", "host": standin.base_url, "password": token})
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
        standin.stop()
        return timings
    finally:
        localpg.drop_database(server, name)


def main() -> None:
    parse = dag_parse_seconds()
    ingest = sample_ingest_seconds()
    lines = [
        "# Benchmark results", "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()},"
        f" {platform.platform()}.", "",
        "## DAG-folder parse time (target: under 1 s for all DAG files)", "",
        f"median {statistics.median(parse):.3f} s over {len(parse)} runs"
        f" (max {max(parse):.3f} s), after `import airflow.sdk`.", "",
        "## Registrations feed over the bundled sample (1,336 API items)", "",
        "| step | seconds |", "| --- | ---: |",
        *[f"| {step} | {seconds:.2f} |" for step, seconds in ingest.items()], "",
    ]
    (ROOT / "bench" / "results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
