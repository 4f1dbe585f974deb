"""Deterministic sample of feed 4: quarterly reports of Đông Triều's two people's credit funds
(QTDND Hưng Đạo and QTDND Mạo Khê), Q4 2023 to Q3 2024.

As of 2024-09-30 (their Q3 2024 reports, latest revision) they reproduce the plan document's
figures: 2 funds, 226,157 / 19,786 / 199,858 / 155,748 million of total capital / equity /
deposits / loans, 2,167 members, 18 employees, mean year-to-date revenue 5,057 and profit 714
million, an employee-weighted income of 16 million a month and an NPL ratio of 1.54%.
Around them, what the drop folder holds and the figures must survive:
  * Mạo Khê's Q3 report is corrected: revision 0 is delivered first, then revision 1 (different
    figures) is re-sent under the same name — written under `_resend/` for the demo to deliver
    after the first run, as the fund would send it later;
  * a third fund's Q3 report in VND (`unit: dong`): the file is rejected whole;
  * its Q2 report whose equity + deposits exceed total capital: the report is quarantined.
Credit funds are not in the cooperative registry, so `registry_items` is not used.
"""
from __future__ import annotations

import json
from pathlib import Path

from htx.dev.sample import RESEND_DIR

FOLDER = "credit_funds"
HUNG_DAO, MAO_KHE, YEN_THO = "5700101348", "5700462351", "5700778122"
NAMES = {HUNG_DAO: "Quỹ tín dụng nhân dân Hưng Đạo",
         MAO_KHE: "Quỹ tín dụng nhân dân Mạo Khê",
         YEN_THO: "Quỹ tín dụng nhân dân Yên Thọ"}
SUBMITTED = {"2023-12-31": "2024-01-15T09:10:00+07:00", "2024-03-31": "2024-04-15T10:20:00+07:00",
             "2024-06-30": "2024-07-15T08:45:00+07:00", "2024-09-30": "2024-10-15T09:30:00+07:00"}

# (total_capital, equity, deposits, loans_outstanding, npl, members, members_pending, employees,
#  revenue, revenue_from_members, profit, dividend_rate_pct, avg_employee_income_month)
FIGURES = {
    HUNG_DAO: {
        "2023-12-31": (112400, 9800, 99300, 79500, 1050, 1150, 12, 10, 6950, 6100, 1020, 6.5, 15.2),
        "2024-03-31": (114900, 9950, 101600, 80800, 1080, 1162, 9, 10, 1760, 1540, 250, 0, 15.8),
        "2024-06-30": (118200, 10200, 104400, 82300, 1090, 1175, 7, 10, 3580, 3130, 515, 0, 16.0),
        "2024-09-30": (121000, 10500, 106900, 84000, 1100, 1190, 6, 10, 5400, 4720, 780, 0, 16.5),
    },
    MAO_KHE: {
        "2023-12-31": (98600, 8700, 87100, 67200, 1240, 940, 10, 8, 6050, 5300, 860, 6.0, 14.6),
        "2024-03-31": (100300, 8850, 88700, 68400, 1260, 951, 8, 8, 1520, 1330, 205, 0, 15.0),
        "2024-06-30": (102800, 9050, 90900, 70100, 1280, 963, 9, 8, 3110, 2720, 420, 0, 15.2),
        "2024-09-30": (105157, 9286, 92958, 71748, 1300, 977, 5, 8, 4714, 4120, 648, 0, 15.375),
    },
}
# Mạo Khê's first Q3 report, superseded by revision 1 above.
MAO_KHE_Q3_REVISION_0 = (104900, 9250, 92700, 71500, 1310, 975, 7, 8, 4690, 4100, 630, 0, 15.0)


def report(fund_code: str, period_end: str, figures: tuple, *, revision: int = 0,
           submitted_at: str | None = None, unit: str = "trieu_dong") -> dict:
    """One report in the contract's JSON shape."""
    (total, equity, deposits, loans, npl, members, pending, employees, revenue, from_members,
     profit, dividend, income) = figures
    return {
        "fund_code": fund_code, "fund_name": NAMES[fund_code], "period_end": period_end,
        "revision": revision, "submitted_at": submitted_at or SUBMITTED[period_end], "unit": unit,
        "balance_sheet": {"total_capital": total, "equity": equity, "deposits": deposits,
                          "loans_outstanding": loans, "npl": npl},
        "members": members, "members_pending": pending, "employees": employees,
        "income_ytd": {"revenue": revenue, "revenue_from_members": from_members, "profit": profit},
        "dividend_rate_pct": dividend, "avg_employee_income_month": income,
    }


def file_name(fund_code: str, period_end: str) -> str:
    year, month = int(period_end[:4]), int(period_end[5:7])
    return f"{fund_code}_{year}Q{(month - 1) // 3 + 1}.json"


def reports() -> list[tuple[str, dict]]:
    """(path under the landing root, report) for every file of the sample; corrected re-sends
    under `_resend/` + the path they replace."""
    files = [(f"{FOLDER}/{file_name(code, end)}", report(code, end, figures))
             for code, quarters in FIGURES.items() for end, figures in quarters.items()
             if (code, end) != (MAO_KHE, "2024-09-30")]
    mao_khe_q3 = f"{FOLDER}/{file_name(MAO_KHE, '2024-09-30')}"
    files.append((mao_khe_q3, report(MAO_KHE, "2024-09-30", MAO_KHE_Q3_REVISION_0,
                                     submitted_at="2024-10-14T16:00:00+07:00")))
    files.append((f"{RESEND_DIR}/{mao_khe_q3}",
                  report(MAO_KHE, "2024-09-30", FIGURES[MAO_KHE]["2024-09-30"], revision=1,
                         submitted_at="2024-10-28T14:05:00+07:00")))
    # Broken: amounts in VND, not millions (rejected whole) …
    in_dong = (64_500 * 10**6, 6_300 * 10**6, 56_100 * 10**6, 45_200 * 10**6, 700 * 10**6,
               610, 4, 6, 2_900 * 10**6, 2_500 * 10**6, 380 * 10**6, 0, 14_000_000)
    files.append((f"{FOLDER}/{file_name(YEN_THO, '2024-09-30')}",
                  report(YEN_THO, "2024-09-30", in_dong, unit="dong")))
    # … and a balance sheet that does not add up: 6,100 + 58,900 > 63,200 (quarantined).
    files.append((f"{FOLDER}/{file_name(YEN_THO, '2024-06-30')}",
                  report(YEN_THO, "2024-06-30", (63_200, 6_100, 58_900, 44_000, 650, 602, 3, 6,
                                                 1_850, 1_600, 240, 0, 13.5))))
    return files


def write_files(root: Path, registry_items: list[dict] | None = None) -> list[Path]:
    """Write the sample's report files under `root/credit_funds/` (the correction under
    `root/_resend/credit_funds/`); returns their paths."""
    written = []
    for relative, content in reports():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        written.append(path)
    return written
