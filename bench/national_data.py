"""National-scale data in the contract formats, deterministic (seeded), for bench/national.py.

  * `build_registry` — feed 1: the registration API's items for 35,000 cooperatives (HTX), 100
    unions (LHHTX) and 5,000 cooperative groups (THT), with their histories (suspensions,
    dissolutions, member corrections), NFD names, locality spellings and a few invalid records
    the pipeline must quarantine. Served by the stand-in API and loaded by the registrations feed.
  * `tax_file` — feed 2: a tax-declaration CSV of N rows whose taxpayers are the registry's
    cooperatives (plus a few codes the registry does not know, which the contract keeps as
    unmatched), written row by row to disk: 10,000,000 rows are never held in memory;
    `month_file`, the next month's file (one declaration per filer), for the marts refresh that
    follows one monthly file.

Tax codes carry one of 63 two-digit prefixes, one per province. Localities cannot: the reference
data (include/reference/admin_units/) knows only Quảng Ninh's maps, so every entity's head office
is one of its 13 district-level units (every state is recorded before the 2025 reform), written
in the spellings sources use. A national registry's other localities would load with the
`locality_code` warning and no code.
"""
from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

from stdnum.vn import mst

from htx.dev.sample.registrations import (ACTIVITIES, GIVEN, LOCALITIES, PLACE_WORDS, SURNAMES, VN,
                                      VSIC_BY_SECTOR)

# Bump when the generated content changes: cached files are named after it.
GENERATOR_VERSION = 2

COOPERATIVES, UNIONS, GROUPS = 35_000, 100, 5_000
PROVINCE_PREFIXES = tuple(f"{n:02d}" for n in range(1, 64))
FIRST_REGISTRATION, LAST_REGISTRATION = date(1997, 1, 1), date(2024, 11, 30)
HORIZON = date(2024, 12, 20)          # the newest state the registry holds
INVALID_SHARE = 0.001                 # invalid records (bad check digit, unknown status)
TAX_HEADER = ("Mã số thuế;Tên người nộp thuế;Mẫu tờ khai;Kỳ tính thuế;Lần nộp;Ngày nộp;Doanh thu;"
              "Lợi nhuận trước thuế;Số thuế phải nộp")
UNKNOWN_TAXPAYERS = 200               # codes absent from the registry: rows reported unmatched
WRITE_BATCH = 20_000                  # lines per write() while streaming the tax file


@dataclass
class Registry:
    items: list[dict] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)   # entity code → NFC name
    filers: list[str] = field(default_factory=list)       # HTX that file tax declarations
    counts: dict[str, int] = field(default_factory=dict)  # entities by type


