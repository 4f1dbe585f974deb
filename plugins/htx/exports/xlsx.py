"""The plan's tables as an XLSX workbook (openpyxl), laid out like the plan's annex tables.

One sheet per group (HTX, LHHTX, THT, QTDND, Cho vay hỗ trợ), one of plan against actual
(Kế hoạch – thực hiện: target, its plan document, attainment, year-end estimate), one by
locality in the map in force at the period's end (Theo địa bàn, with the unplaced share) and,
after the 2025 reform, the old districts beside the new units (Đối chiếu địa bàn cũ – mới): a
title, the period (`Từ 01/01/2024 đến 30/09/2024`), then STT | Chỉ tiêu | Đơn vị tính |
Thực hiện [| Tỷ trọng (%)] with the column-number row the annexes carry.

Numbers stay numbers. Their format codes carry the Vietnamese locale tag `[$-42A]` before
Excel's invariant pattern (`[$-42A]#,##0.0`): the file always stores `,` for grouping and `.` for
decimals, and the application shows the reader's separators — 1.234,5 in LibreOffice whatever
its interface language (it honours the tag) and in Excel under Vietnamese regional settings, the
norm in a provincial office. Values are shown rounded; the cell holds the exact value (as a
float) in the unit written on its line.
"""
from __future__ import annotations

from pathlib import Path

from htx.exports.data import PeriodData
from htx.exports.labels import date_vi, period_vi
from htx.exports.labels import UNPLACED_VI, number_vi
from htx.exports.tables import (ACROSS_REFORM_NOTE, ACROSS_REFORM_SHEET, ACROSS_REFORM_TITLE,
                                GROUP_TABLES, LOCALITY_SHEET, LOCALITY_TITLE, PLAN_SHEET,
                                SHARE_HEADER, Table, across_reform_lines, fill, locality_lines,
                                plan_lines, plan_title, unplaced_shares)

# Function-local imports: openpyxl (slow to import) only when a workbook is written.

VI_LOCALE = "[$-42A]"   # LCID 0x042A: Vietnamese (Vietnam)
NUMBER_FORMATS = {d: VI_LOCALE + "#,##0" + ("." + "0" * d if d else "") for d in range(4)}
MISSING = "-"           # what the annexes print where there is no figure
FONT = "Times New Roman"  # the font of the province's documents
SOURCE_NOTE = ("Nguồn: kho dữ liệu htx-data (mart.plan_indicator), làm mới lúc {refreshed}. "
               "Số liệu được tính chính xác và hiển thị đã làm tròn; danh sách đơn vị tạo nên "
               "từng số liệu: mart.plan_indicator_members.")


def number_format(decimals: int) -> str:
    return NUMBER_FORMATS[decimals]


def write(data: PeriodData, path: Path) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for table in GROUP_TABLES:
        _group_sheet(book.create_sheet(table.sheet), table, data)
    _plan_sheet(book.create_sheet(PLAN_SHEET), data)
    _locality_sheet(book.create_sheet(LOCALITY_SHEET), data)
    if data.across_reform:
        _across_reform_sheet(book.create_sheet(ACROSS_REFORM_SHEET), data)
    book.properties.title = ("Kế hoạch phát triển kinh tế tập thể — "
                             + period_vi(data.start, data.end))
    book.properties.creator = "htx-data"
    book.properties.language = "vi-VN"
    book.save(path)
    return path


def _group_sheet(sheet, table: Table, data: PeriodData) -> None:
    headers = ["STT", "Chỉ tiêu", "Đơn vị tính", "Thực hiện"]
    if table.has_share:
        headers.append(SHARE_HEADER)
    row = _title_block(sheet, table.title, data, headers)
    for line in fill(table, data.values):
        cells = [line.stt, line.label, "" if line.heading else line.unit,
                 None if line.heading else _figure(line.value)]
        if table.has_share:
            cells.append(_figure(line.share) if line.share is not None else None)
        _table_row(sheet, row, cells, {4: line.decimals, 5: 1}, indent=line.level,
                   bold=line.heading and line.level == 0, italic=line.heading and line.level > 0)
        row += 1
    _footer(sheet, row, data, len(headers))
    _widths(sheet, [7, 62, 16, 16, 14][:len(headers)])


def _plan_sheet(sheet, data: PeriodData) -> None:
    year = data.end.year
    headers = ["STT", "Chỉ tiêu", "Đơn vị tính", f"Kế hoạch năm {year}", "Văn bản giao chỉ tiêu",
               f"Thực hiện đến {date_vi(data.end)}", "Tỷ lệ thực hiện so với kế hoạch (%)",
               f"Ước thực hiện cả năm {year}", "Ước tỷ lệ cả năm so với kế hoạch (%)"]
    row = _title_block(sheet, plan_title(data.end), data, headers)
    lines = plan_lines(data)
    for line in lines:
        cells = [line.stt, line.label, line.unit, line.target, line.document or MISSING,
                 line.value, _figure(line.attainment_pct), _figure(line.estimate),
                 _figure(line.estimate_attainment_pct)]
        _table_row(sheet, row, cells, {4: line.decimals, 6: line.decimals, 7: 1,
                                       8: line.decimals, 9: 1})
        row += 1
    if not lines:
        sheet.cell(row, 2, f"Chưa có chỉ tiêu kế hoạch năm {year} "
                           "(phụ biểu chỉ tiêu, plan_targets/chi_tieu_YYYY.xlsx).")
        row += 1
    _footer(sheet, row, data, len(headers), ESTIMATE_NOTE)
    _widths(sheet, [6, 44, 10, 13, 22, 15, 15, 15, 15])


