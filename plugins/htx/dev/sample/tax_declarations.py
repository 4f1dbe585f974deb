"""Deterministic sample of the tax department's monthly declaration files (feed 2) for Quảng Ninh.

For 2024-01-01 … 2024-09-30 it reproduces the plan document's figures (seed-figures.json) against
the registry sample (`htx.dev.sample.registrations.generate()`): 665 of the 895 operating cooperatives
file at least one 01/GTGT (VAT) declaration for a month or quarter inside the period (monthly or
quarterly filers); their latest-version revenue for those periods sums to exactly
870 × 665 × 9 / 12 million VND (HTX_AVG_REVENUE 870); 610 of them — operating cooperatives that
existed in 2023, active in 2024 or not — filed a 2023 03/TNDN whose latest pre-tax profits, some
negative, average exactly 300 million (HTX_AVG_PROFIT).

Around them, what a real delivery holds and the figures must ignore or survive:
  * one file per month of delivery, `tax/to_khai_202401.csv` … `_202410.csv`: monthly declarations
    arrive the month after their period, quarterly ones the month after the quarter, the 2023
    03/TNDN in the March and April files; rows in export order (shuffled);
  * the January and February files in Windows-1258 (tones written as combining marks where the
    code page has no precomposed letter), the March file with a UTF-8 BOM, the rest plain UTF-8;
  * branch declarations (`NNNNNNNNNN-NNN`) of a few cooperatives — one cooperative files only
    through its branch — and a branch name that needs CSV quoting (`;` and `"`);
  * supplementary declarations: Lần nộp 1 replacing 0, a chain 0 → 1 → 2 over three files, two
    Lần nộp 1 of one period (the later Ngày nộp counts), amended 03/TNDN, a late 2022 03/TNDN;
  * a corrected re-send of the August file: the original `tax/to_khai_202408.csv` holds a
    declaration under the wrong cooperative's code and a revenue with three zeros too many; the
    corrected version is written to `_resend/tax/to_khai_202408.csv`. The figures above hold once
    it has replaced the original (`apply_resends(root)` copies it over, as a re-delivery would);
    with the original alone, 666 cooperatives look active;
  * declarations the figures must not count: periods outside January–September 2024 (12/2023,
    Q4/2023, 10/2024), a cooperative dissolved in June 2024, one dissolved years ago, unions
    (LHHTX), and tax codes unknown to the registry (valid check digits; reported as unmatched);
  * three rows the pipeline must quarantine (a bad MST check digit, a revenue `12.34`, a filing
    date 31/02/2024), each for a cooperative that would otherwise look active;
  * ONE broken delivery, `tax/to_khai_202411.csv`, whose `Doanh thu` column was renamed: the
    pipeline rejects it whole (it holds only October declarations, outside the period).
"""
from __future__ import annotations

import csv
import io
import math
import random
import shutil
import unicodedata
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from stdnum.vn import mst

from htx.dev.sample.draws import new_tax_code
from htx.feeds.tax_declarations import CIT_FORM, HEADERS, VAT_FORM
from htx.dev.sample.registrations import PERIOD_END, PERIOD_START
from htx.dev.sample.registry_states import operating_as_of, states_as_of

SEED = 2025
FOLDER = "tax"
RESEND_DIR = "_resend"
BROKEN_FILE = "to_khai_202411.csv"
YEAR = 2024
DELIVERY_MONTHS = range(1, 11)
CP1258_MONTHS, BOM_MONTHS = {1, 2}, {3}
RESENT_MONTH = 8

TAX_ACTIVE = 665
AVG_REVENUE_TRIEU = 870
MONTHS_IN_PERIOD = 9
REVENUE_TOTAL_VND = AVG_REVENUE_TRIEU * TAX_ACTIVE * MONTHS_IN_PERIOD * 10**6 // 12
PROFIT_YEAR = 2023
PROFIT_FILERS = 610
AVG_PROFIT_TRIEU = 300
PROFIT_TOTAL_VND = AVG_PROFIT_TRIEU * PROFIT_FILERS * 10**6
assert REVENUE_TOTAL_VND * 12 == AVG_REVENUE_TRIEU * TAX_ACTIVE * MONTHS_IN_PERIOD * 10**6

# Tone marks Windows-1258 encodes as separate combining characters.
_CP1258_TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}