class _Builder:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.codes: set[str] = set()
        self.registry = Registry()

    def code(self) -> str:
        while True:
            prefix = self.rng.choice(PROVINCE_PREFIXES) + f"{self.rng.randrange(10**7):07d}"
            check = mst.calc_check_digit(prefix)
            if len(check) == 1 and prefix + check not in self.codes:
                self.codes.add(prefix + check)
                return prefix + check

    def day_between(self, first: date, last: date) -> date:
        return first + timedelta(days=self.rng.randint(0, max(0, (last - first).days)))

    def stamp(self, day: date) -> str:
        moment = datetime.combine(min(day, HORIZON), time(
            8 + self.rng.randint(0, 8), self.rng.randint(0, 59), self.rng.randint(0, 59)), VN)
        return moment.isoformat()

    def entity(self, entity_type: str, capital_vnd: int, members: int) -> dict:
        prefix = {"HTX": "Hợp tác xã", "LHHTX": "Liên hiệp hợp tác xã", "THT": "Tổ hợp tác"}
        sector = self.rng.choice(list(VSIC_BY_SECTOR))
        name = (f"{prefix[entity_type]} {self.rng.choice(ACTIVITIES[sector])}"
                f" {self.rng.choice(PLACE_WORDS)}")
        registered = self.day_between(FIRST_REGISTRATION, LAST_REGISTRATION)
        place = self.rng.choice(list(LOCALITIES))
        code = self.code()
        self.registry.names[code] = name
        state = {
            "entity_code": code, "entity_type": entity_type,
            # About one name in six arrives decomposed (NFD), as some source systems send it.
            "name": unicodedata.normalize("NFD", name) if self.rng.random() < 0.17 else name,
            "main_vsic": self.rng.choice(VSIC_BY_SECTOR[sector]),
            "locality": self.rng.choice(LOCALITIES[place]),
            "address": f"Thôn {self.rng.randint(1, 30)}",
            "registered_on": registered.isoformat(), "status": "dang_hoat_dong",
            "status_since": registered.isoformat(), "charter_capital_vnd": capital_vnd,
            "members": members,
            "legal_representative": {
                "full_name": f"{self.rng.choice(SURNAMES)} {self.rng.choice(GIVEN)}",
                "id_number": f"0{self.rng.randint(1, 96):02d}{self.rng.randrange(10**9):09d}"},
            "updated_at": self.stamp(registered + timedelta(days=self.rng.randint(0, 3))),
        }
        self.registry.items.append(state)
        return state

    def change(self, state: dict, status: str | None, since: date, **fields) -> dict:
        """A later state: a status change dated `since` (recorded 0–10 days after), or (status
        None) other fields corrected under the same status."""
        new = dict(state, **fields)
        if status is not None:
            new["status"], new["status_since"] = status, since.isoformat()
        new["updated_at"] = self.stamp(since + timedelta(days=self.rng.randint(0, 10)))
        self.registry.items.append(new)
        return new


def build_registry(cooperatives: int = COOPERATIVES, seed: int = 7) -> Registry:
    """The registry's API items (every state of every entity), in no particular order."""
    b = _Builder(seed)
    unions, groups = cooperatives * UNIONS // COOPERATIVES, cooperatives * GROUPS // COOPERATIVES
    for _ in range(cooperatives):
        capital = b.rng.randint(10, 5_000) * 10**7
        members = max(7, int(b.rng.lognormvariate(3.3, 0.8)))
        state = b.entity("HTX", capital, members)
        if _history(b, state):
            b.registry.filers.append(state["entity_code"])
    for _ in range(unions):
        _history(b, b.entity("LHHTX", b.rng.randint(500, 20_000) * 10**7, b.rng.randint(3, 20)))
    for _ in range(groups):
        _history(b, b.entity("THT", 0, b.rng.randint(2, 40)))
    _invalid_records(b, max(1, int(len(b.registry.items) * INVALID_SHARE)))
    b.rng.shuffle(b.registry.items)
    b.registry.counts = {"HTX": cooperatives, "LHHTX": unions, "THT": groups}
    return b.registry


