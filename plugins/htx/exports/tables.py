"""The plan's tables (biểu) as data: which indicator goes on which line, in the plan's order.

Part One of the plan reports cooperatives (HTX), unions (LHHTX), cooperative groups (THT),
people's credit funds (QTDND) and the support-lending trust fund, each line a figure with its
unit, breakdown lines under their total ("Trong đó") with their share. The XLSX workbook and the
HTML report both lay these tables out; `fill` resolves them against one period's indicators.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from htx.exports.labels import (HTX_SECTORS, INDICATORS, LHHTX_GROUPS, THT_GROUPS, Display,
                                breakdown_vi, display, shown)

SHARE_HEADER = "Tỷ trọng (%)"


@dataclass(frozen=True)
class Line:
    stt: str
    code: str | None = None       # None: a heading line ("Trong đó: …")
    breakdown: str = ""
    label: str | None = None      # default: the indicator's Vietnamese name
    share: tuple[str, str] | None = None   # (indicator, breakdown) shown in the share column
    level: int = 0                # indentation under the line above


@dataclass(frozen=True)
class Table:
    sheet: str                    # sheet name (≤ 31 characters)
    title: str
    lines: tuple[Line, ...]
    has_share: bool = False


@dataclass(frozen=True)
class FilledLine:
    stt: str
    label: str
    unit: str
    value: float | None           # in the displayed unit; None when the marts hold no value
    share: float | None
    decimals: int
    level: int
    heading: bool


def _breakdown_lines(prefix: str, code: str, names: dict[str, str], share_code: str | None,
                     level: int = 1) -> tuple[Line, ...]:
    return tuple(
        Line(f"{prefix}.{i}", code, f"sector={key}", name,
             (share_code, f"sector={key}") if share_code else None, level)
        for i, (key, name) in enumerate(names.items(), start=1))


HTX_TABLE = Table("HTX", "Biểu 01. HỢP TÁC XÃ", (
    Line("I", label="Số lượng hợp tác xã"),
    Line("1", "HTX_TOTAL"),
    Line("", label="Trong đó, theo lĩnh vực hoạt động:", level=1),
    *_breakdown_lines("1", "HTX_BY_SECTOR", HTX_SECTORS, "HTX_SECTOR_SHARE"),
    Line("2", "HTX_NEW"),
    Line("3", "HTX_DISSOLVED"),
    Line("4", "HTX_TAX_ACTIVE"),
    Line("5", "HTX_NOT_ACTIVE", share=("HTX_NOT_ACTIVE_SHARE", "")),
    Line("II", label="Vốn, doanh thu, lợi nhuận, thu nhập"),
    Line("6", "HTX_CHARTER_CAPITAL"),
    Line("7", "HTX_AVG_REVENUE"),
    Line("8", "HTX_AVG_PROFIT"),
    Line("9", "HTX_AVG_INCOME"),
    Line("III", label="Thành viên, lao động, cán bộ quản lý"),
    Line("10", "HTX_MEMBERS"),
    Line("11", "HTX_WORKERS"),
    Line("", "HTX_MEMBER_WORKERS", label="Trong đó: lao động là thành viên hợp tác xã", level=1),
    Line("12", "HTX_MANAGERS"),
    Line("12.1", "HTX_MANAGERS_VOCATIONAL", level=1),
    Line("12.2", "HTX_MANAGERS_COLLEGE_PLUS", level=1),
), has_share=True)

LHHTX_TABLE = Table("LHHTX", "Biểu 02. LIÊN HIỆP HỢP TÁC XÃ", (
    Line("1", "LHHTX_TOTAL"),
    *_breakdown_lines("1", "LHHTX_TOTAL", LHHTX_GROUPS, None),
    Line("2", "LHHTX_CHARTER_CAPITAL"),
    Line("3", "LHHTX_MEMBER_COOPS"),
))

THT_TABLE = Table("THT", "Biểu 03. TỔ HỢP TÁC", (
    Line("1", "THT_TOTAL"),
    Line("", label="Trong đó, theo lĩnh vực hoạt động:", level=1),
    *_breakdown_lines("1", "THT_TOTAL", THT_GROUPS, "THT_SECTOR_SHARE"),
    Line("2", "THT_MEMBERS"),
), has_share=True)

QTDND_TABLE = Table("QTDND", "Biểu 04. QUỸ TÍN DỤNG NHÂN DÂN", (
    Line("1", "QTDND_TOTAL"),
    Line("2", "QTDND_MEMBERS"),
    Line("3", "QTDND_EMPLOYEES"),
    Line("4", "QTDND_TOTAL_CAPITAL"),
    Line("4.1", "QTDND_EQUITY", share=("QTDND_EQUITY_SHARE", ""), level=1),
    Line("4.2", "QTDND_DEPOSITS", share=("QTDND_DEPOSIT_SHARE", ""), level=1),
    Line("5", "QTDND_LOANS"),
    Line("6", "QTDND_NPL_RATIO"),
    Line("7", "QTDND_AVG_REVENUE"),
    Line("8", "QTDND_AVG_PROFIT"),
    Line("9", "QTDND_AVG_EMPLOYEE_INCOME"),
), has_share=True)

LENDING_TABLE = Table("Cho vay hỗ trợ", "Biểu 05. CHO VAY HỖ TRỢ PHÁT TRIỂN HỢP TÁC XÃ "
                      "(vốn ngân sách tỉnh ủy thác qua Ngân hàng Chính sách xã hội)", (
    Line("1", "LENDING_FUND_SIZE"),
    Line("2", "LENDING_CONTRACTS"),
    Line("3", "LENDING_DISBURSED"),
    Line("4", "LENDING_OUTSTANDING"),
    Line("5", "LENDING_BORROWERS_OUTSTANDING"),
    Line("6", "LENDING_NPL_RATIO"),
))

GROUP_TABLES = (HTX_TABLE, LHHTX_TABLE, THT_TABLE, QTDND_TABLE, LENDING_TABLE)
PLAN_SHEET = "Kế hoạch – thực hiện"
PLAN_TITLE = "Biểu 06. THỰC HIỆN SO VỚI KẾ HOẠCH NĂM {year}"


@dataclass(frozen=True)
class PlanLine:
    stt: str
    label: str
    unit: str
    target: float
    value: float
    attainment_pct: float
    decimals: int


def fill(table: Table, values: dict) -> list[FilledLine]:
    """The table's lines with one period's values (`values[(code, breakdown)]` → Indicator)."""
    filled = []
    for line in table.lines:
        shown_as: Display = display(line.code) if line.code else Display("", "")
        found = values.get((line.code, line.breakdown)) if line.code else None
        share = values.get(line.share) if line.share else None
        filled.append(FilledLine(
            stt=line.stt, label=line.label or shown_as.name, unit=shown_as.unit,
            value=shown(line.code, found.value) if found else None,
            share=float(share.value) if share else None, decimals=shown_as.decimals,
            level=line.level, heading=line.code is None))
    return filled


def plan_lines(values: dict) -> list[PlanLine]:
    """Every indicator of the period that has a plan target, in the catalogue's order."""
    order = {code: i for i, code in enumerate(INDICATORS)}
    with_target = sorted((k for k, v in values.items() if v.target is not None),
                         key=lambda k: (order.get(k[0], len(order)), k))
    lines = []
    for number, (code, breakdown) in enumerate(with_target, start=1):
        found, shown_as = values[(code, breakdown)], display(code)
        label = shown_as.name + (f": {breakdown_vi(code, breakdown)}" if breakdown else "")
        lines.append(PlanLine(str(number), label, shown_as.unit, shown(code, found.target),
                              shown(code, found.value),
                              float(found.attainment_pct) if found.attainment_pct is not None
                              else None, shown_as.decimals))
    return lines


def plan_title(end: date) -> str:
    return PLAN_TITLE.format(year=end.year)
