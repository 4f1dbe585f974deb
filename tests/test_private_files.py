"""Landed copies and `.local/` are owner-only from their first byte (issue 11 §5).

Landed copies hold the registry's ID numbers: on a local disk they are created 0600 in folders
0700 whatever the process's umask (an Airflow worker is not started by the project's commands).
The project's commands (`make demo`, `make up`, `make test`: htx.devenv.prepare) create
everything else under `.local/` owner-only too (umask 077), and nobody else can list `.local/`.
"""
from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from conftest import ROOT
from htx import localpg
from htx.paths import LOCAL_DIR
from htx.pipeline import RunInfo, extract_to_landing

GOOD_TAX_FILE = Path(__file__).parent / "corpus" / "isolation" / "tax_good.csv"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_landed_copies_are_owner_only_whatever_the_umask(warehouse, landing):
    (landing / "tax").mkdir()
    (landing / "tax" / "to_khai_202409.csv").write_bytes(GOOD_TAX_FILE.read_bytes())
    previous = os.umask(0o022)   # an Airflow worker's usual umask
    try:
        extract_to_landing("tax_declarations", RunInfo("htx_feed_tax_declarations", "r1"))
    finally:
        os.umask(previous)
    landed = list((landing / "_landed").rglob("*"))
    assert {p.suffix for p in landed if p.is_file()} == {".csv"}
    assert {(p.is_dir(), mode(p)) for p in [landing / "_landed", *landed]} == {
        (True, 0o700), (False, 0o600)}


def test_the_projects_commands_create_local_files_owner_only():
    probe = LOCAL_DIR / f"probe-{os.getpid()}"
    code = ("import os, stat; from htx import devenv; devenv.prepare();"
            f"open({str(probe)!r}, 'w').close(); os.mkdir({str(probe)!r} + '.d');"
            f"print(oct(stat.S_IMODE(os.stat({str(probe)!r}).st_mode)),"
            f" oct(stat.S_IMODE(os.stat({str(probe)!r} + '.d').st_mode)))")
    try:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              cwd=ROOT, preexec_fn=lambda: os.umask(0o022))
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stdout.split()[-2:] == ["0o600", "0o700"]
    finally:
        probe.unlink(missing_ok=True)
        if Path(f"{probe}.d").exists():
            Path(f"{probe}.d").rmdir()
    assert mode(LOCAL_DIR) & 0o066 == 0, "nobody else may list or write .local/"
    assert mode(localpg.STATE_FILE) == 0o600   # the local server's passwords
