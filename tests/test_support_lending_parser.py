"""Feed 3's contract parser on small real XLSX files: written here with openpyxl, one edge each,
and one committed file (tests/corpus/support_lending/)."""
import io
import unicodedata
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from htx.feeds.common import RejectedObject
from htx.feeds.support_lending import CHECK_COLUMNS, COLUMNS, parse_object, reconcile_totals

CORPUS = Path(__file__).parent / "corpus" / "support_lending"
HEADERS = ["STT", "Mã số HTX", "Tên HTX", "Số hợp đồng", "Ngày giải ngân", "Số tiền giải ngân",
           "Dư nợ", "Nhóm nợ", "Ngày đến hạn"]
# Valid MSTs (check digit right): 5700100104, 5700100263.
A, B = "5700100104", "5700100263"
DETAILS = [
    [1, A, "Hợp tác xã Nông nghiệp Hoa Phong", "01/2022/HĐTD", datetime(2022, 3, 15), 500, 0, 1,
     datetime(2024, 3, 15)],
    [2, A, "Hợp tác xã Nông nghiệp Hoa Phong", "07/2024/HĐTD", "05/04/2024", 300.5, 250.25, 1,
     "05/04/2027"],
    [3, B, "Hợp tác xã Vận tải Quảng Yên", "09/2023/HĐTD", datetime(2023, 9, 1), 800, 600, 3,
     datetime(2026, 9, 1)],
]


def report_bytes(details=None, *, title="BÁO CÁO CHO VAY HỖ TRỢ PHÁT TRIỂN HỢP TÁC XÃ",
                 date_line="Đến ngày 30/09/2024", unit="Đơn vị: triệu đồng",
                 fund_label="Tổng nguồn vốn ủy thác:", fund=40341, headers=None,
                 totals="sum", after=(), sheet="BaoCao") -> bytes:
    """A report in the contract's layout; `totals` "sum" writes the detail sums, None no row,
    a tuple (disbursed, outstanding) those values."""
    import openpyxl

    details = DETAILS if details is None else details
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = sheet
    ws["A1"], ws["A2"], ws["A3"] = title, date_line, unit
    ws["A4"], ws["C4"] = fund_label, fund
    for column, header in enumerate(headers or HEADERS, start=1):
        ws.cell(6, column, header)
    for row in details:
        ws.append(row)
    if totals == "sum":
        totals = tuple(float(sum(Decimal(str(r[i])) for r in details
                                 if len(r) > i and isinstance(r[i], (int, float, Decimal))))
                       for i in (5, 6))
    if totals is not None:
        ws.append([None, None, "Tổng cộng", None, None, *totals])
    for row in after:
        ws.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def parse(data: bytes, name="lending/vbsp_202409.xlsx"):
    """The rows the pipeline takes: parsed, and passing the feed's batch check."""
    rows = list(parse_object(data, name))
    assert reconcile_totals(rows, name) == []
    return rows


def unreconciled(data: bytes, name="lending/vbsp_202409.xlsx") -> str:
    """The reason the feed's batch check (its table-level rule) rejects the parsed file."""
    (reason,) = reconcile_totals(list(parse_object(data, name)), name)
    return reason


def rejected(data: bytes, name="lending/vbsp_202409.xlsx") -> str:
    with pytest.raises(RejectedObject) as caught:
        parse(data, name)
    message = str(caught.value)
    assert message.endswith(f" — {name}")   # the reason first, then the file
    return message


# --- the good path ------------------------------------------------------------------------

def test_a_valid_report_becomes_typed_contract_rows_carrying_the_files_facts():
    rows = parse(report_bytes())
    assert [r.source_row for r in rows] == [7, 8, 9]
    assert all(r.failures == [] for r in rows)
    first = rows[0].values
    assert set(COLUMNS + CHECK_COLUMNS) <= set(first)
    assert first["report_date"] == date(2024, 9, 30)
    assert first["fund_size_trieu"] == Decimal(40341)
    assert (first["file_detail_rows"], first["file_disbursed_total_trieu"],
            first["file_outstanding_total_trieu"]) == (3, Decimal("1600.5"), Decimal("850.25"))
    assert (first["htx_code"], first["contract_no"], first["debt_group"]) == (A, "01/2022/HĐTD", 1)
    assert first["disbursed_on"] == date(2022, 3, 15) and first["due_on"] == date(2024, 3, 15)
    assert all(rows[0].values[c] is True for c in CHECK_COLUMNS)


