"""Deterministic sample of feed 3: the VBSP branch's monthly lending reports for Quảng Ninh.

`lending/vbsp_202409.xlsx` (as of 30/09/2024) reproduces the plan document's figures
(seed-figures.json): a trust fund of 40,341 million, 116 contracts disbursed over the years for
67,900 million, 12,500 million still outstanding on 22 contracts of 19 cooperatives (three of them
with two outstanding contracts), three of the contracts non-performing (debt groups 3–4). The
borrowers are operating cooperatives of the registry sample.

Around it, what the drop folder really holds:
  * earlier snapshots vbsp_202406/07/08 (smaller cumulative figures, a smaller fund until the
    August top-up, loans since repaid still outstanding), and a later one, vbsp_202410 (new loans,
    repayments, a larger fund), dated after the period and so outside it;
  * vbsp_202407 written with text dates `dd/mm/yyyy`, the others with Excel dates; decimal amounts
    (balances and disbursements in tenths of a million), totals still exact;
  * two bad rows, quarantined: in vbsp_202407 a disbursement date typed `31/02/2024`, in
    vbsp_202408 a tax code with a wrong check digit. They sit in files other than September's on
    purpose: the bank's totals cover every row (the files reconcile), but a quarantined row is not
    counted, so a bad row in the September file would leave its figures short of the seed;
  * one broken file, vbsp_202405, whose `Tổng cộng` outstanding total is 120 million above the sum
    of its rows: rejected whole.
"""
from __future__ import annotations

import calendar
import io
import random
import re
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

from htx.dev.sample.draws import uneven_split
from htx.dev.sample.registry_states import operating_as_of

# Function-local imports: openpyxl (slow to import) only when a workbook is written.

SEED = 3003
PERIOD_END = date(2024, 9, 30)
FUND_SIZE = Decimal(40_341)
CONTRACTS = 116
DISBURSED = Decimal(67_900)
OUTSTANDING = Decimal(12_500)
BORROWERS_OUTSTANDING = 19
TWO_CONTRACT_BORROWERS = 3     # borrowers with two outstanding contracts in September
NON_PERFORMING_GROUPS = (3, 4, 3)   # on the smallest balances
LATE_DISBURSEMENTS = (date(2024, 7, 15), date(2024, 8, 12), date(2024, 9, 5), date(2024, 9, 20))
TYPO_DISBURSEMENT = date(2024, 2, 21)   # written 31/02/2024 in the July file
BROKEN_OUTSTANDING_EXCESS = Decimal(120)

TITLE = "BÁO CÁO CHO VAY HỖ TRỢ PHÁT TRIỂN HỢP TÁC XÃ"
HEADERS = ["STT", "Mã số HTX", "Tên HTX", "Số hợp đồng", "Ngày giải ngân", "Số tiền giải ngân",
           "Dư nợ", "Nhóm nợ", "Ngày đến hạn"]


@dataclass(frozen=True)
class Report:
    """One monthly file and what is special about it."""
    name: str
    as_of: date
    fund_size: Decimal
    text_dates: bool = False
    bad_check_digit: bool = False       # one row's tax code gets a wrong check digit
    impossible_date: bool = False       # the February loan's date is written 31/02/2024
    totals_off_by: Decimal = Decimal(0)  # added to the Dư nợ total: the file will not reconcile
    blank_row_before_totals: bool = False


REPORTS = (
    Report("vbsp_202405.xlsx", date(2024, 5, 31), Decimal(38_341),
           totals_off_by=BROKEN_OUTSTANDING_EXCESS),
    Report("vbsp_202406.xlsx", date(2024, 6, 30), Decimal(38_341), blank_row_before_totals=True),
    Report("vbsp_202407.xlsx", date(2024, 7, 31), Decimal(38_341), text_dates=True,
           impossible_date=True),
    Report("vbsp_202408.xlsx", date(2024, 8, 31), FUND_SIZE, bad_check_digit=True),
    Report("vbsp_202409.xlsx", PERIOD_END, FUND_SIZE),
    Report("vbsp_202410.xlsx", date(2024, 10, 31), Decimal(45_341)),
)


