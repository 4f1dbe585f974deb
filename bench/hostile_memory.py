"""Peak memory of a feed run whatever a delivery holds (issue 11; target: under 1 GiB).

Each hostile input goes through its feed's real path — the feed DAG's four tasks as
bench/ingest_child.py runs them — in a child process whose peak RSS is recorded (and which is
killed past a guard): the corpus's inputs beyond the limits (tests/corpus/make_corpus.py: a
64 MiB line, a cell at column XFD on 10,000 rows, a zip bomb, JSON nested 50,000 deep …), then
the worst a delivery can hold *within* the limits of htx.limits, which is what gets parsed: rows
as long as allowed, an XLSX sheet of as many rows as allowed, shared strings filling the unzipped
limit, JSON documents and an API page of the largest size, made of the smallest objects.

`bench/run.py` (`make bench`) runs it and writes its table into bench/results.md. Alone:
`python bench/hostile_memory.py [--scale 0.05]` (print only) — `--scale` shrinks every limit
(through its HTX_MAX_… setting) and the inputs sized by them, for a quick check.
"""
from __future__ import annotations

import argparse
import io
import os
import shutil
import sys
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT / "plugins"))
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT / "tests" / "corpus"))

import make_corpus as corpus  # noqa: E402
import national  # noqa: E402

TARGET_MIB = 1024
GUARD_MIB = 3072   # a child past this is killed (the machine is shared)
WORK = BENCH / "data" / "hostile"
DROP_AS = {"tax_declarations": "tax/to_khai_202410.csv",
           "annual_reports": "annual_reports/bao_cao_nam_2024.csv",
           "support_lending": "lending/vbsp_202410.xlsx",
           "credit_fund_reports": f"credit_funds/{corpus.A}_2024Q3.json"}


@dataclass(frozen=True)
class Case:
    name: str
    feed: str
    write: Callable[[Path], None] | None   # writes the delivery (None: the API serves it)


def cases() -> list[Case]:
    from_corpus = [
        "tax_declarations/cr_line_ends.csv", "support_lending/cell_at_xfd.xlsx",
        "support_lending/row_beyond_limit.xlsx", "support_lending/doctype_entities.xlsx",
        "credit_fund_reports/nested_50000_deep.json",
        "credit_fund_reports/number_5000_digits.json"]
    found = [Case(name, name.split("/")[0], _copy_of(corpus.HERE / name)) for name in from_corpus]
    found += [Case(name, name.split("/")[0], _written_by(make))
              for name, make in corpus.LARGE.items()]
    return found + [
        Case("within limits: tax rows as long as allowed", "tax_declarations", _long_tax_rows),
        Case("within limits: an annual-reports file as large as allowed", "annual_reports",
             _full_annual_file),
        Case("within limits: an XLSX sheet of as many rows as allowed", "support_lending",
             _full_lending_sheet),
        Case("within limits: XLSX shared strings filling the unzipped limit", "support_lending",
             _full_shared_strings),
        Case("within limits: a credit-fund report as large as allowed, of empty arrays",
             "credit_fund_reports", _full_json_report),
        Case("within limits: a registry API page as large as allowed, of empty arrays",
             "registrations", None),
    ]


def measure(scale: float = 1.0) -> list[dict]:
    """Every case in one scratch database (dropped afterwards); one landing zone each."""
    from htx import devenv, localpg, limits
    from htx.migrate import migrate

    if scale != 1.0:   # through the settings, as an operator would shrink them
        for limit in (limits.CSV_LINE_CHARS, limits.ANNUAL_REPORTS_BYTES, limits.XLSX_BYTES,
                      limits.XLSX_UNCOMPRESSED_BYTES, limits.XLSX_ROWS, limits.JSON_BYTES,
                      limits.API_PULL_BYTES):
            os.environ[limit.setting] = str(max(1_000, int(limit.default * scale)))
    devenv.prepare()
    server = localpg.ensure_running()
    name = f"htx_bench_{uuid.uuid4().hex[:8]}"
    localpg.create_database(server, name)
    os.environ["AIRFLOW_CONN_HTX_WAREHOUSE"] = server.uri(name)
    try:
        migrate(server.uri(name))
        return [_measured(case, WORK / f"case-{number:02d}")
                for number, case in enumerate(cases(), start=1)]
    finally:
        localpg.drop_database(server, name)
        shutil.rmtree(WORK, ignore_errors=True)