def test_excel_dates_and_dd_mm_yyyy_text_dates_both_parse():
    second = parse(report_bytes())[1].values
    assert (second["disbursed_on"], second["due_on"]) == (date(2024, 4, 5), date(2027, 4, 5))


def test_amounts_keep_their_decimals_exactly():
    second = parse(report_bytes())[1].values
    assert second["disbursed_trieu"] == Decimal("300.5")
    assert second["outstanding_trieu"] == Decimal("250.25")
    assert isinstance(second["outstanding_trieu"], Decimal)


def test_binary_float_noise_in_a_total_still_reconciles():
    details = [[1, A, "HTX", "a", datetime(2024, 1, 2), 0.1, 0.1, 1, None],
               [2, B, "HTX", "b", datetime(2024, 1, 3), 0.2, 0.2, 1, None]]
    rows = parse(report_bytes(details, totals=(0.1 + 0.2, 0.30000000001)))
    assert rows[0].values["file_disbursed_total_trieu"] == Decimal("0.3")
    assert sum(r.values["disbursed_trieu"] for r in rows) == Decimal("0.3")


def test_the_committed_real_file_parses_with_its_quirks():
    rows = parse((CORPUS / "vbsp_202403_small.xlsx").read_bytes(), "lending/vbsp_202403.xlsx")
    values = [r.values for r in rows]
    assert values[0]["report_date"] == date(2024, 3, 31)
    assert values[0]["fund_size_trieu"] == Decimal("35000.5")
    # A code typed into a number cell loses its leading zero; it is padded back.
    assert values[1]["htx_code"] == "0100109106"
    # An NFD name is stored NFC.
    assert values[0]["htx_name"] == unicodedata.normalize("NFC", values[0]["htx_name"])
    assert [v["disbursed_on"] for v in values] == [date(2023, 1, 10), date(2023, 6, 1),
                                                  date(2024, 2, 29)]
    assert sum(v["outstanding_trieu"] for v in values) == values[0]["file_outstanding_total_trieu"]
    assert all(not r.failures for r in rows)


# --- row failures (the row is quarantined, the file loads) --------------------------------

@pytest.mark.parametrize("column, value, field, rule", [
    (4, "31/02/2024", "disbursed_on", "is_date"),
    (8, "2024-09-01", "due_on", "is_date"),
    (8, 45000, "due_on", "is_date"),
    (6, "250,25", "outstanding_trieu", "is_number"),
    (7, "ba", "debt_group", "is_integer"),
    (7, 2.5, "debt_group", "is_integer"),
    (1, 57001001.5, "htx_code", "is_tax_code"),
])
def test_an_unreadable_value_fails_its_row_naming_field_rule_and_value(column, value, field, rule):
    details = [list(r) for r in DETAILS]
    details[1][column] = value
    rows = parse(report_bytes(details, totals=(1600.5, 850.25)
                              if column != 6 else (1600.5, 600)))
    assert [(f.field, f.rule, f.value) for f in rows[1].failures] == [(field, rule, value)]
    assert rows[0].failures == rows[2].failures == []


def test_a_text_amount_is_refused_not_guessed():
    details = [list(r) for r in DETAILS]
    details[2][5] = "40.341"   # forty, or forty thousand? The contract says numbers.
    rows = parse(report_bytes(details, totals=(800.5, 850.25)))
    assert rows[2].failures[0].describe().startswith(
        "disbursed_trieu: Số tiền giải ngân is not a number")


