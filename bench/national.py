"""National-scale ingest benchmark (issue 7): tax declarations in the contract's format.

For one generated file of N rows it measures, on this machine:
  (a) PostgreSQL's own COPY of the file into a text table — the floor;
  (b) the platform's full ingest of the same file (land → parse → validate → stage → merge →
      publish: the functions the DAG runs), in a child process whose peak RSS is (e);
  (c) the marts refresh over the result;
and prints (b)/(a). `python bench/national.py --rows 1000000` (data under bench/data/, ignored
by git; a scratch database on the local server, dropped afterwards).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugins"))
DATA = ROOT / "bench" / "data"

HEADER = ("Mã số thuế;Tên người nộp thuế;Mẫu tờ khai;Kỳ tính thuế;Lần nộp;Ngày nộp;Doanh thu;"
          "Lợi nhuận trước thuế;Số thuế phải nộp")


def _vn_number(value: int) -> str:
    return f"{value:,}".replace(",", ".")


def generate_tax_file(rows: int, cooperatives: int = 35_000, seed: int = 7) -> Path:
    """`rows` declarations of `cooperatives` taxpayers for 2024, monthly and quarterly VAT and
    yearly CIT, some branches and amendments — the shape of a national monthly export."""
    from stdnum.vn import mst

    path = DATA / f"to_khai_{rows}.csv"
    if path.exists():
        return path
    DATA.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    codes = []
    while len(codes) < cooperatives:
        prefix = f"{rng.randint(1, 99):02d}{rng.randrange(10**7):07d}"
        check = mst.calc_check_digit(prefix)
        if len(check) == 1:
            codes.append(prefix + check)
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write(HEADER + "\n")
        for i in range(rows):
            code = codes[i % cooperatives]
            if i % 50 == 0:
                code += f"-{rng.randint(1, 20):03d}"
            kind = rng.random()
            if kind < 0.8:
                form, period = "01/GTGT", f"{rng.randint(1, 12):02d}/2024"
            elif kind < 0.95:
                form, period = "01/GTGT", f"Q{rng.randint(1, 4)}/2024"
            else:
                form, period = "03/TNDN", "2023"
            revenue = rng.randint(1, 5 * 10**9)
            profit = _vn_number(rng.randint(-10**8, 10**9)) if form == "03/TNDN" else ""
            out.write(f"{code};Hợp tác xã số {i % cooperatives};{form};{period};"
                      f"{1 if i % 97 == 0 else 0};{rng.randint(1, 28):02d}/10/2024;"
                      f"{_vn_number(revenue)};{profit};{_vn_number(revenue // 10)}\n")
    return path


def raw_copy_seconds(dsn: str, path: Path) -> float:
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


_INGEST = """
import json, sys, time, uuid
sys.path.insert(0, {plugins!r})
from htx import pipeline
run = pipeline.RunInfo("bench", uuid.uuid4().hex)
t = time.perf_counter()
batches = pipeline.extract_to_landing("tax_declarations", run)
pipeline.stage_batches("tax_declarations", batches)
pipeline.merge_batches("tax_declarations", batches)
pipeline.publish_batches("tax_declarations", batches)
print(json.dumps({{"seconds": time.perf_counter() - t}}))
"""


def platform_ingest(path: Path) -> dict:
    """The full ingest in a child process; returns its time and peak RSS."""
    landing = Path(os.environ["HTX_LANDING_URL"])
    (landing / "tax").mkdir(parents=True, exist_ok=True)
    target = landing / "tax" / "to_khai_202410.csv"
    target.unlink(missing_ok=True)
    os.symlink(path, target)
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    done = subprocess.run([sys.executable, "-c", _INGEST.format(plugins=str(ROOT / "plugins"))],
                          capture_output=True, text=True, env=os.environ.copy())
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["peak_rss_mib"] = max(peak_kib, before) / 1024
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    from htx import devenv, localpg, marts
    from htx.migrate import migrate

    path = generate_tax_file(args.rows)
    server = localpg.ensure_running()
    name = f"htx_bench_{uuid.uuid4().hex[:8]}"
    localpg.create_database(server, name)
    dsn = server.uri(name)
    os.environ["AIRFLOW_CONN_HTX_WAREHOUSE"] = dsn
    os.environ["HTX_LANDING_URL"] = str(DATA / f"landing-{name}")
    devenv.prepare()
    try:
        migrate(dsn)
        floor = raw_copy_seconds(dsn, path)
        ingest = platform_ingest(path)
        start = time.perf_counter()
        marts.refresh(dsn=dsn)
        refresh = time.perf_counter() - start
    finally:
        localpg.drop_database(server, name)
    size_mb = path.stat().st_size / 1e6
    report = {"rows": args.rows, "file_mb": round(size_mb, 1), "raw_copy_s": round(floor, 2),
              "platform_ingest_s": round(ingest["seconds"], 2),
              "ratio": round(ingest["seconds"] / floor, 1),
              "peak_rss_mib": round(ingest["peak_rss_mib"]), "marts_refresh_s": round(refresh, 2)}
    print(json.dumps(report))
    _append_results(report)


def _append_results(report: dict) -> None:
    """Add this run's figures to bench/results.md, against the issue's targets."""
    verdict = "met" if report["ratio"] <= 5 else f"missed by {report['ratio'] / 5:.0f}×"
    lines = [
        f"## National-scale tax ingest, {report['rows']:,} rows ({report['file_mb']} MB)", "",
        "| measure | value | target |", "| --- | ---: | --- |",
        f"| (a) raw COPY into a text table | {report['raw_copy_s']} s | the floor |",
        f"| (b) platform full ingest (land → parse → validate → stage → merge → publish) |"
        f" {report['platform_ingest_s']} s | ≤ 5 × (a) |",
        f"| (b)/(a) | {report['ratio']} | ≤ 5 ({verdict}) |",
        f"| (e) peak RSS of (b) | {report['peak_rss_mib']} MiB | < 1 GiB at 10M rows |",
        f"| (c) marts refresh | {report['marts_refresh_s']} s | < 30 s |", "",
    ]
    with open(ROOT / "bench" / "results.md", "a", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