def _measured(case: Case, landing: Path) -> dict:
    os.environ["HTX_LANDING_URL"] = str(landing)
    if case.write is None:
        with national.registry_api(_full_api_page()):
            run = national.run_ingest(case.feed, landing, GUARD_MIB, must_succeed=False)
    else:
        delivery = landing / DROP_AS[case.feed]
        delivery.parent.mkdir(parents=True, exist_ok=True)
        case.write(delivery)
        run = national.run_ingest(case.feed, landing, GUARD_MIB, must_succeed=False)
        delivery.unlink()
    return {"case": case.name, "feed": case.feed, "outcome": _outcome(run),
            "peak_rss_mib": run["peak_rss_mib"]}


def _outcome(run: dict) -> str:
    if run.get("aborted"):
        return run["aborted"]
    if run.get("error") or run["rejected"]:
        return "rejected: " + _last_error().rpartition(" — ")[0][:100]   # the reason, no file
    loaded = sum(batch["rows_loaded"] for batch in run["published"])
    quarantined = sum(batch["rows_quarantined"] for batch in run["published"])
    return f"{loaded:,} rows loaded, {quarantined:,} quarantined"


def _last_error() -> str:
    import psycopg2

    conn = psycopg2.connect(os.environ["AIRFLOW_CONN_HTX_WAREHOUSE"])
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT error FROM audit.load_batch ORDER BY batch_id DESC LIMIT 1")
            return cur.fetchone()[0] or ""
    finally:
        conn.close()


def section(results: list[dict], scale: float) -> list[str]:
    import report

    worst = max(results, key=lambda r: r["peak_rss_mib"])
    scaled = "" if scale == 1.0 else f" (every limit scaled by {scale:g})"
    return [
        "## Peak memory of a feed run over hostile deliveries (target: under 1 GiB)", "",
        f"Measured {report.now()} (load average {report.load_average()}){scaled}: each input "
        "through its feed's four tasks in a child "
        "process (`bench/hostile_memory.py`), peak RSS of that process. Rejections give the "
        "reason the batch records (`audit.load_batch`).", "",
        "| input | feed | outcome | peak RSS |", "| --- | --- | --- | ---: |",
        *[f"| {_cell(r['case'])} | {r['feed']} | {_cell(r['outcome'])} |"
          f" {r['peak_rss_mib']:,.0f} MiB |" for r in results],
        "", f"Highest: {worst['peak_rss_mib']:,.0f} MiB ({worst['case']}) — "
            f"{report.verdict(worst['peak_rss_mib'], TARGET_MIB, ' MiB', strict=True)}.",
    ]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


# --- deliveries -------------------------------------------------------------------------------

def _copy_of(path: Path) -> Callable[[Path], None]:
    return lambda target: shutil.copyfile(path, target)


def _written_by(make) -> Callable[[Path], None]:
    def write(target: Path) -> None:
        with target.open("wb") as out:
            make(out)
    return write


def _limit(name: str) -> int:
    from htx import limits

    return getattr(limits, name).value()