def _history(b: _Builder, first: dict) -> bool:
    """Later states of an entity; True if it operates in 2024 (and so files taxes in 2024)."""
    registered = date.fromisoformat(first["registered_on"])
    since = b.day_between(registered + timedelta(days=30), LAST_REGISTRATION)
    roll = b.rng.random()
    if roll < 0.12:     # dissolved, a third of them after a dissolution procedure
        if b.rng.random() < 0.3:
            first = b.change(first, "dang_giai_the", registered + (since - registered) // 2)
        b.change(first, "da_giai_the", since)
        return since >= date(2024, 7, 1)
    if roll < 0.18:
        b.change(first, "tam_ngung_kinh_doanh", since)
    elif roll < 0.20:
        b.change(first, "khong_hoat_dong_tai_dia_chi", since)
    elif roll < 0.21:
        b.change(first, "bi_thu_hoi", since)
    elif roll < 0.24:   # members corrected, status unchanged
        b.change(first, None, since, members=first["members"] + b.rng.randint(1, 9))
    return registered <= date(2024, 9, 30)


def _invalid_records(b: _Builder, count: int) -> None:
    """Extra states the registrations suite quarantines: a wrong check digit, an unknown status.
    Their entities keep loading through their valid states."""
    for i, item in enumerate(b.registry.items[:count]):
        if i % 2:
            b.registry.items.append(dict(item, status="hoat_dong"))
        else:
            code = item["entity_code"]
            b.registry.items.append(dict(item, entity_code=code[:9] + str((int(code[9]) + 1) % 10)))


# --- feed 2: tax declarations -------------------------------------------------------------

def _vn_number(value: int) -> str:
    return f"{value:,}".replace(",", ".")


def tax_file_path(folder: Path, rows: int, cooperatives: int, seed: int) -> Path:
    return folder / f"to_khai_{rows}r_{cooperatives}htx_s{seed}_v{GENERATOR_VERSION}.csv"


def tax_file(folder: Path, rows: int, registry: Registry, seed: int = 7) -> Path:
    """The `rows`-row declaration file of the registry's filers (generated once, then reused).

    Shape of a national export for 2024: monthly (80 %) and quarterly (15 %) VAT, yearly CIT
    for 2023 (5 %); one row in 50 from a branch (`NNNNNNNNNN-NNN`), one in 97 a supplementary
    declaration, one in 200 from a taxpayer the registry does not know."""
    path = tax_file_path(folder, rows, registry.counts["HTX"], seed)
    if path.exists():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")   # never mistaken for a finished file if interrupted
    with open(partial, "w", encoding="utf-8", newline="") as out:
        out.write(TAX_HEADER + "\n")
        lines = []
        for line in _tax_lines(rows, registry, random.Random(seed)):
            lines.append(line)
            if len(lines) == WRITE_BATCH:
                out.writelines(lines)
                lines.clear()
        out.writelines(lines)
    partial.rename(path)
    return path


def month_file(folder: Path, registry: Registry, seed: int = 7) -> Path:
    """The next monthly file, December 2024's: each filer's 01/GTGT for November 2024, one in 97
    a supplementary declaration of its October (periods ending from October change)."""
    path = folder / f"to_khai_202412_{registry.counts['HTX']}htx_s{seed}_v{GENERATOR_VERSION}.csv"
    if path.exists():
        return path
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write(TAX_HEADER + "\n")
        for i, code in enumerate(sorted(registry.filers)):
            period, revision = ("10/2024", 1) if i % 97 == 0 else ("11/2024", 0)
            revenue = rng.randint(1, 5 * 10**8)
            out.write(f"{code};{registry.names[code]};01/GTGT;{period};{revision};"
                      f"{rng.randint(1, 20):02d}/12/2024;{_vn_number(revenue)};;"
                      f"{_vn_number(revenue // 10)}\n")
    return path


def _tax_lines(rows: int, registry: Registry, rng: random.Random):
    filers = sorted(registry.filers)
    unknown = _unknown_codes(rng, set(registry.names))
    for i in range(rows):
        if i % 200 == 199:
            code = unknown[i % len(unknown)]
            name = f"Hợp tác xã ngoài danh bạ {code[-4:]}"
        else:
            code = filers[i % len(filers)]
            name = registry.names[code]
        if i % 50 == 0:
            code += f"-{rng.randint(1, 20):03d}"
        kind = rng.random()
        if kind < 0.8:
            form, period = "01/GTGT", f"{rng.randint(1, 12):02d}/2024"
        elif kind < 0.95:
            form, period = "01/GTGT", f"Q{rng.randint(1, 4)}/2024"
        else:
            form, period = "03/TNDN", "2023"
        revenue = rng.randint(1, 5 * 10**9)
        profit = _vn_number(rng.randint(-10**8, 10**9)) if form == "03/TNDN" else ""
        yield (f"{code};{name};{form};{period};{1 if i % 97 == 0 else 0};"
               f"{rng.randint(1, 28):02d}/10/2024;"
               f"{_vn_number(revenue)};{profit};{_vn_number(revenue // 10)}\n")


def _unknown_codes(rng: random.Random, known: set[str]) -> list[str]:
    codes: list[str] = []
    while len(codes) < UNKNOWN_TAXPAYERS:
        prefix = f"{rng.randint(64, 99):02d}{rng.randrange(10**7):07d}"   # no province's prefix
        check = mst.calc_check_digit(prefix)
        if len(check) == 1 and prefix + check not in known:
            codes.append(prefix + check)
    return codes
