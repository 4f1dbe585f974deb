"""What a data engineer would otherwise write to load the tax file, measured beside the platform
(issue 15) on the same file and the same server, each in a child process (bench/national.py):

  pandas — `read_csv` in chunks, typed as a pandas user types it (codes and names as strings,
           `thousands="."` amounts as nullable integers, `dd/mm/yyyy` dates parsed), then
           `DataFrame.to_sql` into a plain table (SQLAlchemy's batched multi-row inserts);
  dlt    — a `dlt` pipeline whose resource yields those same DataFrames, into PostgreSQL
           (dlt's defaults for the destination). dlt and pyarrow are pinned in
           bench/requirements.txt, installed by `make bench` only, never in the runtime.

Neither checks a rule, quarantines a row, keeps lineage, history or latest versions: they are the
floor of "a script", not of the platform. Imports happen before the clock starts, as for (b).

`python bench/peers.py <pandas|dlt> <tax file> <dsn> <work dir> <result.json>`
"""
from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

CHUNK_ROWS = 200_000
COLUMNS = {"Mã số thuế": "tax_code", "Tên người nộp thuế": "taxpayer_name",
           "Mẫu tờ khai": "form_code", "Kỳ tính thuế": "period_raw", "Lần nộp": "revision",
           "Ngày nộp": "filed_on", "Doanh thu": "revenue_vnd",
           "Lợi nhuận trước thuế": "profit_before_tax_vnd", "Số thuế phải nộp": "tax_payable_vnd"}
DTYPES = {"Mã số thuế": "string", "Tên người nộp thuế": "string", "Mẫu tờ khai": "string",
          "Kỳ tính thuế": "string", "Lần nộp": "Int64", "Doanh thu": "Int64",
          "Lợi nhuận trước thuế": "Int64", "Số thuế phải nộp": "Int64"}


def frames(path: Path):
    """The file as typed DataFrames, CHUNK_ROWS at a time (memory stays flat)."""
    import pandas as pd

    for chunk in pd.read_csv(path, sep=";", dtype=DTYPES, thousands=".", encoding="utf-8",
                             chunksize=CHUNK_ROWS):
        chunk["Ngày nộp"] = pd.to_datetime(chunk["Ngày nộp"], format="%d/%m/%Y")
        yield chunk.rename(columns=COLUMNS)


def load_with_pandas(path: Path, dsn: str, work: Path) -> int:
    from sqlalchemy import create_engine

    engine = create_engine(dsn.replace("postgresql://", "postgresql+psycopg2://", 1))
    rows, first = 0, True
    try:
        for frame in frames(path):
            frame.to_sql("tax_declarations_pandas", engine, if_exists="replace" if first else "append",
                         index=False, chunksize=10_000)
            rows, first = rows + len(frame), False
    finally:
        engine.dispose()
    return rows


def load_with_dlt(path: Path, dsn: str, work: Path) -> int:
    import dlt

    @dlt.resource(name="tax_declarations_dlt", write_disposition="replace")
    def declarations():
        yield from frames(path)

    pipeline = dlt.pipeline(pipeline_name="bench_tax", pipelines_dir=str(work),
                            destination=dlt.destinations.postgres(credentials=dsn),
                            dataset_name="bench_dlt")
    pipeline.run(declarations())
    return pipeline.last_trace.last_normalize_info.row_counts["tax_declarations_dlt"]


LOADERS = {"pandas": load_with_pandas, "dlt": load_with_dlt}


def main(argv: list[str]) -> None:
    peer, path, dsn, work, result = argv
    import os

    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")   # no network here
    __import__("pandas")
    __import__("sqlalchemy")
    if peer == "dlt":
        __import__("dlt")
    start = time.perf_counter()
    rows = LOADERS[peer](Path(path), dsn, Path(work))
    seconds = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    Path(result).write_text(json.dumps({"seconds": seconds, "rows": rows, "peak_rss_mib": rss}))


if __name__ == "__main__":
    main(sys.argv[1:])
