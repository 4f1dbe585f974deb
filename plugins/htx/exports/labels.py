"""Vietnamese labels, units and number formats of the plan's indicators, as the plan prints them.

The warehouse keeps exact values in its own units (`trieu_dong`, `nguoi`, `count`, `percent`);
this module says how a person reads each one: its Vietnamese name, the unit written in the
table (`tỷ đồng` where the plan speaks in billions), the scale from the warehouse's unit to that
one, and how many decimals are shown. Nothing here rounds a stored value.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal


@dataclass(frozen=True)
class Display:
    name: str             # Vietnamese name of the indicator
    unit: str             # unit as written in the table's "Đơn vị tính" column
    decimals: int = 0     # shown, not stored
    scale: int = 1        # warehouse value ÷ scale = displayed value (1000: triệu → tỷ đồng)


TY_DONG = 1000  # triệu đồng per tỷ đồng

INDICATORS: dict[str, Display] = {
    "HTX_TOTAL": Display("Tổng số hợp tác xã", "HTX"),
    "HTX_BY_SECTOR": Display("Số hợp tác xã theo lĩnh vực", "HTX"),
    "HTX_SECTOR_SHARE": Display("Tỷ trọng hợp tác xã theo lĩnh vực", "%", 1),
    "HTX_NEW": Display("Số hợp tác xã thành lập mới", "HTX"),
    "HTX_DISSOLVED": Display("Số hợp tác xã giải thể", "HTX"),
    "HTX_TAX_ACTIVE": Display("Số hợp tác xã đang hoạt động (có kê khai thuế GTGT)", "HTX"),
    "HTX_NOT_ACTIVE": Display("Số hợp tác xã yếu kém, ngừng hoạt động hoặc chưa đi vào hoạt động"
                              " (không kê khai thuế GTGT)", "HTX"),
    "HTX_NOT_ACTIVE_SHARE": Display("Tỷ lệ hợp tác xã không kê khai thuế GTGT", "%", 1),
    "HTX_CHARTER_CAPITAL": Display("Tổng vốn điều lệ đăng ký", "tỷ đồng", 1, TY_DONG),
    "HTX_AVG_REVENUE": Display("Doanh thu bình quân một hợp tác xã", "triệu đồng/năm", 1),
    "HTX_AVG_PROFIT": Display("Lợi nhuận bình quân một hợp tác xã", "triệu đồng/năm", 1),
    "HTX_MEMBERS": Display("Tổng số thành viên hợp tác xã", "người"),
    "HTX_WORKERS": Display("Tổng số lao động thường xuyên", "người"),
    "HTX_MEMBER_WORKERS": Display("Số lao động là thành viên hợp tác xã", "người"),
    "HTX_AVG_INCOME": Display("Thu nhập bình quân một thành viên, lao động hợp tác xã",
                              "triệu đồng/năm", 1),
    "HTX_MANAGERS": Display("Tổng số cán bộ quản lý hợp tác xã", "người"),
    "HTX_MANAGERS_VOCATIONAL": Display("Trình độ sơ cấp, trung cấp", "người"),
    "HTX_MANAGERS_COLLEGE_PLUS": Display("Trình độ cao đẳng, đại học trở lên", "người"),
    "LHHTX_TOTAL": Display("Tổng số liên hiệp hợp tác xã", "LH HTX"),
    "LHHTX_CHARTER_CAPITAL": Display("Tổng vốn đăng ký của liên hiệp hợp tác xã", "tỷ đồng", 1,
                                     TY_DONG),
    "LHHTX_MEMBER_COOPS": Display("Số hợp tác xã thành viên liên hiệp", "HTX"),
    "THT_TOTAL": Display("Tổng số tổ hợp tác", "THT"),
    "THT_SECTOR_SHARE": Display("Tỷ trọng tổ hợp tác theo lĩnh vực", "%", 1),
    "THT_MEMBERS": Display("Tổng số thành viên tổ hợp tác", "người"),
    "QTDND_TOTAL": Display("Số quỹ tín dụng nhân dân", "quỹ"),
    "QTDND_MEMBERS": Display("Tổng số thành viên", "người"),
    "QTDND_EMPLOYEES": Display("Số lao động làm việc thường xuyên", "người"),
    "QTDND_TOTAL_CAPITAL": Display("Tổng nguồn vốn hoạt động", "triệu đồng"),
    "QTDND_EQUITY": Display("Vốn chủ sở hữu", "triệu đồng"),
    "QTDND_DEPOSITS": Display("Vốn huy động từ thành viên và khách hàng", "triệu đồng"),
    "QTDND_LOANS": Display("Dư nợ cho vay", "triệu đồng"),
    "QTDND_EQUITY_SHARE": Display("Tỷ trọng vốn chủ sở hữu trong tổng nguồn vốn", "%", 1),
    "QTDND_DEPOSIT_SHARE": Display("Tỷ trọng vốn huy động trong tổng nguồn vốn", "%", 1),
    "QTDND_NPL_RATIO": Display("Tỷ lệ nợ xấu trên tổng dư nợ", "%", 2),
    "QTDND_AVG_REVENUE": Display("Doanh thu bình quân một quỹ (lũy kế từ đầu năm)", "triệu đồng",
                                 1),
    "QTDND_AVG_PROFIT": Display("Lợi nhuận bình quân một quỹ (lũy kế từ đầu năm)", "triệu đồng",
                                1),
    "QTDND_AVG_EMPLOYEE_INCOME": Display("Thu nhập bình quân người lao động",
                                         "triệu đồng/tháng", 1),
    "LENDING_FUND_SIZE": Display("Tổng nguồn vốn ủy thác cho vay hỗ trợ hợp tác xã", "triệu đồng"),
    "LENDING_CONTRACTS": Display("Số lượt hợp tác xã được vay vốn (lũy kế)", "lượt"),
    "LENDING_DISBURSED": Display("Số tiền đã giải ngân (lũy kế)", "tỷ đồng", 1, TY_DONG),
    "LENDING_OUTSTANDING": Display("Dư nợ", "tỷ đồng", 1, TY_DONG),
    "LENDING_BORROWERS_OUTSTANDING": Display("Số hợp tác xã còn dư nợ", "HTX"),
    "LENDING_NPL_RATIO": Display("Tỷ lệ dư nợ nhóm 3–5 trên tổng dư nợ", "%", 2),
}

# Breakdown values (`sector=…`) by the indicator family that uses them, in the plan's order.
HTX_SECTORS = {
    "nong_nghiep": "Nông, lâm nghiệp, thủy sản",
    "cong_nghiep": "Công nghiệp",
    "xay_dung": "Xây dựng",
    "ve_sinh_moi_truong": "Vệ sinh môi trường",
    "van_tai": "Vận tải",
    "thuong_mai_dich_vu": "Thương mại, dịch vụ",
    "khac": "Lĩnh vực khác",
}
THT_GROUPS = {
    "nong_lam_ngu": "Nông - lâm - ngư nghiệp",
    "cong_nghiep_tthc": "Công nghiệp - tiểu thủ công nghiệp",
    "khac": "Lĩnh vực khác",
}
LHHTX_GROUPS = {
    "nong_nghiep": "Liên hiệp hợp tác xã nông nghiệp",
    "phi_nong_nghiep": "Liên hiệp hợp tác xã phi nông nghiệp",
}


# Kinds of administrative unit (core.ref_admin_unit.kind), as written before the unit's name.
UNIT_KINDS = {"thanh_pho": "Thành phố", "thi_xa": "Thị xã", "huyen": "Huyện", "phuong": "Phường",
              "xa": "Xã", "thi_tran": "Thị trấn", "dac_khu": "Đặc khu"}
UNPLACED_VI = "Chưa xác định địa bàn"   # locality=khong_xac_dinh


def unit_vi(unit) -> str:
    """A unit of an administrative map as people write it: `Phường Hà Tu`; None: unplaced."""
    if unit is None:
        return UNPLACED_VI
    return f"{UNIT_KINDS.get(unit.kind, '')} {unit.name}".strip()


def display(code: str) -> Display:
    """An indicator's display; a code added to the marts later still shows, by its code."""
    return INDICATORS.get(code, Display(code, ""))


def breakdown_vi(code: str, breakdown: str) -> str:
    """`sector=nong_nghiep` of an HTX indicator → `Nông, lâm nghiệp, thủy sản`."""
    key = breakdown.partition("=")[2]
    names = (THT_GROUPS if code.startswith("THT_") else
             LHHTX_GROUPS if code.startswith("LHHTX_") else HTX_SECTORS)
    return names.get(key, breakdown)


def shown(code: str, value) -> float:
    """The value in the displayed unit (a float: what a spreadsheet cell holds)."""
    return float(Decimal(value) / display(code).scale)


def number_vi(value, decimals: int = 0) -> str:
    """Vietnamese number text: `.` groups thousands, `,` marks decimals (1.234,5)."""
    text = f"{float(value):,.{decimals}f}"
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".")


def indicator_vi(code: str, value) -> str:
    """An indicator's value as a person reads it: scaled, grouped, with its decimals."""
    return number_vi(shown(code, value), display(code).decimals)


def date_vi(day: date) -> str:
    return f"{day:%d/%m/%Y}"


def period_vi(start: date, end: date) -> str:
    """The title line naming the period: `Từ 01/01/2024 đến 30/09/2024`."""
    return f"Từ {date_vi(start)} đến {date_vi(end)}"