ESTIMATE_NOTE = ("Ước thực hiện cả năm (kỳ lũy kế kết thúc trước 31/12): chỉ tiêu tại thời điểm "
                 "= thực hiện + (cả năm trước − cùng kỳ năm trước); chỉ tiêu phát sinh trong kỳ "
                 "= thực hiện × cả năm trước ÷ cùng kỳ năm trước (docs/estimates.md). ")


def _locality_sheet(sheet, data: PeriodData) -> None:
    headers = ["STT", "Đơn vị hành chính", "Mã ĐVHC", "Tổng số hợp tác xã",
               "Hợp tác xã thành lập mới", "Tổng số tổ hợp tác"]
    row = _title_block(sheet, LOCALITY_TITLE, data, headers)
    for line in locality_lines(data):
        _table_row(sheet, row, [line.stt, line.label, line.code, *map(_figure, line.values)],
                   dict.fromkeys(range(4, 7), 0), bold=line.total)
        row += 1
    shares = "; ".join(f"{name}: {'-' if share is None else number_vi(share, 1) + '%'}"
                       for name, share in unplaced_shares(data))
    _footer(sheet, row, data, len(headers),
            f"Tỷ lệ \"{UNPLACED_VI}\" (chất lượng dữ liệu: đơn vị không xác định được địa bàn "
            f"theo bản đồ hành chính có hiệu lực ngày {date_vi(data.end)}) — {shares}. ")
    _widths(sheet, [6, 34, 11, 16, 16, 16])


def _across_reform_sheet(sheet, data: PeriodData) -> None:
    last_year = data.end.year - 1
    headers = ["STT", "Huyện cũ / đơn vị hành chính mới", "Mã ĐVHC",
               f"Số HTX cùng kỳ năm {last_year} (địa bàn cũ)",
               f"Số HTX đến {date_vi(data.end)}", "Tổng số HTX của đơn vị mới"]
    row = _title_block(sheet, ACROSS_REFORM_TITLE, data, headers)
    for line in across_reform_lines(data):
        cells = [line.stt, line.label, line.code,
                 _figure(line.previous) if line.level == 0 else None, line.current,
                 _figure(line.unit_total) if line.level else None]
        _table_row(sheet, row, cells, dict.fromkeys(range(4, 7), 0), indent=line.level,
                   bold=line.level == 0)
        row += 1
    _footer(sheet, row, data, len(headers), ACROSS_REFORM_NOTE.format(unplaced=UNPLACED_VI) + " ")
    _widths(sheet, [6, 36, 11, 16, 16, 16])


def _title_block(sheet, title: str, data: PeriodData, headers: list[str]) -> int:
    """Title, period, header row and the column-number row; returns the first data row."""
    from openpyxl.styles import Alignment, Font

    last = len(headers)
    for row, text, font in ((1, title, Font(name=FONT, bold=True, size=13)),
                            (2, period_vi(data.start, data.end), Font(name=FONT, italic=True))):
        sheet.cell(row, 1, text).font = font
        sheet.cell(row, 1).alignment = Alignment(horizontal="center", wrap_text=True)
        sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=last)
    sheet.row_dimensions[1].height = 20 if len(title) <= 60 else 17 * -(-len(title) // 55)
    for column, header in enumerate(headers, start=1):
        cell = _boxed(sheet.cell(4, column, header), bold=True)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    # The annexes number their columns: A, B, C for the text ones, then (1), (2), …
    numbers = ["A", "B", "C"] + [f"({i})" for i in range(1, last - 2)]
    for column, number in enumerate(numbers, start=1):
        cell = _boxed(sheet.cell(5, column, number), italic=True)
        cell.alignment = Alignment(horizontal="center")
    sheet.freeze_panes = "C6"
    sheet.print_title_rows = "4:5"
    sheet.page_setup.orientation = "portrait"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    return 6


def _table_row(sheet, row: int, cells: list, decimals: dict[int, int], indent: int = 0,
               bold: bool = False, italic: bool = False) -> None:
    """STT, label and unit as text; the figures numeric, each with its column's decimals."""
    from openpyxl.styles import Alignment

    for column, value in enumerate(cells, start=1):
        cell = _boxed(sheet.cell(row, column, value), bold=bold, italic=italic)
        if column in (1, 3):
            cell.alignment = Alignment(horizontal="center", vertical="center")
        elif column == 2:
            cell.alignment = Alignment(indent=indent * 2, vertical="center", wrap_text=True)
        elif isinstance(value, float):
            cell.number_format = number_format(decimals[column])
            cell.alignment = Alignment(vertical="center")
        elif isinstance(value, str):   # "-" where there is no figure; a plan document
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)


def _footer(sheet, row: int, data: PeriodData, width: int, note: str = "") -> None:
    from openpyxl.styles import Alignment, Font

    refreshed = (f"{data.refreshed_at.astimezone():%d/%m/%Y %H:%M}" if data.refreshed_at
                 else "chưa rõ")
    cell = sheet.cell(row + 1, 1, note + SOURCE_NOTE.format(refreshed=refreshed))
    cell.font = Font(name=FONT, italic=True, size=10)
    cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.merge_cells(start_row=row + 1, start_column=1, end_row=row + 1, end_column=width)
    sheet.row_dimensions[row + 1].height = 42 + 15 * (len(note) // 90)


def _boxed(cell, bold: bool = False, italic: bool = False):
    from openpyxl.styles import Border, Font, Side

    thin = Side(style="thin")
    cell.border = Border(left=thin, right=thin, top=thin, bottom=thin)
    cell.font = Font(name=FONT, bold=bold, italic=italic)
    return cell


def _widths(sheet, widths: list[int]) -> None:
    from openpyxl.utils import get_column_letter

    for column, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width


def _figure(value):
    return MISSING if value is None else float(value)
