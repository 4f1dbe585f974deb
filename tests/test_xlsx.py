"""htx.feeds.xlsx, the bounded XLSX reader every XLSX feed shares: it gives the values openpyxl's
`values_only` reading gives — on every committed workbook, the sample's, and a hand-written one
holding each kind of cell — while keeping only the wanted columns and refusing what lies beyond
its limits. (Feed 3 through the pipeline, with the corpus's bombs: tests/test_faults_files.py.)
"""
from __future__ import annotations

import io
import zipfile
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from htx.feeds.common import RejectedObject
from htx.feeds.xlsx import SheetLimits, open_workbook

TESTS = Path(__file__).parent
MAIN = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
RELS = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
PKG = 'xmlns="http://schemas.openxmlformats.org/package/2006/relationships"'
KIND = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def by_openpyxl(raw: bytes) -> dict[str, dict[tuple[int, int], object]]:
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    return {name: {(r, c): value
                   for r, row in enumerate(book[name].iter_rows(values_only=True), start=1)
                   for c, value in enumerate(row, start=1) if value not in (None, "")}
            for name in book.sheetnames}


def by_htx(raw: bytes) -> dict[str, dict[tuple[int, int], object]]:
    with open_workbook(raw, "x.xlsx") as book:
        return {name: {(r, c): value for r, row in book.rows(name).items()
                       for c, value in enumerate(row, start=1) if value is not None}
                for name in book.sheet_paths}


def workbooks() -> list[Path]:
    return sorted((TESTS / "corpus").rglob("*.xlsx"))


@pytest.mark.parametrize("path", workbooks(), ids=lambda p: p.name)
def test_every_committed_workbook_reads_as_openpyxl_reads_it(path):
    raw = path.read_bytes()
    try:
        expected = by_openpyxl(raw)
    except Exception:   # not a workbook openpyxl reads: ours must reject it, not crash
        with pytest.raises(RejectedObject):
            by_htx(raw)
        return
    try:
        found = by_htx(raw)
    except RejectedObject as err:   # a limit openpyxl does not have
        assert "beyond the limit of" in str(err)
        return
    assert found == expected


def test_the_samples_workbooks_read_as_openpyxl_reads_them(tmp_path):
    from htx.dev.sample.registrations import generate
    from htx.dev.sample.support_lending import write_files

    written = write_files(tmp_path, generate())
    assert written
    for path in written:
        raw = Path(path).read_bytes()
        assert by_htx(raw) == by_openpyxl(raw), path


# --- every kind of cell, written by hand ---------------------------------------------------

STYLES = f"""<styleSheet {MAIN}>
<numFmts count="2"><numFmt numFmtId="164" formatCode="dd/mm/yyyy"/>
<numFmt numFmtId="165" formatCode="[h]:mm:ss"/></numFmts>
<cellStyleXfs count="1"><xf numFmtId="14"/></cellStyleXfs>
<cellXfs count="6"><xf numFmtId="0"/><xf numFmtId="14"/><xf numFmtId="164"/><xf numFmtId="165"/>
<xf numFmtId="20"/><xf numFmtId="4"/></cellXfs></styleSheet>"""
STRINGS = f"""<sst {MAIN}><si><t>plain</t></si>
<si><r><t>rich </t></r><r><rPr><b/></rPr><t>text</t></r></si>
<si><t>漢字</t><rPh sb="0" eb="2"><t>かんじ</t></rPh></si>
<si><t xml:space="preserve">  spaced_x005F_x000D_  </t></si></sst>"""
SHEET = f"""<worksheet {MAIN}><sheetData>
<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c>
<c r="D1" t="inlineStr"><is><t>inline</t></is></c>
<c r="E1" t="inlineStr"><is><r><t>in</t></r><r><t>line</t></r></is></c>
<c r="F1" t="s"><v>3</v></c></row>
<row r="2"><c r="A2"><v>42</v></c><c r="B2"><v>3.5</v></c><c r="C2"><v>1E3</v></c>
<c r="D2" t="b"><v>1</v></c><c r="E2" t="e"><v>#DIV/0!</v></c>
<c r="F2" t="str"><f>A1</f><v>text</v></c><c r="G2"><f>A2*2</f></c><c r="H2" s="5"><v>12.5</v></c>
<c r="I2" t="s"/><c r="J2"><v></v></c></row>
<row><c><v>1</v></c><c><v>2</v></c><c r="E3"><v>5</v></c><c><v>6</v></c></row>
<row r="5"><c r="A5" s="1"><v>45000</v></c><c r="B5" s="2"><v>45000.5</v></c>
<c r="C5" s="3"><v>1.25</v></c><c r="D5" s="4"><v>0.5</v></c><c r="E5" s="1"><v>10000000000</v></c>
<c r="F5" s="1"><v>59</v></c></row>
<row r="7"><c r="A7" t="d"><v>2024-09-30T08:30:00</v></c><c r="C7"><v>-7</v></c></row>
</sheetData></worksheet>"""


