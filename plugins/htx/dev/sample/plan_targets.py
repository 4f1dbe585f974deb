"""Deterministic sample of feed 6: the plan's target annexes ("Phụ biểu 02"), one XLSX per year.

  * `plan_targets/chi_tieu_2024.xlsx`: the 2024 annex with the two targets the 2025 plan document
    prints for 2024 (seed-figures.json: `HTX_TOTAL` 747, `HTX_NEW` 55). The seed document does not
    give the 2024 plan's number: "Kế hoạch số 263/KH-UBND ngày 30/10/2023" is the sample's own.
  * `plan_targets/chi_tieu_2025.xlsx`: the 2025 annex of Kế hoạch số 247/KH-UBND ngày 25/10/2024
    (the seed document; its annex is not in the seed, so the figures are the sample's own), with a
    row for every quarantine reason: a code outside the catalogue, a breakdown the code does not
    have, a negative target, a percentage above 100, and a code and breakdown given twice.
    `_resend/` holds its adjustment ("điều chỉnh kế hoạch", Kế hoạch số 152/KH-UBND ngày
    12/08/2025): the rows corrected and a target on the new map (`locality=06652`, phường Hà Tu);
    it is in force from its delivery on, the first version stays on record.
  * three broken annexes, each rejected whole: `chi_tieu_2023.xlsx` whose title says 2022 (last
    year's template), `chi_tieu_2022.xlsx` with a renamed header (`Mã CT`), and
    `chi_tieu_2021.xlsx` with section rows only.
Targets are written as number cells and as Vietnamese text (`62.000`, `75,0`).
"""
from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path

from htx.dev.sample import RESEND_DIR
from htx.dev.sample.support_lending import _save

# Function-local imports: openpyxl (slow to import) only when a workbook is written.

TITLE = "CHỈ TIÊU KẾ HOẠCH PHÁT TRIỂN KINH TẾ TẬP THỂ, HỢP TÁC XÃ NĂM {year}"
DOCUMENT = "(Kèm theo Kế hoạch số {number} ngày {day:%d/%m/%Y} của UBND tỉnh Quảng Ninh)"
HEADERS = ["STT", "Chỉ tiêu", "Đơn vị tính", "Mã chỉ tiêu", "Phân tổ", "Kế hoạch năm {year}"]
HTX = ["I", "Hợp tác xã", None, None, None, None]
THT = ["II", "Tổ hợp tác", None, None, None, None]

ANNEX_2024 = [
    HTX,
    ["1", "Tổng số hợp tác xã", "HTX", "HTX_TOTAL", None, 747],
    ["2", "Số hợp tác xã thành lập mới", "HTX", "HTX_NEW", None, 55],
]
ANNEX_2025 = [
    HTX,
    ["1", "Tổng số hợp tác xã", "HTX", "HTX_TOTAL", None, 950],
    ["2", "Số hợp tác xã thành lập mới", "HTX", "HTX_NEW", None, 60],
    ["2.1", "Trong đó: lĩnh vực nông nghiệp", "HTX", "HTX_NEW", "sector=nong_nghiep", 40],
    ["3", "Số hợp tác xã giải thể", "HTX", "HTX_DISSOLVED", None, -2],
    ["4", "Tỷ trọng hợp tác xã nông nghiệp", "%", "HTX_SECTOR_SHARE", "sector=nong_nghiep", 750],
    ["5", "Doanh thu bình quân một hợp tác xã", "triệu đồng", "HTX_DOANH_THU", None, 1000],
    ["6", "Tổng số thành viên hợp tác xã", "người", "HTX_MEMBERS", None, "62.000"],
    THT,
    ["7", "Tổng số tổ hợp tác", "THT", "THT_TOTAL", None, 230],
    ["8", "Tổng số tổ hợp tác (ước)", "THT", "THT_TOTAL", None, 240],
]
ANNEX_2025_ADJUSTED = [
    HTX,
    ["1", "Tổng số hợp tác xã", "HTX", "HTX_TOTAL", None, 950],
    ["2", "Số hợp tác xã thành lập mới", "HTX", "HTX_NEW", None, 60],
    ["2.1", "Trong đó: phường Hà Tu", "HTX", "HTX_NEW", "locality=06652", 5],
    ["3", "Số hợp tác xã giải thể", "HTX", "HTX_DISSOLVED", None, 2],
    ["4", "Tỷ trọng hợp tác xã nông nghiệp", "%", "HTX_SECTOR_SHARE", "sector=nong_nghiep", "75,0"],
    ["5", "Tổng số thành viên hợp tác xã", "người", "HTX_MEMBERS", None, "62.000"],
    THT,
    ["6", "Tổng số tổ hợp tác", "THT", "THT_TOTAL", None, 230],
]


def write_files(root: Path, registry_items: list[dict]) -> list[Path]:
    folder = root / "plan_targets"
    resend = root / RESEND_DIR / "plan_targets"
    for path in (folder, resend):
        path.mkdir(parents=True, exist_ok=True)
    return [
        _write(folder / "chi_tieu_2024.xlsx", 2024, "263/KH-UBND", date(2023, 10, 30), ANNEX_2024),
        _write(folder / "chi_tieu_2025.xlsx", 2025, "247/KH-UBND", date(2024, 10, 25), ANNEX_2025),
        _write(resend / "chi_tieu_2025.xlsx", 2025, "152/KH-UBND", date(2025, 8, 12),
               ANNEX_2025_ADJUSTED),
        # Broken: last year's template kept its title; a header renamed; sections only.
        _write(folder / "chi_tieu_2023.xlsx", 2023, "270/KH-UBND", date(2022, 10, 28), ANNEX_2024,
               title_year=2022),
        _write(folder / "chi_tieu_2022.xlsx", 2022, "255/KH-UBND", date(2021, 10, 29), ANNEX_2024,
               renamed={"Mã chỉ tiêu": "Mã CT"}),
        _write(folder / "chi_tieu_2021.xlsx", 2021, "231/KH-UBND", date(2020, 10, 30), [HTX, THT]),
    ]


def _write(path: Path, year: int, number: str, issued: date, rows: list[list],
           title_year: int | None = None, renamed: dict | None = None) -> Path:
    import openpyxl
    from openpyxl.styles import Alignment, Font

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "ChiTieu"
    for row, text in ((1, TITLE.format(year=title_year or year)),
                      (2, DOCUMENT.format(number=number, day=issued))):
        sheet.cell(row, 1, text).alignment = Alignment(horizontal="center")
        sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=len(HEADERS))
    sheet["A1"].font = Font(bold=True)
    for column, header in enumerate(HEADERS, start=1):
        header = header.format(year=year)
        sheet.cell(4, column, (renamed or {}).get(header, header)).font = Font(bold=True)
    for cells in rows:
        sheet.append(cells)
        if cells[0] in ("I", "II"):
            sheet.cell(sheet.max_row, 2).font = Font(bold=True)
    for letter, width in zip("ABCDEF", (6, 44, 12, 22, 22, 16)):
        sheet.column_dimensions[letter].width = width
    _save(book, path, stamp=datetime.combine(issued, time(9)))
    return path