def test_derived_checks_flag_what_the_suite_quarantines():
    details = [list(r) for r in DETAILS] + [
        [4, "5700100105", "HTX sai mã", "10/2024/HĐTD", datetime(2024, 10, 2), 100, 100, None,
         datetime(2024, 9, 1)],
        [5, B, "Hợp tác xã Vận tải Quảng Yên", "09/2023/HĐTD", datetime(2023, 9, 1), 800, 0, None,
         datetime(2026, 9, 1)],
    ]
    rows = parse(report_bytes(details))
    bad, repeat = rows[3].values, rows[4].values
    assert bad["htx_code_check_digit_ok"] is False
    assert bad["disbursed_by_report_date"] is False
    assert bad["debt_group_given_when_outstanding"] is False
    assert bad["due_after_disbursement"] is False
    assert rows[2].values["contract_no_first_in_file"] is True
    assert repeat["contract_no_first_in_file"] is False
    assert repeat["debt_group_given_when_outstanding"] is True   # repaid: no group needed


def test_a_tax_code_of_the_wrong_shape_is_not_checked_twice():
    details = [list(r) for r in DETAILS]
    details[0][1] = "57001"
    assert parse(report_bytes(details))[0].values["htx_code_check_digit_ok"] is None


def test_blank_rows_are_skipped_and_rows_keep_their_sheet_numbers():
    details = [DETAILS[0], [None] * 9, DETAILS[1], ["", " ", None], DETAILS[2]]
    rows = parse(report_bytes(details))
    assert [r.source_row for r in rows] == [7, 9, 11]
    assert rows[0].values["file_detail_rows"] == 3


def test_headers_match_whatever_their_unicode_form_and_spacing():
    headers = [unicodedata.normalize("NFD", h) for h in HEADERS]
    headers[5] = "Số tiền\ngiải  ngân "
    assert len(parse(report_bytes(headers=headers))) == 3


def test_the_unit_may_be_written_don_vi_tinh_in_any_case():
    assert len(parse(report_bytes(unit="ĐƠN VỊ TÍNH: Triệu đồng"))) == 3


def test_the_fund_label_may_use_either_spelling_of_uy():
    assert len(parse(report_bytes(fund_label="Tổng nguồn vốn uỷ thác:"))) == 3


# --- whole-file rejections ------------------------------------------------------------------

def test_totals_that_do_not_reconcile_reject_the_file_with_both_figures_for_each_column():
    message = unreconciled(report_bytes(totals=(1600.5, 970.25)))
    assert "'Tổng cộng' row 10 does not reconcile" in message
    assert "Số tiền giải ngân: file total 1,600.5, sum of the 3 detail rows 1,600.5" in message
    assert ("Dư nợ: file total 970.25, sum of the 3 detail rows 850.25 (difference 120.00)"
            in message)


def test_reconciliation_allows_less_than_half_a_unit_of_the_details_finest_decimal():
    # Disbursed amounts use one decimal (300.5): a difference below 0.05 is Excel's arithmetic.
    assert len(parse(report_bytes(totals=(1600.54, 850.25)))) == 3
    assert "difference 0.05" in unreconciled(report_bytes(totals=(1600.55, 850.25)))
    assert "difference 0.01" in unreconciled(report_bytes(totals=(1600.5, 850.26)))


def test_rows_that_will_be_quarantined_still_count_in_the_reconciliation():
    details = [list(r) for r in DETAILS]
    details[2][1] = "5700100105"   # bad check digit: quarantined later, but the bank summed it
    rows = parse(report_bytes(details))
    assert rows[2].values["htx_code_check_digit_ok"] is False


def test_an_unreadable_amount_is_named_when_the_totals_then_differ():
    details = [list(r) for r in DETAILS]
    details[2][6] = "sáu trăm"
    message = unreconciled(report_bytes(details, totals=(1600.5, 850.25)))
    assert "(1 row(s) without a readable amount)" in message


def test_a_report_of_no_contract_is_reconciled_by_the_parser():
    # No row carries the totals to the batch check: the parser checks them itself.
    assert parse(report_bytes([], totals=(0, 0))) == []
    message = rejected(report_bytes([], totals=(5, 0)))
    assert "'Tổng cộng' row 7 does not reconcile" in message
    assert "Số tiền giải ngân: file total 5, sum of the 0 detail rows 0 (difference 5)" in message


def test_a_missing_totals_row_rejects_the_file():
    assert "no 'Tổng cộng' totals row (column C) after the 3 detail row(s)" in rejected(
        report_bytes(totals=None))


