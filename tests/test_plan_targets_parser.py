"""Feed 6's contract parser on small real XLSX files: written here with openpyxl, one edge each,
and one committed file (tests/corpus/plan_targets/)."""
import re
import unicodedata
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from htx.feeds import plan_targets
from htx.feeds.common import RejectedObject
from htx.feeds.plan_targets import CHECK_COLUMNS, COLUMNS, parse_object
from plan_targets_support import DOCUMENT, HEADERS, ROWS, TITLE, annex_bytes, target_row

CORPUS = Path(__file__).parent / "corpus" / "plan_targets"
NAME = "plan_targets/chi_tieu_2024.xlsx"


def parse(data: bytes, name=NAME):
    return list(parse_object(data, name))


def test_a_valid_annex_gives_its_target_rows_with_the_plan_document():
    rows = parse(annex_bytes())
    assert [r.source_row for r in rows] == [6, 7]          # the section row is skipped
    first = rows[0].values
    assert (first["plan_year"], first["plan_document_no"], first["plan_document_date"]) == (
        2024, "263/KH-UBND", date(2023, 10, 30))
    assert [(r.values["indicator_code"], r.values["breakdown"], r.values["target"])
            for r in rows] == [("HTX_TOTAL", "", Decimal(747)), ("HTX_NEW", "", Decimal(55))]
    assert all(set(COLUMNS + CHECK_COLUMNS) <= set(r.values) and not r.failures for r in rows)
    assert rows[0].values["stt"] == "1" and rows[0].record["Kế hoạch năm 2024"] == 747


def test_the_committed_annex_reads_as_exported():
    """Merged title cells, STT typed as numbers (1.1), NFD text, targets as number cells and
    Vietnamese text, headings without codes, columns in another order with an extra one, and
    formatted empty rows after the table."""
    rows = parse((CORPUS / "chi_tieu_2025.xlsx").read_bytes(), "plan_targets/chi_tieu_2025.xlsx")
    got = [(r.values["stt"], r.values["indicator_code"], r.values["breakdown"],
            r.values["target"]) for r in rows]
    assert got == [
        ("1", "HTX_TOTAL", "", Decimal(950)),
        ("1.1", "HTX_BY_SECTOR", "sector=nong_nghiep", Decimal(700)),
        ("2", "HTX_CHARTER_CAPITAL", "", Decimal("3250000.5")),
        ("3", "HTX_SECTOR_SHARE", "sector=nong_nghiep", Decimal("74.5")),
        ("4", "HTX_NEW", "locality=06652", Decimal(5)),
    ]
    assert rows[0].values["indicator_name"] == unicodedata.normalize("NFC", "Tổng số hợp tác xã")
    assert (rows[0].values["plan_document_no"], rows[0].values["plan_document_date"]) == (
        "247/KH-UBND", date(2024, 10, 25))


@pytest.mark.parametrize("written, number", [
    (747, Decimal(747)), (74.5, Decimal("74.5")), (0.1 + 0.2, Decimal("0.3")),
    ("1.234,5", Decimal("1234.5")), ("62.000", Decimal(62000)), ("3.030.600", Decimal(3030600)),
    ("55", Decimal(55)), ("12,75", Decimal("12.75")), (" 9 ", Decimal(9)), ("-2", Decimal(-2)),
])
def test_targets_are_number_cells_or_vietnamese_text(written, number):
    (row,) = parse(annex_bytes([target_row(target=written)]))
    assert row.failures == [] and row.values["target"] == number


@pytest.mark.parametrize("written", ["1.5", "1,234.5", "12%", "bảy trăm", "1 234", "1.23.4",
                                     True])
def test_a_target_that_is_no_number_fails_the_row_naming_its_value(written):
    (row,) = parse(annex_bytes([target_row(target=written)]))
    assert [(f.field, f.rule, f.value) for f in row.failures] == [("target", "is_number", written)]
    assert "Kế hoạch năm 2024 is not a number" in row.failures[0].message