@dataclass(frozen=True)
class Period:
    kind: str   # month, quarter or year
    year: int
    number: int  # month 1–12, quarter 1–4, or 0 for a year

    @property
    def text(self) -> str:
        return {"month": f"{self.number:02d}/{self.year}", "quarter": f"Q{self.number}/{self.year}",
                "year": f"{self.year}"}[self.kind]

    @property
    def months(self) -> int:
        return {"month": 1, "quarter": 3, "year": 12}[self.kind]

    @property
    def last_month(self) -> tuple[int, int]:
        return self.year, {"month": self.number, "quarter": 3 * self.number, "year": 12}[self.kind]

    def filing_month(self) -> tuple[int, int]:
        """VAT is filed the month after the period (Circular 80/2021's deadlines)."""
        year, month = self.last_month
        return (year + 1, 1) if month == 12 else (year, month + 1)


@dataclass
class Declaration:
    tax_code: str
    name: str
    form: str
    period: Period
    revision: int
    filed_on: date
    revenue: int | None
    profit: int | None
    tax: int | None
    version: str = "both"          # in the re-sent month: "both", "original" or "resent" only
    overrides: dict | None = None  # text written instead of a value (rows that must fail)

    @property
    def delivered(self) -> int:
        """Month of 2024 whose file carries the row: the month it was filed."""
        return self.filed_on.month


def months_of_period(start: date, end: date) -> list[Period]:
    return [Period("month", start.year, m) for m in range(start.month, end.month + 1)]