def test_a_totals_row_without_a_total_rejects_the_file():
    assert "has no numeric 'Dư nợ' total" in rejected(report_bytes(totals=(1600.5, None)))


def test_content_after_the_totals_row_rejects_the_file():
    message = rejected(report_bytes(after=[[], [None, None, "Người lập biểu"]]))
    assert "row 12 follows the 'Tổng cộng' row 10" in message


def test_a_renamed_sheet_is_rejected_naming_the_sheets_found():
    assert "no sheet 'BaoCao'; the workbook's sheets are: 'Bao cao T9'" in rejected(
        report_bytes(sheet="Bao cao T9"))


@pytest.mark.parametrize("data, expected", [
    (b"", "the file is empty (0 bytes)"),
    (b"STT;Ma so HTX\n1;5700100104\n", "not a readable XLSX workbook"),
    (bytes.fromhex("d0cf11e0a1b11ae1") + b"\0" * 500, "Excel 97–2003 (.xls)"),
    (b"PK\x03\x04 truncated zip", "not a readable XLSX workbook"),
])
def test_a_file_that_is_not_xlsx_is_rejected_with_a_clear_message(data, expected):
    assert expected in rejected(data)


@pytest.mark.parametrize("date_line, expected", [
    (None, "row 2 should read 'Đến ngày dd/mm/yyyy' (the report date) but reads ''"),
    ("Đến ngày 31/02/2024", "the report date '31/02/2024' in row 2 is not a calendar date"),
    ("Tháng 9 năm 2024", "but reads 'Tháng 9 năm 2024'"),
])
def test_a_missing_or_impossible_report_date_rejects_the_file(date_line, expected):
    assert expected in rejected(report_bytes(date_line=date_line))


def test_a_report_date_in_one_digit_form_is_read():
    assert parse(report_bytes(date_line="Đến ngày 30/9/2024"))[0].values["report_date"] == date(
        2024, 9, 30)


@pytest.mark.parametrize("unit", ["Đơn vị: đồng", "Đơn vị: nghìn đồng", None])
def test_a_unit_other_than_trieu_dong_rejects_the_file_naming_what_it_says(unit):
    message = rejected(report_bytes(unit=unit))
    assert f"row 3 gives the unit as {unit or ''!r}" in message


@pytest.mark.parametrize("fund, expected", [
    (None, "C4 (the trust fund's size) is empty"),
    ("40.341", "C4 (the trust fund's size) is '40.341', not a number"),
    (-5, "C4 (the trust fund's size) is negative"),
])
def test_a_missing_or_unreadable_fund_size_rejects_the_file(fund, expected):
    assert expected in rejected(report_bytes(fund=fund))


def test_a_wrong_fund_label_rejects_the_file():
    assert "A4 should read 'Tổng nguồn vốn ủy thác:'" in rejected(
        report_bytes(fund_label="Tổng dư nợ:"))


def test_a_missing_or_renamed_column_rejects_the_file_naming_it():
    headers = list(HEADERS)
    headers[6] = "Dư nợ cuối kỳ"
    message = rejected(report_bytes(headers=headers))
    assert "row 6 lacks the column(s) 'Dư nợ'" in message and "'Dư nợ cuối kỳ'" in message
    message = rejected(report_bytes(headers=HEADERS[:8]))
    assert "lacks the column(s) 'Ngày đến hạn'" in message


def test_a_repeated_column_rejects_the_file():
    assert "column 'Dư nợ' appears twice" in rejected(report_bytes(headers=HEADERS + ["Dư nợ"]))


def test_a_wrong_used_range_written_by_an_exporter_hides_no_cells():
    import re
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(report_bytes()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(rb'<dimension ref="[^"]*" ?/>', b'<dimension ref="A1:B2"/>', data)
            target.writestr(item, data)
    assert b"A1:B2" in zipfile.ZipFile(buffer).read("xl/worksheets/sheet1.xml")
    rows = parse(buffer.getvalue())
    assert len(rows) == 3 and rows[2].values["due_on"] == date(2026, 9, 1)