def _long_tax_rows(target: Path) -> None:
    """Rows as long as the row limit allows (line break included), enough for three chunks of
    source text."""
    from htx.pipeline import CHUNK_SOURCE_CHARS

    longest = _limit("CSV_LINE_CHARS")
    codes = corpus.codes(100, start=20_000)
    with target.open("w", encoding="utf-8") as out:
        out.write(";".join(corpus.TAX_HEADERS) + "\n")
        for row in range(3 * CHUNK_SOURCE_CHARS // longest + 1):
            fields = corpus.tax_row(codes[row % 100], name="")
            fields[1] = "H" * (longest - len(";".join(fields)) - 1)
            out.write(";".join(fields) + "\n")


def _full_annual_file(target: Path) -> None:
    allowed = _limit("ANNUAL_REPORTS_BYTES")
    codes = corpus.codes(1_000, start=30_000)
    with target.open("w", encoding="utf-8") as out:
        out.write(",".join(corpus.ANNUAL_HEADERS) + "\n")
        row = 0
        while out.tell() < allowed - 100:
            out.write(",".join(corpus.annual_row(codes[row % 1_000], year=str(2000 + row // 1_000
                                                                               % 100))) + "\n")
            row += 1


def _full_lending_sheet(target: Path) -> None:
    """A report in the contract's layout with a contract on every row the limit allows."""
    rows = _limit("XLSX_ROWS") - 7   # rows 1–6 are the header, the last the totals
    codes = corpus.codes(100, start=40_000)
    cells = [f'<row r="{7 + i}">' + _cells(
        [i + 1, codes[i % 100], "Hợp tác xã Thử", f"{i + 1}/2024/HĐTD", "15/03/2024", 100, 80, 1,
         "15/03/2027"]) + "</row>" for i in range(rows)]
    totals = f'<row r="{7 + rows}">' + _cells([None, None, "Tổng cộng", None, None, 100 * rows,
                                                80 * rows]) + "</row>"
    _write_xlsx(target, _report_rows() + "".join(cells) + totals)


def _full_shared_strings(target: Path) -> None:
    """A small valid report whose shared-strings part fills the unzipped limit with tiny
    strings, none of them used."""
    budget = _limit("XLSX_UNCOMPRESSED_BYTES") - 4_096   # what the other parts take, and less
    items, size = [], 0
    while size < budget - 30:
        items.append(f"<si><t>{len(items):x}</t></si>")
        size += len(items[-1])
    strings = "".join(items)
    details = '<row r="7">' + _cells([1, corpus.A, "Hợp tác xã Thử", "1/2024/HĐTD", "15/03/2024",
                                      100, 80, 1, "15/03/2027"]) + "</row>"
    totals = '<row r="8">' + _cells([None, None, "Tổng cộng", None, None, 100, 80]) + "</row>"
    _write_xlsx(target, _report_rows() + details + totals, strings)


def _empty_arrays(size: int) -> str:
    return "[" + ",".join(["[]"] * (size // 3)) + "]"


def _full_json_report(target: Path) -> None:
    report = corpus.dump(corpus.fund_report())
    filler = _empty_arrays(_limit("JSON_BYTES") - len(report) - 100)
    target.write_bytes(report[:-1] + b', "ghi_chu": ' + filler.encode() + b"}")


def _full_api_page() -> list[dict]:
    """A page of up to 500 items whose extra key holds empty arrays (`[], ` as the API writes
    them) up to the JSON limit."""
    allowed = _limit("JSON_BYTES")
    count = max(1, min(500, allowed // 4_000))
    share = (allowed - 100) // count - 700   # an item without its arrays: under 700 bytes
    return [corpus.entity(code, ghi_chu=[[]] * (share // 4))
            for code in corpus.codes(count, start=50_000)]


# --- a minimal XLSX writer: the sheet's XML as text, no library to hold it -------------------

def _report_rows() -> str:
    return "".join(f'<row r="{number}">' + _cells(values) + "</row>" for number, values in (
        (1, ["BÁO CÁO CHO VAY HỖ TRỢ PHÁT TRIỂN HỢP TÁC XÃ"]), (2, ["Đến ngày 30/09/2024"]),
        (3, ["Đơn vị: triệu đồng"]), (4, ["Tổng nguồn vốn ủy thác:", None, 40341]),
        (6, corpus.LENDING_HEADERS)))


def _cells(values: list) -> str:
    from xml.sax.saxutils import escape

    out = []
    for value in values:
        if value is None:
            out.append("<c/>")
        elif isinstance(value, str):
            out.append(f'<c t="inlineStr"><is><t>{escape(value)}</t></is></c>')
        else:
            out.append(f"<c><v>{value}</v></c>")
    return "".join(out)


def _write_xlsx(target: Path, sheet_rows: str, shared_strings: str = "") -> None:
    main = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    kind = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    package = 'xmlns="http://schemas.openxmlformats.org/package/2006/relationships"'
    related = (f'<Relationship Id="rId1" Type="{kind}/worksheet" Target="worksheets/sheet1.xml"/>'
               + (f'<Relationship Id="rId2" Type="{kind}/sharedStrings" Target="sharedStrings.xml"/>'
                  if shared_strings else ""))
    parts = {
        "_rels/.rels": f'<Relationships {package}><Relationship Id="rId1" '
                       f'Type="{kind}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<workbook {main} xmlns:r="{kind}"><sheets><sheet name="BaoCao" '
                           'sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": f"<Relationships {package}>{related}</Relationships>",
        "xl/worksheets/sheet1.xml": f"<worksheet {main}><sheetData>{sheet_rows}</sheetData>"
                                    "</worksheet>",
    }
    if shared_strings:
        parts["xl/sharedStrings.xml"] = f"<sst {main}>{shared_strings}</sst>"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as book:
        for name, text in parts.items():
            book.writestr(name, text.encode("utf-8"))
    target.write_bytes(buffer.getvalue())


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0,
                        help="shrink every limit (and the inputs sized by them) by this factor")
    scale = parser.parse_args(argv).scale
    results = measure(scale)
    print("\n".join(section(results, scale)))
    return results


if __name__ == "__main__":
    main()
