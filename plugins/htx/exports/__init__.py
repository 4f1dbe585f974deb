"""The plan's tables as people read them, produced from the marts only.

For one period: an XLSX workbook laid out like the plan's annex tables (`xlsx.py`) and a static
HTML report with charts that opens from disk (`html.py`), both in Vietnamese (`labels.py`), from
the same table definitions (`tables.py`) and the same read of the marts (`data.py`).

Written to the export folder: `HTX_EXPORT_DIR` when set, else `.local/exports` (untracked) —
by `python -m htx export`, by `make demo`, and by the marts DAG after every refresh (the newest
year-to-date period and the newest full year).
"""
from __future__ import annotations

import logging
import os
from datetime import date
from pathlib import Path

from htx.exports.data import NoIndicators
from htx.paths import LOCAL_DIR

# Function-local imports: the writers (openpyxl, plotly: seconds to import) only when exporting.

__all__ = ["ENV_EXPORT_DIR", "NoIndicators", "export_dir", "write_latest", "write_period"]
log = logging.getLogger(__name__)

ENV_EXPORT_DIR = "HTX_EXPORT_DIR"


def export_dir() -> Path:
    return Path(os.environ.get(ENV_EXPORT_DIR) or LOCAL_DIR / "exports")


def file_stem(start: date, end: date) -> str:
    return f"ke_hoach_kttt_{start:%Y-%m-%d}_{end:%Y-%m-%d}"


def write_period(start: date, end: date, out_dir: Path | None = None,
                 dsn: str | None = None) -> dict[str, Path]:
    """Both files of one period; raises NoIndicators when the marts have nothing for it."""
    from htx.exports import data, html, xlsx

    period = data.load(start, end, dsn)
    folder = Path(out_dir or export_dir())
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for kind, writer in (("xlsx", xlsx.write), ("html", html.write)):
        final = folder / f"{file_stem(start, end)}.{kind}"
        partial = final.with_name(f".{final.name}.partial")
        writer(period, partial)
        partial.replace(final)  # readers never see half a file
        written[kind] = final
    log.info("exports for %s … %s: %s", start, end, ", ".join(map(str, written.values())))
    return written


def write_latest(out_dir: Path | None = None, dsn: str | None = None) -> list[dict[str, Path]]:
    """The newest year-to-date period's files and the newest full year's (nothing before the
    marts' first refresh)."""
    from htx.exports.data import latest_periods

    periods = latest_periods(dsn)
    if not periods:
        log.info("no reporting period in the marts yet: nothing to export")
    return [write_period(start, end, out_dir, dsn) for start, end in periods]
