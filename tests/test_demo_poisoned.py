"""`make demo` pointed, through the settings, at a landing zone that holds poisoned files beside
good ones (issue 11, "Done when"): it finishes, loads every good delivery and rejects each
poisoned one with its reason — nothing of a link's target read, no name breaking a line.

The zone is the bundled sample's drops (with their corrected re-sends; one broken file per
feed stays) under a path holding a space, Vietnamese letters and `[1]`, plus: a link to a private file outside the zone, a pipe, a
tax file missing a column under a name holding a newline, a credit-fund report no rule foresaw
(tests/corpus/isolation/), and a lending "workbook" that is a tax CSV. The demo runs as a user
runs it (`make demo`, umask 022) against a fresh warehouse, the DAGs as their own login.
"""
from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

from conftest import ROOT, as_dags_login, query
from faults_support import fresh_warehouse
from htx import sample
from htx.errors import with_object
from htx.sample.registrations import generate

CORPUS = Path(__file__).parent / "corpus"
PRIVATE_LINE = "MẬT-demo-outside-the-zone-31c7"
FUND = "5700778122"   # a fund of the sample


def poison(zone: Path, outside: Path) -> dict[str, str]:
    """The poisoned deliveries: relative path → what its rejection must say."""
    outside.write_text(f"{PRIVATE_LINE}\n", encoding="utf-8")
    outside.chmod(0o600)
    (zone / "tax" / "to_khai_202499.csv").symlink_to(outside)
    os.mkfifo(zone / "tax" / "to_khai_202498.csv")
    shutil.copy(CORPUS / "tax_declarations" / "column_missing.csv",
                zone / "tax" / "to_khai_2024\n97.csv")
    shutil.copy(CORPUS / "isolation" / "credit_fund_huge_float.json",
                zone / "credit_funds" / f"{FUND}_2023Q1.json")
    shutil.copy(CORPUS / "isolation" / "tax_good.csv", zone / "lending" / "vbsp_202496.xlsx")
    return {# the sample's own broken file per feed (tests/test_all_feeds_e2e.py)
            "tax/to_khai_202411.csv": "schema drift: missing column(s) 'Doanh thu'",
            "lending/vbsp_202405.xlsx": "the 'Tổng cộng' row",
            f"credit_funds/{FUND}_2024Q3.json": "unit is 'dong'",
            "annual_reports/bao_cao_nam_2022.csv": "headers are not the contract's",
            "plan_targets/chi_tieu_2021.xlsx": "no target row below the headers",
            "plan_targets/chi_tieu_2022.xlsx": "row 4 lacks the column(s) 'Mã chỉ tiêu'",
            "plan_targets/chi_tieu_2023.xlsx": "the title's year 2022 (row 1) is not",
            # and the poison
            "tax/to_khai_202499.csv": "refused: a symbolic link",
            "tax/to_khai_202498.csv": "refused: not a regular file",
            "tax/to_khai_2024\n97.csv": "schema drift: missing column(s) 'Số thuế phải nộp'",
            f"credit_funds/{FUND}_2023Q1.json": "InvalidOperation: ",
            "lending/vbsp_202496.xlsx": "not a readable XLSX workbook"}


def test_make_demo_on_a_poisoned_zone_loads_the_good_and_rejects_the_bad(tmp_path, airflow_db):
    zone = tmp_path / "vùng nhận [1]"
    sample.write_drops(zone, generate())
    sample.deliver_resends(zone)
    poisoned = poison(zone, tmp_path / "private.csv")
    good = {str(p.relative_to(zone)) for p in zone.glob("*/*")
            if p.is_file() and not p.is_symlink() and str(p.relative_to(zone)) not in poisoned
            and not str(p.relative_to(zone)).startswith("_")}
    exports, docs = tmp_path / "exports", tmp_path / "data_docs"
    with fresh_warehouse() as dsn:
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_CONN_HTX")},
               "AIRFLOW_CONN_HTX_WAREHOUSE": as_dags_login(dsn),
               "AIRFLOW_CONN_HTX_WAREHOUSE_OWNER": dsn,
               "HTX_LANDING_URL": str(zone), "HTX_EXPORT_DIR": str(exports),
               "HTX_DATA_DOCS_DIR": str(docs)}
        done = subprocess.run(["make", "--no-print-directory", "demo"], env=env, cwd=ROOT,
                              capture_output=True, text=True, timeout=1800,
                              preexec_fn=lambda: os.umask(0o022))
        assert done.returncode == 0, (done.stdout[-3000:], done.stderr[-3000:])

        batches = {source: (status, error) for source, status, error in query(
            dsn, "SELECT source_object, status, error FROM audit.load_batch"
                 " WHERE feed <> 'registrations'")}
        assert {s for s, (status, _) in batches.items() if status == "published"} == good
        assert {s for s, (status, _) in batches.items() if status != "published"} == set(poisoned)
        for source, says in poisoned.items():
            status, error = batches[source]
            assert status == "rejected" and error.startswith(says), (source, error)
            # The demo tells it too: the reason, then the file as delivered, on one line.
            assert f"not loaded: {with_object(error, source)}\n" in done.stdout, source
        assert query(dsn, "SELECT count(*) FROM mart.plan_indicator") != [(0,)]

    # Nothing of the link's target read anywhere; everything the demo wrote is owner-only.
    everything = done.stdout + done.stderr + repr(batches)
    assert PRIVATE_LINE not in everything
    written = [p for folder in (zone / "_landed", exports, docs) for p in folder.rglob("*")]
    assert written and not any(PRIVATE_LINE.encode() in p.read_bytes() for p in written
                               if p.is_file())
    assert {stat.S_IMODE(p.stat().st_mode) for p in written} <= {0o600, 0o700}