def test_section_rows_and_headings_are_skipped_but_numbered_rows_are_not():
    rows = parse(annex_bytes([
        ["II", "Tổ hợp tác", None, None, None, None],
        ["iv.", "Khác", None, None, None, None],
        [None, "Trong đó:", None, None, None, None],
        [None, None, None, None, None, None],
        target_row(),
        [3, "Chỉ tiêu chưa có mã", "HTX", None, None, None],     # a target row, quarantined
        ["V", "Có mã", "THT", "THT_TOTAL", None, 230],          # a code makes it a target row
    ]))
    assert [r.source_row for r in rows] == [9, 10, 11]
    assert rows[1].values["indicator_code"] is None and rows[1].values["target"] is None
    assert rows[1].values["indicator_code_known"] is None


def test_breakdowns_are_normalised_and_checked_against_the_catalogue():
    rows = parse(annex_bytes([
        target_row("HTX_BY_SECTOR", " sector = nong_nghiep ", 669),
        target_row("HTX_NEW", "sector=nong_nghiep", 40),     # HTX_NEW has no sector breakdown
        target_row("HTX_TOTAL", "locality=193", 120),          # a district, in force in 2024
        target_row("HTX_TOTAL", "locality=06652", 10),         # the 2025 map: not in 2024
        target_row("HTX_BY_SECTOR", None, 895),                # no total of its own
        target_row("HTX_DOANH_THU", None, 900),                # not a code of the catalogue
    ]))
    assert [(r.values["breakdown"], r.values["indicator_code_known"],
             r.values["breakdown_allowed"]) for r in rows] == [
        ("sector=nong_nghiep", True, True), ("sector=nong_nghiep", True, False),
        ("locality=193", True, True), ("locality=06652", True, False), ("", True, False),
        ("", False, None)]


def test_a_percentage_above_100_is_flagged_and_other_units_are_not():
    rows = parse(annex_bytes([
        target_row("HTX_SECTOR_SHARE", "sector=nong_nghiep", "100"),
        target_row("QTDND_NPL_RATIO", None, 100.5),
        target_row("HTX_MEMBERS", None, 62000),
        target_row("HTX_SECTOR_SHARE", "sector=cong_nghiep", None),
    ]))
    assert [r.values["percentage_within_100"] for r in rows] == [True, False, True, None]


def test_a_code_and_breakdown_repeated_flags_every_occurrence():
    rows = parse(annex_bytes([
        target_row("THT_TOTAL", None, 230), target_row("HTX_TOTAL", None, 747),
        target_row("THT_TOTAL", "", 240), target_row("THT_TOTAL", "sector=khac", 40),
        target_row(None, None, 5), target_row(None, None, 6),
    ]))
    assert [r.values["code_breakdown_once_in_file"] for r in rows] == [
        False, True, False, True, None, None]


def test_headers_are_found_by_name_in_any_order_extra_columns_ignored():
    rows = parse(annex_bytes(
        [["Ghi chú", "HTX_TOTAL", 747, None, 1, "Tổng số"]],
        headers=["Ghi chú", "Mã chỉ tiêu", "Kế hoạch năm 2024", "Phân tổ", "STT", "Chỉ tiêu",
                 "Đơn vị tính"]))
    assert [(r.values["stt"], r.values["indicator_code"], r.values["target"]) for r in rows] == [
        ("1", "HTX_TOTAL", Decimal(747))]


def test_a_landed_name_with_its_checksum_keeps_the_year():
    rows = parse(annex_bytes(), "file:///landing/_landed/plan_targets/batch-00000007/"
                                "chi_tieu_2024.0123456789ab.xlsx")
    assert rows[0].values["plan_year"] == 2024


@pytest.mark.parametrize("document, number, issued", [
    ("(Kèm theo Kế hoạch số :  247/KH-UBND ngày 25/10/2024 của UBND tỉnh Quảng Ninh)",
     "247/KH-UBND", date(2024, 10, 25)),
    ("Kèm theo kế hoạch số 12/KH-UBND ngày 5/1/2024", "12/KH-UBND", date(2024, 1, 5)),
    (unicodedata.normalize("NFD", DOCUMENT), "263/KH-UBND", date(2023, 10, 30)),
])
def test_the_plan_document_is_read_as_written(document, number, issued):
    row = parse(annex_bytes(document=document))[0]
    assert (row.values["plan_document_no"], row.values["plan_document_date"]) == (number, issued)


