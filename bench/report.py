"""bench/results.md: rewritten (never appended to) by the benchmark scripts, one section each.

The file is: a header with the machine, then one section per script between marker comments
(`bench/run.py` → "run", `bench/national.py` → "national"), then the hand-written part. A script
replaces only its own section, so `make bench` (both scripts) leaves one complete file, and a
single script run keeps the other's last figures. Everything after HAND_MARKER is written by
people (why a target is missed) and kept as it is.
"""
from __future__ import annotations

import os
import platform
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results.md"
SECTIONS = ("run", "national")   # their order in the file
HAND_MARKER = ("<!-- Everything below this line is written by hand and kept when the benchmark"
               " rewrites this file. -->")
HAND_PLACEHOLDER = """## Why (written by hand)

_Placeholder, to be written by the lead engineer: for every target marked "missed" above, by how
much, why, and what would meet it._
"""
VN = timezone(timedelta(hours=7))


def now() -> str:
    return datetime.now(VN).strftime("%Y-%m-%d %H:%M %z")


def machine() -> str:
    """CPU model, cores, RAM, PostgreSQL (the local server), Python and OS, in one line."""
    return "; ".join([f"{_cpu_model()}, {os.cpu_count()} cores, {_ram_gib():.1f} GiB RAM",
                      f"PostgreSQL {_pg_version()} (the local server, `htx.dev.localpg`)",
                      f"Python {platform.python_version()}", platform.platform()])


def _pg_version() -> str:
    import psycopg2
    from htx.dev import localpg

    conn = psycopg2.connect(localpg.ensure_running().uri("postgres"))
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW server_version")
            return cur.fetchone()[0]
    finally:
        conn.close()


def load_average() -> str:
    """The 1, 5 and 15-minute load averages: the local server is shared, so this says how idle
    the machine was when a measurement started."""
    return " / ".join(f"{value:.2f}" for value in os.getloadavg())


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return float("nan")


def write_section(name: str, lines: list[str], machine_line: str,
                  path: Path = RESULTS) -> None:
    """Replace section `name` of the results file (creating the file if needed)."""
    if name not in SECTIONS:
        raise ValueError(f"unknown section {name!r}")
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    sections = {s: _section(text, s) for s in SECTIONS}
    sections[name] = "\n".join(lines).strip("\n")
    hand = text.split(HAND_MARKER, 1)[1].strip("\n") if HAND_MARKER in text else HAND_PLACEHOLDER
    out = ["# Benchmark results", "",
           "Written by `make bench` (`bench/run.py`, then `bench/national.py`); each section says"
           " when it was measured. Do not edit above the hand-written part: it is regenerated.", "",
           f"Machine: {machine_line}.", ""]
    for section in SECTIONS:
        if sections[section]:
            out += [f"<!-- bench:{section} -->", sections[section], f"<!-- /bench:{section} -->", ""]
    out += [HAND_MARKER, "", hand.strip("\n"), ""]
    path.write_text("\n".join(out), encoding="utf-8")


def _section(text: str, name: str) -> str:
    found = re.search(rf"<!-- bench:{name} -->\n(.*?)\n<!-- /bench:{name} -->", text, re.S)
    return found.group(1) if found else ""


def verdict(measured: float | None, limit: float, unit: str = "", strict: bool = False) -> str:
    """"met", or "missed by …": the factor over the target (and the excess, given a unit)."""
    if measured is None:
        return "not measured in this run"
    if measured < limit or (not strict and measured == limit):
        return "met"
    excess = f" (+{measured - limit:,.1f}{unit})" if unit else ""
    if measured / limit < 1.1:  # "1.0×" would read as met
        return f"missed by {100 * (measured / limit - 1):.0f}%{excess}"
    return f"missed by {measured / limit:,.1f}×{excess}"
