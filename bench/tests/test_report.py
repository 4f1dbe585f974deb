"""bench/results.md is rewritten, not appended to: each script replaces its own section, and the
hand-written part after the marker survives every rewrite."""
from __future__ import annotations

import report


def test_sections_replace_themselves_and_keep_the_other_and_the_hand_part(tmp_path):
    path = tmp_path / "results.md"
    report.write_section("national", ["## National", "", "first"], "machine A", path)
    text = path.read_text()
    assert "first" in text and "machine A" in text
    assert text.rstrip().endswith(report.HAND_PLACEHOLDER.rstrip())   # placeholder when new

    hand = "## Why (written by hand)\n\nThe in-database path is not merged yet.\n"
    path.write_text(text.split(report.HAND_MARKER)[0] + report.HAND_MARKER + "\n\n" + hand)
    report.write_section("run", ["## DAG parse", "", "0.1 s"], "machine B", path)
    report.write_section("national", ["## National", "", "second"], "machine B", path)
    report.write_section("national", ["## National", "", "third"], "machine B", path)

    text = path.read_text()
    assert "first" not in text and "second" not in text and text.count("third") == 1
    assert "0.1 s" in text and "machine A" not in text
    assert text.index("## DAG parse") < text.index("## National") < text.index(report.HAND_MARKER)
    assert text.count(report.HAND_MARKER) == 1
    assert text.split(report.HAND_MARKER)[1].strip() == hand.strip()


def test_verdicts_say_met_or_by_how_much():
    assert report.verdict(4.9, 5) == "met"
    assert report.verdict(5, 5) == "met"
    assert report.verdict(1024, 1024, " MiB", strict=True).startswith("missed by 0%")
    assert report.verdict(11.3, 11) == "missed by 3%"
    assert report.verdict(132.3, 5) == "missed by 26.5×"
    assert report.verdict(1212, 1024, " MiB", strict=True) == "missed by 1.2× (+188.0 MiB)"
    assert report.verdict(None, 5) == "not measured in this run"


def test_machine_line_names_cpu_cores_ram_postgresql_and_python():
    line = report.machine()
    assert "cores" in line and "GiB RAM" in line and "PostgreSQL 1" in line and "Python 3." in line