def handmade(date1904: bool = False, sheet: str = SHEET) -> bytes:
    parts = {
        "[Content_Types].xml": """<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>
<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>
<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>
<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>
</Types>""",
        "_rels/.rels": f'<Relationships {PKG}><Relationship Id="rId1" Type="{KIND}/officeDocument"'
                       ' Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<workbook {MAIN} {RELS}><workbookPr date1904="{int(date1904)}"/>'
                           '<sheets><sheet name="Trang 1" sheetId="1" r:id="rId1"/></sheets>'
                           '</workbook>',
        "xl/_rels/workbook.xml.rels": (
            f'<Relationships {PKG}>'
            f'<Relationship Id="rId1" Type="{KIND}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{KIND}/styles" Target="/xl/styles.xml"/>'
            f'<Relationship Id="rId3" Type="{KIND}/sharedStrings" Target="sharedStrings.xml"/>'
            '</Relationships>'),
        "xl/styles.xml": STYLES, "xl/sharedStrings.xml": STRINGS, "xl/worksheets/sheet1.xml": sheet,
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as book:
        for name, text in parts.items():
            book.writestr(name, text.encode())
    return buffer.getvalue()


@pytest.mark.parametrize("date1904", [False, True])
def test_each_kind_of_cell_reads_as_openpyxl_reads_it(date1904):
    raw = handmade(date1904)
    expected = by_openpyxl(raw)
    assert len(expected["Trang 1"]) == 25   # every written value is there to compare
    assert by_htx(raw) == expected


def test_only_the_wanted_columns_of_the_wanted_rows_are_kept():
    with open_workbook(handmade(), "x.xlsx") as book:
        assert book.rows("Trang 1", columns=[3, 1], first=2, last=7) == {
            2: (1000.0, 42), 3: (None, 1), 5: (timedelta(days=1.25), datetime(2023, 3, 15)),
            7: (-7, datetime(2024, 9, 30, 8, 30))}
        assert book.rows("Trang 1", columns=[4], first=3, last=4) == {}   # no values there
        assert book.rows("Trang 1", last=1) == {
            1: ("plain", "rich text", "漢字", "inline", "inline", "  spaced_x000D_  ")}


@pytest.mark.parametrize("bounds, message", [
    (SheetLimits(rows=6, columns=16_384, uncompressed_bytes=1 << 30),
     "a value in cell A7, beyond the limit of 6 rows (HTX_MAX_XLSX_ROWS)"),
    (SheetLimits(rows=10, columns=9, uncompressed_bytes=1 << 30),
     "a value in cell J2, beyond the limit of 9 columns (HTX_MAX_XLSX_COLUMNS)"),
    (SheetLimits(rows=10, columns=16_384, uncompressed_bytes=1_000),
     "beyond the limit of 1,000 bytes (HTX_MAX_XLSX_UNCOMPRESSED_BYTES)"),
])
def test_a_value_beyond_a_limit_is_refused_naming_the_limit_and_the_cell(bounds, message):
    raw = handmade(sheet=SHEET.replace('<c r="J2"><v></v></c>', '<c r="J2"><v>9</v></c>'))
    with pytest.raises(RejectedObject) as caught:
        with open_workbook(raw, "lending/x.xlsx", bounds) as book:
            book.rows("Trang 1", columns=[1])   # limits hold for unwanted columns too
    assert message in str(caught.value) and str(caught.value).endswith(" — lending/x.xlsx")


def test_empty_and_styled_cells_count_against_no_limit():
    """An exporter formatting whole rows writes empty cells to the sheet's last column."""
    sheet = SHEET.replace("</row>\n<row r=\"2\">", '<c r="XFD1" s="1"/></row>\n<row r="2">')
    with open_workbook(handmade(sheet=sheet), "x.xlsx", SheetLimits(10, 10, 1 << 30)) as book:
        assert book.rows("Trang 1", columns=[1])[1] == ("plain",)


def test_a_cell_whose_value_is_not_its_type_is_refused_naming_the_cell():
    raw = handmade(sheet=SHEET.replace('<c r="A2"><v>42</v>', '<c r="A2"><v>bốn hai</v>'))
    with pytest.raises(RejectedObject, match=r"^cell A2 holds 'bốn hai', not a value of its "
                                             r"type 'n' — x\.xlsx$"):
        by_htx(raw)