class _Builder:
    def __init__(self, registry_items: list[dict]):
        self.rng = random.Random(SEED)
        self.items = registry_items
        self.operating = operating_as_of(registry_items, "HTX", PERIOD_END)
        self.known_codes = {i["entity_code"] for i in registry_items if i.get("entity_code")}
        self.declarations: list[Declaration] = []
        self.counted_vat: list[Declaration] = []   # latest in-period VAT of active cooperatives

    # -- values -----------------------------------------------------------------------------
    def filed(self, year: int, month: int, last_day: int = 20) -> date:
        return date(year, month, self.rng.randint(1, last_day))

    def vat(self, code: str, name: str, period: Period, revenue: int, **fields) -> Declaration:
        year, month = period.filing_month()
        declaration = Declaration(code, name, VAT_FORM, period, fields.pop("revision", 0),
                                  fields.pop("filed_on", None) or self.filed(year, month),
                                  revenue, None, revenue * self.rng.choice((1, 2, 3, 5)) // 100,
                                  **fields)
        self.declarations.append(declaration)
        return declaration

    def cit(self, code: str, name: str, year: int, profit: int, filed_on: date,
            revision: int = 0) -> Declaration:
        revenue = max(profit, 0) + self.rng.randint(200, 6_000) * 10**6 + self.rng.randint(0, 999_999)
        declaration = Declaration(code, name, CIT_FORM, Period("year", year, 0), revision, filed_on,
                                  revenue, profit, max(profit, 0) * 20 // 100)
        self.declarations.append(declaration)
        return declaration

    def unknown_code(self) -> str:
        return new_tax_code(self.rng, self.known_codes)

    def split(self, total: int, weights: list[float]) -> list[int]:
        """Integers proportional to `weights`, summing exactly to `total`."""
        scale = sum(weights)
        shares = [math.floor(total * w / scale) for w in weights]
        for i in range(total - sum(shares)):   # floor leaves a remainder ≥ 0
            shares[i % len(shares)] += 1
        return shares


def build(registry_items: list[dict]) -> list[Declaration]:
    """Every declaration row of the sample, original and re-sent versions included."""
    b = _Builder(registry_items)
    active = sorted(b.rng.sample(b.operating, TAX_ACTIVE), key=lambda s: s["entity_code"])
    active_codes = {s["entity_code"] for s in active}
    inactive = [s for s in b.operating if s["entity_code"] not in active_codes]
    _active_filers(b, active)
    _amendments(b)
    _resent_month(b, inactive[0])
    _outside_the_figures(b, inactive[1:-3])
    _profit_filers(b, active_codes)
    _rows_to_quarantine(b, inactive[-3:])
    return b.declarations


def _name(state: dict) -> str:
    return unicodedata.normalize("NFC", state["name"])


def _active_filers(b: _Builder, active: list[dict]) -> None:
    """The 665: monthly or quarterly VAT for every period in January–September from their
    registration on; most older ones also filed for December 2023 / Q4 2023 (outside P)."""
    old = [s for s in active if s["registered_on"] < "2023-10-01"]
    with_branch = set(s["entity_code"] for s in b.rng.sample(old, 7))
    branch_only = sorted(with_branch)[0]
    weights = []
    for state in active:
        code, name = state["entity_code"], _name(state)
        registered = date.fromisoformat(state["registered_on"])
        monthly = b.rng.random() < 0.3
        first = max(registered, PERIOD_START)
        periods = (months_of_period(first, PERIOD_END) if monthly else
                   [Period("quarter", YEAR, q) for q in range((first.month + 2) // 3, 4)])
        scale = b.rng.lognormvariate(0, 0.9)
        filers = [] if code == branch_only else [(code, name)]
        if code in with_branch:
            branch_name = (f'Chi nhánh {name}; cửa hàng "số 1"' if code == branch_only
                           else f"Chi nhánh {name}")
            filers.append((f"{code}-001", branch_name))
        for filer_code, filer_name in filers:
            for period in periods:
                b.counted_vat.append(b.vat(filer_code, filer_name, period, 0))
                weights.append(scale * period.months * b.rng.uniform(0.6, 1.4))
            if registered < date(2023, 10, 1) and b.rng.random() < 0.9:
                earlier = Period("month", 2023, 12) if monthly else Period("quarter", 2023, 4)
                b.vat(filer_code, filer_name, earlier, _revenue(b, earlier))
        if monthly and b.rng.random() < 0.02:  # an early filer: October, filed on 31/10
            b.vat(code, name, Period("month", YEAR, 10), _revenue(b, Period("month", YEAR, 10)),
                  filed_on=date(YEAR, 10, 31))
    for declaration, revenue in zip(b.counted_vat, b.split(REVENUE_TOTAL_VND, weights)):
        declaration.revenue = revenue
        declaration.tax = revenue * b.rng.choice((1, 2, 3, 5)) // 100


def _revenue(b: _Builder, period: Period) -> int:
    return int(b.rng.lognormvariate(0, 0.9) * 60 * 10**6 * period.months) + b.rng.randint(0, 999)


def _amendments(b: _Builder) -> None:
    """Supplementary declarations: the counted value is the highest Lần nộp's (ties: the later
    Ngày nộp); earlier versions carry other revenues that must not count."""
    candidates = [d for d in b.counted_vat if d.delivered <= 7 and d.filed_on.year == YEAR]
    chosen = b.rng.sample(candidates, 6)
    for declaration in chosen:
        wrong = replace(declaration, revenue=declaration.revenue * b.rng.choice((7, 8, 12)) // 10)
        b.declarations.append(wrong)                        # Lần nộp 0, in its month's file
        declaration.revision = 1
        declaration.filed_on = b.filed(YEAR, declaration.delivered + 1, 28)
    chain, tie = chosen[0], chosen[1]
    b.declarations.append(replace(chain, revenue=chain.revenue + 1_234_000))   # Lần nộp 1 …
    chain.revision = 2                                                         # … then 2
    chain.filed_on = b.filed(YEAR, chain.delivered + 1, 28)
    # Two Lần nộp 1 of one period in one file: the later Ngày nộp counts.
    tie.filed_on = date(YEAR, tie.delivered, 25)
    b.declarations.append(replace(tie, revenue=tie.revenue // 2,
                                  filed_on=date(YEAR, tie.delivered, 3)))


def _resent_month(b: _Builder, wrongly_coded: dict) -> None:
    """The August file, delivered twice: the original has a July declaration under the wrong
    cooperative's code and one revenue with three zeros too many; the re-send corrects both."""
    august = [d for d in b.counted_vat if d.delivered == RESENT_MONTH and d.revision == 0
              and not d.tax_code.endswith("-001")]
    slipped = august[len(august) // 2]
    b.declarations.append(replace(slipped, revenue=slipped.revenue * 1000, version="original"))
    slipped.version = "resent"
    b.vat(wrongly_coded["entity_code"], _name(wrongly_coded), Period("month", YEAR, 7),
          _revenue(b, Period("month", YEAR, 7)), version="original")


def _outside_the_figures(b: _Builder, inactive: list[dict]) -> None:
    """Declarations that must not count: outside the period, or not an operating cooperative."""
    existed = [s for s in inactive if s["registered_on"] < "2023-10-01"]
    for state in existed[:40]:    # still filing for 2023, not in 2024
        b.vat(state["entity_code"], _name(state), Period("quarter", 2023, 4),
              _revenue(b, Period("quarter", 2023, 4)))
    for state in existed[40:43]:  # back in business in October
        period = Period("month", YEAR, 10)
        b.vat(state["entity_code"], _name(state), period, _revenue(b, period),
              filed_on=date(YEAR, 10, 31))
    states = states_as_of(b.items, date(2024, 12, 31))
    dissolved_in_period = next(s for s in states.values() if s["entity_type"] == "HTX"
                               and s["status"] == "da_giai_the"
                               and PERIOD_START <= date.fromisoformat(s["status_since"]) <= PERIOD_END)
    for period in [Period("month", 2023, 12), *months_of_period(date(YEAR, 1, 1), date(YEAR, 5, 1))]:
        b.vat(dissolved_in_period["entity_code"], _name(dissolved_in_period), period,
              _revenue(b, period))
    b.cit(dissolved_in_period["entity_code"], _name(dissolved_in_period), PROFIT_YEAR,
          412_500_000, b.filed(YEAR, 3, 28))
    dissolved_long_ago = next(s for s in states.values() if s["entity_type"] == "HTX"
                              and s["status"] == "da_giai_the"
                              and date.fromisoformat(s["status_since"]) < date(2023, 1, 1))
    b.vat(dissolved_long_ago["entity_code"], _name(dissolved_long_ago), Period("month", YEAR, 2),
          _revenue(b, Period("month", YEAR, 2)))
    unions = [s for s in states.values()
              if s["entity_type"] == "LHHTX" and s["status"] != "da_giai_the"]
    for union in sorted(unions, key=lambda s: s["entity_code"]):
        for q in (1, 2, 3):
            b.vat(union["entity_code"], _name(union), Period("quarter", YEAR, q),
                  _revenue(b, Period("quarter", YEAR, q)) * 4)
        b.cit(union["entity_code"], _name(union), PROFIT_YEAR, 1_950_000_000, b.filed(YEAR, 3, 28))
    _unknown_taxpayers(b)


def _unknown_taxpayers(b: _Builder) -> None:
    """Codes the registry does not know (valid check digits): kept, reported as unmatched."""
    places = ["Quảng Nghĩa", "Hải Xuân", "Bình Ngọc", "Vạn Yên"]
    for i, place in enumerate(places):
        code, name = b.unknown_code(), f"Hợp tác xã dịch vụ tổng hợp {place}"
        for q in (1, 2, 3):
            b.vat(code, name, Period("quarter", YEAR, q), _revenue(b, Period("quarter", YEAR, q)))
            if i == 0:
                b.vat(f"{code}-001", f"Chi nhánh {name}", Period("quarter", YEAR, q),
                      _revenue(b, Period("quarter", YEAR, q)))
        if i == 1:
            b.cit(code, name, PROFIT_YEAR, 730_000_000, b.filed(YEAR, 3, 28))


def _profit_filers(b: _Builder, active_codes: set[str]) -> None:
    """610 cooperatives that existed in 2023 filed its 03/TNDN in March, or late in April; three
    amended it in April. Some made losses. The latest profits average exactly 300 million."""
    existed = [s for s in b.operating if s["registered_on"] < "2023-01-01"]
    filers = sorted(b.rng.sample(existed, PROFIT_FILERS), key=lambda s: s["entity_code"])
    profits = [(-b.rng.randint(5, 400) * 10**6 - b.rng.randint(0, 999_999)) if b.rng.random() < 0.13
               else int(b.rng.lognormvariate(0, 0.7) * 300 * 10**6) for _ in filers]
    gains = [i for i, p in enumerate(profits) if p > 0]
    shortfall = PROFIT_TOTAL_VND - sum(profits)
    for i, extra in zip(gains, b.split(shortfall, [1.0] * len(gains))):
        profits[i] += extra
    assert sum(profits) == PROFIT_TOTAL_VND and all(profits[i] > 0 for i in gains)
    counted = []
    for state, profit in zip(filers, profits):
        month = 3 if b.rng.random() < 0.88 else 4
        counted.append(b.cit(state["entity_code"], _name(state), PROFIT_YEAR, profit,
                             b.filed(YEAR, month, 28)))
    for declaration in b.rng.sample([d for d in counted if d.delivered == 3], 3):
        b.declarations.append(replace(declaration, profit=declaration.profit + 150_000_000,
                                      tax=(declaration.profit + 150_000_000) // 5))
        declaration.revision, declaration.filed_on = 1, b.filed(YEAR, 4, 28)
    late = next(s for s in filers if s["entity_code"] in active_codes)
    b.cit(late["entity_code"], _name(late), PROFIT_YEAR - 1, 90_000_000, b.filed(YEAR, 4, 28),
          revision=1)


def _rows_to_quarantine(b: _Builder, inactive: list[dict]) -> None:
    """Each would make an inactive cooperative look active if it loaded."""
    first, second, third = inactive
    code = first["entity_code"]
    bad_code = code[:9] + str((int(code[9]) + 1) % 10)
    assert not mst.is_valid(bad_code)
    b.vat(bad_code, _name(first), Period("month", YEAR, 3), _revenue(b, Period("month", YEAR, 3)))
    b.vat(second["entity_code"], _name(second), Period("month", YEAR, 4), 1,
          overrides={"Doanh thu": "12.34"})
    b.vat(third["entity_code"], _name(third), Period("month", YEAR, 1), 1,
          filed_on=date(YEAR, 2, 27), overrides={"Ngày nộp": "31/02/2024"})


# -- files -----------------------------------------------------------------------------------

def vn_number(amount: int | None) -> str:
    """1234567 → '1.234.567'; negatives keep a leading '-'; None → empty."""
    return "" if amount is None else f"{amount:,}".replace(",", ".")


def _fields(d: Declaration) -> list[str]:
    row = {"Mã số thuế": d.tax_code, "Tên người nộp thuế": d.name, "Mẫu tờ khai": d.form,
           "Kỳ tính thuế": d.period.text, "Lần nộp": str(d.revision),
           "Ngày nộp": d.filed_on.strftime("%d/%m/%Y"), "Doanh thu": vn_number(d.revenue),
           "Lợi nhuận trước thuế": vn_number(d.profit), "Số thuế phải nộp": vn_number(d.tax)}
    row.update(d.overrides or {})
    return [row[h] for h in HEADERS]


def _csv_text(headers: list[str], rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", quotechar='"', lineterminator="\r\n")
    writer.writerow(headers)
    writer.writerows(rows)
    return buffer.getvalue()


def encode_cp1258(text: str) -> bytes:
    """Windows-1258 as its exporters write it: a precomposed letter where the code page has one,
    otherwise the base letter (with its vowel mark: ê, ơ, ư, …) followed by a combining tone."""
    out = bytearray()
    for char in unicodedata.normalize("NFC", text):
        try:
            out += char.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        decomposed = unicodedata.normalize("NFD", char)
        tones = "".join(m for m in decomposed[1:] if m in _CP1258_TONES)
        letter = unicodedata.normalize(
            "NFC", decomposed[0] + "".join(m for m in decomposed[1:] if m not in _CP1258_TONES))
        out += (letter + tones).encode("cp1258")
    return bytes(out)


def _encode(text: str, month: int) -> bytes:
    if month in CP1258_MONTHS:
        return encode_cp1258(text)
    if month in BOM_MONTHS:
        return text.encode("utf-8-sig")
    return text.encode("utf-8")


def _file_rows(declarations: list[Declaration], month: int, versions: set[str],
               rng: random.Random) -> list[list[str]]:
    rows = [_fields(d) for d in declarations
            if d.filed_on.year == YEAR and d.delivered == month and d.version in versions]
    rng.shuffle(rows)   # export order: not sorted by anything useful
    return rows


def write_files(root: Path, registry_items: list[dict]) -> list[Path]:
    """Write the sample's delivery files under `root/tax/` (and the August re-send under
    `root/_resend/tax/`); returns every path written."""
    declarations = build(registry_items)
    rng = random.Random(SEED + 1)
    headers = list(HEADERS)
    written = []
    for month in DELIVERY_MONTHS:
        rows = _file_rows(declarations, month, {"both", "original"}, rng)
        written.append(_write(root / FOLDER / f"to_khai_{YEAR}{month:02d}.csv",
                              _encode(_csv_text(headers, rows), month)))
    resent = _file_rows(declarations, RESENT_MONTH, {"both", "resent"}, rng)
    written.append(_write(root / RESEND_DIR / FOLDER / f"to_khai_{YEAR}{RESENT_MONTH:02d}.csv",
                          _csv_text(headers, resent).encode("utf-8")))
    written.append(_write(root / FOLDER / BROKEN_FILE, _broken_file(declarations, rng)))
    return written


def _broken_file(declarations: list[Declaration], rng: random.Random) -> bytes:
    """November's delivery (October's monthly declarations) with `Doanh thu` renamed."""
    october = [replace(d, period=Period("month", YEAR, 10), filed_on=date(YEAR, 11, d.filed_on.day),
                       revision=0)
               for d in declarations if d.period == Period("month", YEAR, 9) and d.version == "both"]
    rows = [_fields(d) for d in october]
    rng.shuffle(rows)
    headers = ["Tổng doanh thu" if h == "Doanh thu" else h for h in HEADERS]
    return _csv_text(headers, rows).encode("utf-8")


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def apply_resends(root: Path) -> list[Path]:
    """Deliver the corrected re-sends: copy `root/_resend/**` over the originals (run the feed
    once before this and once after, as the tax department's re-delivery would arrive)."""
    copied = []
    for source in sorted((root / RESEND_DIR).rglob("*.csv")):
        target = root / source.relative_to(root / RESEND_DIR)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        copied.append(target)
    return copied
