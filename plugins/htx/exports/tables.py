"""The plan's tables (biểu) as data: which indicator goes on which line, in the plan's order.

Part One of the plan reports cooperatives (HTX), unions (LHHTX), cooperative groups (THT),
people's credit funds (QTDND) and the support-lending trust fund, each line a figure with its
unit, breakdown lines under their total ("Trong đó") with their share. The XLSX workbook and the
HTML report both lay these tables out; `fill` resolves them against one period's indicators.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from htx.exports.data import LOCALITY_INDICATORS, UNPLACED, PeriodData
from htx.exports.labels import (HTX_SECTORS, INDICATORS, LHHTX_GROUPS, THT_GROUPS, Display,
                                breakdown_vi, display, shown, unit_vi)

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


LOCALITY_SHEET = "Theo địa bàn"
LOCALITY_TITLE = "Biểu 07. HỢP TÁC XÃ, TỔ HỢP TÁC THEO ĐỊA BÀN"
ACROSS_REFORM_SHEET = "Đối chiếu địa bàn cũ – mới"
ACROSS_REFORM_TITLE = ("Biểu 08. SỐ HỢP TÁC XÃ THEO ĐỊA BÀN CẤP HUYỆN CŨ VÀ ĐƠN VỊ HÀNH CHÍNH MỚI"
                       " (Nghị quyết 1679/NQ-UBTVQH15, từ 01/07/2025)")
ACROSS_REFORM_NOTE = ("Mỗi huyện cũ: số hợp tác xã cùng kỳ năm trước và kỳ này theo địa bàn cũ; "
                      "bên dưới, các đơn vị hành chính mới mà xã, phường, thị trấn của huyện nhập "
                      "vào: số hợp tác xã từ huyện đó và tổng số của đơn vị mới (một đơn vị mới có "
                      "thể gồm xã của hai huyện cũ). Hợp tác xã ở xã bị chia tách hoặc có địa chỉ "
                      "không rõ xã được tính vào \"{unplaced}\".")


@dataclass(frozen=True)
class PlanLine:
    stt: str
    label: str
    unit: str
    target: float
    value: float
    attainment_pct: float | None
    decimals: int
    document: str = ""                  # the plan document that set the target
    estimate: float | None = None       # year-end estimate, in the displayed unit
    estimate_attainment_pct: float | None = None


@dataclass(frozen=True)
class LocalityLine:
    stt: str
    label: str
    code: str
    values: list[float | None]          # one per LOCALITY_INDICATORS
    total: bool = False                 # the "Tổng cộng" line


@dataclass(frozen=True)
class AcrossReformLine:
    stt: str
    label: str
    code: str
    previous: float | None              # last year's same months, old map
    current: float                      # this period (old map, or from that district)
    unit_total: float | None            # a new unit's whole count (its sub-lines only)
    level: int


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


def plan_lines(data: PeriodData) -> list[PlanLine]:
    """Every indicator of the period that has a plan target, in the catalogue's order, with the
    plan document that set it and the year-end estimate."""
    values = data.values
    order = {code: i for i, code in enumerate(INDICATORS)}
    with_target = sorted((k for k, v in values.items() if v.target is not None),
                         key=lambda k: (order.get(k[0], len(order)), k))
    units = {f"locality={unit.code}": unit_vi(unit) for unit in data.localities}
    lines = []
    for number, (code, breakdown) in enumerate(with_target, start=1):
        found, shown_as = values[(code, breakdown)], display(code)
        label = shown_as.name + (
            f": {units.get(breakdown) or breakdown_vi(code, breakdown)}" if breakdown else "")
        estimate = found.estimate_full_year
        lines.append(PlanLine(
            str(number), label, shown_as.unit, shown(code, found.target), shown(code, found.value),
            _float(found.attainment_pct), shown_as.decimals,
            data.plan_documents.get((code, breakdown), ""),
            None if estimate is None else shown(code, estimate),
            _float(found.estimate_attainment_pct)))
    return lines


def _float(number) -> float | None:
    return None if number is None else float(number)


def locality_lines(data: PeriodData) -> list[LocalityLine]:
    """Each unit of the map in force at the period's end, then the unplaced, then the total."""
    def figures(key: str) -> list[float | None]:
        found = [data.values.get((code, f"locality={key}")) for code in LOCALITY_INDICATORS]
        return [float(f.value) if f else None for f in found]

    lines = [LocalityLine(str(i), unit_vi(unit), unit.code, figures(unit.code))
             for i, unit in enumerate(data.localities, start=1)]
    lines.append(LocalityLine(str(len(lines) + 1), unit_vi(None), "", figures(UNPLACED)))
    totals = [data.values.get((code, "")) for code in LOCALITY_INDICATORS]
    lines.append(LocalityLine("", "Tổng cộng", "", [float(t.value) if t else None for t in totals],
                              total=True))
    return lines


def unplaced_shares(data: PeriodData) -> list[tuple[str, float | None]]:
    """Per locality indicator: its name and the share of its total no rule places (%)."""
    shares = []
    for code in LOCALITY_INDICATORS:
        total = data.values.get((code, ""))
        unplaced = data.values.get((code, f"locality={UNPLACED}"))
        shares.append((display(code).name, float(unplaced.value * 100 / total.value)
                       if total and unplaced and total.value else None))
    return shares


def across_reform_lines(data: PeriodData) -> list[AcrossReformLine]:
    """Each old district (and the unplaced), then the new units its members now lie in."""
    lines = []
    for i, row in enumerate(data.across_reform, start=1):
        lines.append(AcrossReformLine(
            str(i), unit_vi(row.district), row.district.code if row.district else "",
            _float(row.previous), float(row.current), None, 0))
        lines.extend(AcrossReformLine("", unit_vi(unit), unit.code if unit else "", None,
                                      float(count), _float(total) if unit else None, 1)
                     for unit, count, total in row.new_units)
    return lines


def plan_title(end: date) -> str:
    return PLAN_TITLE.format(year=end.year)
