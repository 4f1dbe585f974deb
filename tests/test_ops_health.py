"""`python -m htx health` tells why first (issue 12 §3): a rejected file's reason comes before its
long landed path, so a cut line keeps the reason; and its times say which zone they are in."""
from __future__ import annotations

import re
from pathlib import Path

from htx.cli import main
from htx.pipeline import RunInfo, extract_to_landing, stage_batches

CORPUS = Path(__file__).parent / "corpus"
COLUMN_MISSING = "schema drift: missing column(s) 'Số thuế phải nộp'"


def test_health_puts_the_reason_before_the_file_and_labels_its_times(warehouse, tmp_path,
                                                                     monkeypatch, capsys):
    # A landing zone deep enough that its path alone would fill the line.
    zone = tmp_path.joinpath(*(["thư mục nhận dữ liệu của sở thuế"] * 6))
    drop = zone / "tax" / "to_khai_202409.csv"
    drop.parent.mkdir(parents=True)
    drop.write_bytes((CORPUS / "tax_declarations" / "column_missing.csv").read_bytes())
    monkeypatch.setenv("HTX_LANDING_URL", str(zone))
    batches = extract_to_landing("tax_declarations", RunInfo("htx_feed_tax_declarations", "r1"))
    assert stage_batches("tax_declarations", batches)["rejected"] == batches

    main(["health"])  # exits 1: every feed is late, none has delivered
    out = capsys.readouterr().out
    (last_failure,) = [line.strip() for line in out.splitlines()
                       if line.strip().startswith("last failure:")]
    assert last_failure.startswith(f"last failure: {COLUMN_MISSING}")
    (listed,) = [line for line in out.splitlines() if line.strip().startswith("#")]
    assert f"OPEN: {COLUMN_MISSING}" in listed
    assert "Times are Asia/Ho_Chi_Minh (UTC+0700)" in out
    times = re.findall(r"last failure (\S+ \S+ \S+)", out)
    assert times and all(t.endswith(" +07") for t in times)