@dataclass
class Loan:
    code: str
    name: str
    number: str
    disbursed_on: date
    amount: Decimal
    due_on: date
    outstanding_sep: Decimal      # Dư nợ on 30/09/2024
    group: int = 1
    repaid_on: date | None = None
    regular: bool = True          # repays an instalment a month (non-performing loans do not)

    @property
    def instalment(self) -> Decimal:
        return (self.amount / 12).quantize(Decimal("0.1"))

    def outstanding(self, as_of: date) -> Decimal:
        """Dư nợ as of a report date (the loan is disbursed by then)."""
        if self.repaid_on is not None:
            if as_of >= self.repaid_on:
                return Decimal(0)
            return min(self.amount, self.instalment * max(1, _months(as_of, self.repaid_on)))
        if not self.regular:
            return self.outstanding_sep
        if as_of > PERIOD_END:
            repaid_since = self.instalment * _months(PERIOD_END, as_of)
            return max(Decimal(0), self.outstanding_sep - repaid_since)
        return min(self.amount, self.outstanding_sep + self.instalment * _months(as_of, PERIOD_END))

    def group_at(self, as_of: date) -> int:
        return self.group if self.outstanding(as_of) > 0 else 1


def write_files(root: Path, registry_items: list[dict]) -> list[Path]:
    """Write the sample's lending files under `root/lending/`; returns their paths."""
    loans = _loans(registry_items)
    folder = root / "lending"
    folder.mkdir(parents=True, exist_ok=True)
    return [_write_report(folder / report.name, report, loans) for report in REPORTS]


# --- the loan book --------------------------------------------------------------------------

class _Book:
    def __init__(self, cooperatives: list[dict]):
        self.rng = random.Random(SEED)
        self.cooperatives = cooperatives
        self.numbers_by_year: dict[int, int] = {}

    def number(self, disbursed_on: date) -> str:
        year = disbursed_on.year
        self.numbers_by_year[year] = self.numbers_by_year.get(year, 0) + 1
        return f"{self.numbers_by_year[year]:03d}/{year}/HĐTD-HTX"

    def day_between(self, first: date, last: date) -> date:
        return first + timedelta(days=self.rng.randint(0, (last - first).days))

    def split(self, total: int, parts: int, minimum: int) -> list[int]:
        """Uneven like real loans."""
        return uneven_split(self.rng, total, parts, minimum, spread=0.5)


def _loans(registry_items: list[dict]) -> list[Loan]:
    cooperatives = operating_as_of(registry_items, "HTX", PERIOD_END)
    book = _Book(cooperatives)
    active = _outstanding_loans(book)
    repaid = _repaid_loans(book, DISBURSED - sum(loan.amount for loan in active))
    loans = active + repaid + _october_loans(book)
    for loan in sorted(loans, key=lambda l: (l.disbursed_on, l.code)):
        loan.number = book.number(loan.disbursed_on)
    return loans


def _outstanding_loans(book: _Book) -> list[Loan]:
    """The 22 loans outstanding on 30/09/2024: 19 borrowers, 12,500 million in tenths."""
    borrowers = book.rng.sample(book.cooperatives, BORROWERS_OUTSTANDING)
    holders = borrowers + borrowers[:TWO_CONTRACT_BORROWERS]
    balances = sorted(Decimal(t) / 10 for t in
                      book.split(int(OUTSTANDING * 10), len(holders), minimum=1_500))
    loans = []
    for i, (coop, balance) in enumerate(zip(holders, balances)):
        if i < len(NON_PERFORMING_GROUPS):       # overdue (due 2022–23): nothing repaid since
            disbursed = book.day_between(date(2020, 3, 1), date(2021, 6, 30))
            loan = _loan(coop, disbursed, 30, balance + 50 * book.rng.randint(4, 12), balance,
                         group=NON_PERFORMING_GROUPS[i], regular=False)
        elif i - len(NON_PERFORMING_GROUPS) < len(LATE_DISBURSEMENTS):  # not yet repaying
            disbursed = LATE_DISBURSEMENTS[i - len(NON_PERFORMING_GROUPS)]
            loan = _loan(coop, disbursed, 36, balance, balance)
        else:
            disbursed = (TYPO_DISBURSEMENT if i == len(holders) - 1
                         else book.day_between(date(2022, 10, 1), date(2024, 5, 20)))
            loan = _loan(coop, disbursed, 36, balance + 50 * book.rng.randint(1, 8), balance,
                         group=2 if i == len(holders) - 2 else 1)
        loans.append(loan)
    return loans


def _repaid_loans(book: _Book, disbursed_total: Decimal) -> list[Loan]:
    """The 94 loans repaid by 30/09/2024 (amounts in tenths); 8 of them repaid in June–September,
    so the earlier snapshots still show them outstanding."""
    count = CONTRACTS - BORROWERS_OUTSTANDING - TWO_CONTRACT_BORROWERS
    tenths = book.split(int(disbursed_total * 10), count, minimum=1_500)
    loans = []
    for i, amount in enumerate(Decimal(t) / 10 for t in tenths):
        repaid = (book.day_between(date(2024, 6, 3), PERIOD_END) if i < 8
                  else book.day_between(date(2016, 3, 1), date(2024, 5, 15)))
        term = book.rng.choice((24, 30, 36))
        disbursed = _add_months(repaid, -term) + timedelta(days=book.rng.randint(0, 20))
        loan = _loan(book.rng.choice(book.cooperatives), disbursed, term, amount, Decimal(0))
        loan.repaid_on = repaid
        loans.append(loan)
    return loans