# --- whole-file rejections ----------------------------------------------------------------

@pytest.mark.parametrize("kwargs, says", [
    ({"title": TITLE.replace("2024", "2023")},
     "the title's year 2023 (row 1) is not the file name's year 2024"),
    ({"title": "KẾ HOẠCH NĂM 2024"}, "row 1 should read 'CHỈ TIÊU KẾ HOẠCH"),
    ({"title": None}, "row 1 should read"),
    ({"document": "(Kèm theo Kế hoạch của UBND tỉnh)"}, "row 2 should read '(Kèm theo Kế hoạch số"),
    ({"document": DOCUMENT.replace("30/10/2023", "31/02/2023")}, "row 2 should read"),
    ({"headers": [h if h != "Mã chỉ tiêu" else "Mã CT" for h in HEADERS]},
     "row 4 lacks the column(s) 'Mã chỉ tiêu'; it holds 'STT', 'Chỉ tiêu', 'Đơn vị tính', 'Mã CT'"),
    ({"headers": HEADERS[:4] + HEADERS[5:]}, "row 4 lacks the column(s) 'Phân tổ'"),
    ({"headers": HEADERS[:5] + ["Kế hoạch năm 2023"]}, "lacks the column(s) 'Kế hoạch năm 2024'"),
    ({"headers": HEADERS + ["Mã chỉ tiêu"]}, "column 'Mã chỉ tiêu' appears twice in row 4"),
    ({"headers": []}, "row 4 lacks the column(s) 'STT', 'Chỉ tiêu'"),
    ({"rows": [ROWS[0], ["II", "Tổ hợp tác"]]}, "no target row below the headers of row 4"),
    ({"rows": []}, "no target row"),
    ({"sheet": "Sheet1"}, "no sheet 'ChiTieu'; the workbook's sheets are: 'Sheet1'"),
])
def test_a_file_not_in_the_contract_is_rejected_naming_it_and_the_fault(kwargs, says):
    with pytest.raises(RejectedObject) as raised:
        parse(annex_bytes(**kwargs))
    message = str(raised.value)
    assert says in message and message.endswith(f" — {NAME}")  # the reason, then the file


@pytest.mark.parametrize("name", ["plan_targets/chi_tieu.xlsx", "plan_targets/targets_2024.xlsx",
                                  "plan_targets/chi_tieu_24.xlsx"])
def test_a_file_name_without_the_plan_year_is_rejected(name):
    with pytest.raises(RejectedObject, match="the file name is not chi_tieu_YYYY.xlsx"):
        parse(annex_bytes(), name)


@pytest.mark.parametrize("data, says", [
    (b"", "the file is empty (0 bytes)"),
    (b"STT;Ma chi tieu\n1;HTX_TOTAL\n", "not a readable XLSX workbook"),
    (bytes.fromhex("d0cf11e0a1b11ae1") + b"\0" * 512, "an Excel 97–2003 (.xls)"),
])
def test_bytes_that_are_no_xlsx_are_rejected(data, says):
    with pytest.raises(RejectedObject, match=re.escape(says)):
        parse(data)


def test_a_truncated_workbook_is_rejected():
    data = annex_bytes()
    with pytest.raises(RejectedObject, match="not a readable XLSX workbook"):
        parse(data[: len(data) // 2])


def test_reading_is_bounded_in_rows(monkeypatch):
    """The shared bounded reader (htx.feeds.xlsx) reads the annex: its row limit holds here."""
    monkeypatch.setenv("HTX_MAX_XLSX_ROWS", "8")
    assert len(parse(annex_bytes(after=[[None] * 6] * 30))) == 2   # blank rows after the table
    with pytest.raises(RejectedObject, match=r"beyond the limit of 8 rows \(HTX_MAX_XLSX_ROWS\)"):
        parse(annex_bytes(after=[[None] * 6, target_row("HTX_NEW", None, 1)]))


def test_columns_beyond_the_bound_are_refused(monkeypatch):
    monkeypatch.setenv("HTX_MAX_XLSX_COLUMNS", "5")
    with pytest.raises(RejectedObject, match=r"cell F4, beyond the limit of 5 columns"):
        parse(annex_bytes())