def _october_loans(book: _Book) -> list[Loan]:
    """Disbursed in October 2024: only the October snapshot holds them."""
    return [_loan(book.rng.choice(book.cooperatives), date(2024, 10, 8), 36, Decimal(500),
                  Decimal(500)),
            _loan(book.rng.choice(book.cooperatives), date(2024, 10, 22), 36, Decimal("350.5"),
                  Decimal("350.5"))]


def _loan(coop: dict, disbursed: date, term_months: int, amount: Decimal, outstanding: Decimal,
          group: int = 1, regular: bool = True) -> Loan:
    return Loan(coop["entity_code"], coop["name"], "", disbursed, amount,
                _add_months(disbursed, term_months), outstanding, group, regular=regular)


# --- the files ------------------------------------------------------------------------------

def _rows(report: Report, loans: list[Loan]) -> list[list]:
    held = sorted((l for l in loans if l.disbursed_on <= report.as_of),
                  key=lambda l: (l.disbursed_on, l.number))
    rows = []
    for stt, loan in enumerate(held, start=1):
        code, disbursed = loan.code, _cell_date(loan.disbursed_on, report.text_dates)
        if report.bad_check_digit and stt == 3:
            code = code[:9] + str((int(code[9]) + 1) % 10)
        if report.impossible_date and loan.disbursed_on == TYPO_DISBURSEMENT:
            disbursed = "31/02/2024"
        rows.append([stt, code, loan.name, loan.number, disbursed, float(loan.amount),
                     float(loan.outstanding(report.as_of)), loan.group_at(report.as_of),
                     _cell_date(loan.due_on, report.text_dates)])
    return rows


def _write_report(path: Path, report: Report, loans: list[Loan]) -> Path:
    import openpyxl
    from openpyxl.styles import Alignment, Font

    rows = _rows(report, loans)
    disbursed = sum((Decimal(str(r[5])) for r in rows), Decimal(0))
    outstanding = sum((Decimal(str(r[6])) for r in rows), Decimal(0)) + report.totals_off_by
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "BaoCao"
    for row, text in ((1, TITLE), (2, f"Đến ngày {report.as_of:%d/%m/%Y}"),
                      (3, "Đơn vị: triệu đồng")):
        sheet.cell(row, 1, text).alignment = Alignment(horizontal="center")
        sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=9)
    sheet["A1"].font = Font(bold=True)
    sheet["A4"], sheet["C4"] = "Tổng nguồn vốn ủy thác:", float(report.fund_size)
    for column, header in enumerate(HEADERS, start=1):
        sheet.cell(6, column, header).font = Font(bold=True)
    for row in rows:
        sheet.append(row)
    if report.blank_row_before_totals:
        sheet.append([])
    sheet.append([None, None, "Tổng cộng", None, None, float(disbursed), float(outstanding)])
    _formats(sheet)
    _save(book, path, stamp=datetime.combine(report.as_of + timedelta(days=5), time(8)))
    return path


def _save(book, path: Path, stamp: datetime) -> None:
    """Save with fixed timestamps (document properties, zip entries): the same sample is the same
    bytes, so a regenerated drop folder holds no "changed" file for the pipeline to reload."""
    buffer = io.BytesIO()
    book.save(buffer)
    iso = stamp.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    with zipfile.ZipFile(buffer) as source, zipfile.ZipFile(path, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>" + iso, data)
            entry = zipfile.ZipInfo(item.filename, date_time=stamp.timetuple()[:6])
            target.writestr(entry, data, compress_type=zipfile.ZIP_DEFLATED)


def _formats(sheet) -> None:
    for cells in sheet.iter_rows(min_row=4):
        for cell in cells:
            if cell.column in (5, 9) and not isinstance(cell.value, str):
                cell.number_format = "dd/mm/yyyy"
            elif cell.column in (3, 6, 7) and isinstance(cell.value, float):
                cell.number_format = "#,##0.0##"
    for letter, width in zip("ABCDEFGHI", (6, 13, 44, 18, 14, 16, 12, 9, 14)):
        sheet.column_dimensions[letter].width = width


def _cell_date(day: date, as_text: bool):
    return f"{day:%d/%m/%Y}" if as_text else day


def _months(earlier: date, later: date) -> int:
    return (later.year - earlier.year) * 12 + later.month - earlier.month


def _add_months(day: date, months: int) -> date:
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))
