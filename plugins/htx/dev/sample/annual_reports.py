"""Deterministic sample of feed 5: cooperative annual reports (báo cáo năm), for the registry
sample's own cooperatives.

For the period ending 2024-09-30 (reports up to 2024, over the 895 cooperatives operating then)
it reproduces the plan document's figures: 73,388 workers, 44,377 of them members, a
worker-weighted mean income of exactly 68 million VND a year, 5,668 managers (4,000 with
vocational training, 1,300 with a college degree or more). The files:
  * `bao_cao_nam_2023.csv` — most cooperatives registered before 2024, plus a few already
    dissolved by 2024-09-30 (they must not count), one row whose member workers exceed its
    workers and one with a bad MST check digit (both quarantined). It is delivered twice: a
    first version with rows missing, wrong and extra, then the corrected file under the same
    name (written under `_resend/` for the demo to deliver after the first run), which replaces
    the first version's rows;
  * `bao_cao_nam_2024.csv` — a subset: cooperatives registered in 2024, and older ones whose
    2024 report supersedes their 2023 one; one cooperative is listed twice (the later row counts);
  * `bao_cao_nam_2022.csv` — without the `managers_college_plus` column: rejected whole.
About one cooperative in eight has no report at all and adds nothing.
"""
from __future__ import annotations

import csv
import random
from datetime import date
from pathlib import Path

from htx.feeds.annual_reports import HEADERS
from htx.dev.sample import RESEND_DIR
from htx.dev.sample.registry_states import operating_as_of, states_as_of

FOLDER = "annual_reports"
AS_OF = date(2024, 9, 30)
WORKERS, MEMBER_WORKERS = 73_388, 44_377
AVG_INCOME_VND = 68_000_000
MANAGERS, MANAGERS_VOCATIONAL, MANAGERS_COLLEGE_PLUS = 5_668, 4_000, 1_300
OLD_WITH_2023_REPORT, OLD_UPDATED_IN_2024, OLD_ONLY_2024, NEW_WITH_2024_REPORT = 700, 90, 15, 60


def write_files(root: Path, registry_items: list[dict]) -> list[Path]:
    """Write the sample's yearly files under `root/annual_reports/` (the corrected re-send under
    `root/_resend/annual_reports/`); returns their paths."""
    written = []
    for relative, (headers, rows) in build(registry_items).items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(headers)
            writer.writerows([row[h] for h in headers] for row in rows)
        written.append(path)
    return written


def build(registry_items: list[dict], seed: int = 2025) -> dict[str, tuple[tuple, list[dict]]]:
    """Path under the landing root → (headers, rows as dicts), values as the file holds them."""
    rng = random.Random(seed)
    operating = operating_as_of(registry_items, "HTX", AS_OF)
    old = [s for s in operating if s["registered_on"] < "2024-01-01"]
    new = [s for s in operating if s["registered_on"] >= "2024-01-01"]
    rng.shuffle(old)
    rng.shuffle(new)
    with_2023 = old[:OLD_WITH_2023_REPORT]
    updated = with_2023[:OLD_UPDATED_IN_2024]
    only_2024 = old[OLD_WITH_2023_REPORT:OLD_WITH_2023_REPORT + OLD_ONLY_2024]
    with_2024 = updated + only_2024 + new[:NEW_WITH_2024_REPORT]
    unreported = old[OLD_WITH_2023_REPORT + OLD_ONLY_2024:] + new[NEW_WITH_2024_REPORT:]

    # The reports that count: the 2024 one where there is one, else the 2023 one.
    counted = {s["entity_code"]: row for s, row in zip(
        with_2024 + with_2023[OLD_UPDATED_IN_2024:],
        counted_figures(rng, len(with_2024) + len(with_2023) - OLD_UPDATED_IN_2024))}
    rows_2024 = [dict(counted[s["entity_code"]], entity_code=s["entity_code"], report_year=2024,
                      members=s["members"]) for s in with_2024]
    rows_2023 = [dict(counted[s["entity_code"]], entity_code=s["entity_code"], report_year=2023,
                      members=s["members"]) for s in with_2023[OLD_UPDATED_IN_2024:]]
    rows_2023 += [other_report(rng, s, 2023) for s in updated]          # superseded in 2024
    rows_2023 += [other_report(rng, s, 2023) for s in dissolved(registry_items)]
    rows_2023 += quarantined_rows(rng, only_2024[0], with_2024[-1])
    # Listed twice in the 2024 file: an earlier draft row, then the row that counts.
    twice = rows_2024.pop(5)
    rows_2024 += [other_report(rng, with_2024[5], 2024), twice]
    rng.shuffle(rows_2023)
    broken_2022 = [other_report(rng, s, 2022) for s in unreported[:40]]
    return {
        f"{FOLDER}/bao_cao_nam_2022.csv": (
            tuple(h for h in HEADERS if h != "managers_college_plus"), broken_2022),
        f"{FOLDER}/bao_cao_nam_2023.csv": (HEADERS, first_version(rng, rows_2023, unreported)),
        f"{RESEND_DIR}/{FOLDER}/bao_cao_nam_2023.csv": (HEADERS, rows_2023),
        f"{FOLDER}/bao_cao_nam_2024.csv": (HEADERS, rows_2024),
    }


def first_version(rng: random.Random, corrected: list[dict], unreported: list[dict]) -> list[dict]:
    """The 2023 file as first sent: 25 rows missing, 15 with other figures, 3 for cooperatives
    that did not report. None of it may count once the corrected file has replaced it."""
    rows = [dict(row) for row in corrected[25:]]
    for row in rows[:15]:
        row["workers"] += 5
        row["member_workers"] += 1
    rows += [other_report(rng, s, 2023) for s in unreported[-3:]]
    rng.shuffle(rows)
    return rows


def counted_figures(rng: random.Random, count: int) -> list[dict]:
    """`count` reports whose sums are exactly the seed's, each one internally consistent."""
    workers = split(rng, WORKERS, count, 5)
    member_workers = proportional(workers, MEMBER_WORKERS, workers)
    managers = split(rng, MANAGERS, count, 3)
    vocational = [m * MANAGERS_VOCATIONAL // MANAGERS for m in managers]
    college = [m * MANAGERS_COLLEGE_PLUS // MANAGERS for m in managers]
    top_up(vocational, MANAGERS_VOCATIONAL, managers, college)
    top_up(college, MANAGERS_COLLEGE_PLUS, managers, vocational)
    incomes = balanced_incomes(rng, workers)
    return [{"workers": w, "member_workers": mw, "avg_income_per_worker_vnd": inc,
             "managers": m, "managers_vocational": v, "managers_college_plus": c}
            for w, mw, inc, m, v, c in zip(workers, member_workers, incomes, managers, vocational,
                                           college)]


def split(rng: random.Random, total: int, parts: int, minimum: int) -> list[int]:
    """`parts` integers ≥ minimum, uneven like real sizes, summing exactly to `total`."""
    weights = [rng.lognormvariate(0, 0.8) for _ in range(parts)]
    spare = total - minimum * parts
    shares = [minimum + int(spare * w / sum(weights)) for w in weights]
    for i in range(total - sum(shares)):
        shares[i % parts] += 1
    return shares


def proportional(base: list[int], total: int, caps: list[int]) -> list[int]:
    """Shares of `total` proportional to `base`, each at most its cap, summing exactly to total."""
    shares = [b * total // sum(base) for b in base]
    top_up(shares, total, caps, [0] * len(shares))
    return shares


def top_up(shares: list[int], total: int, caps: list[int], beside: list[int]) -> None:
    """Add 1s until `shares` sum to `total`, keeping shares[i] + beside[i] ≤ caps[i]."""
    while sum(shares) < total:
        before = sum(shares)
        for i in range(len(shares)):
            if sum(shares) == total:
                return
            if shares[i] + beside[i] < caps[i]:
                shares[i] += 1
        if sum(shares) == before:
            raise ValueError("caps leave no room for the total")


def balanced_incomes(rng: random.Random, workers: list[int]) -> list[int]:
    """Yearly incomes around the mean whose worker-weighted mean is exactly AVG_INCOME_VND:
    paired deviations a·w_j and −a·w_i cancel in Σ workers × income."""
    incomes = [AVG_INCOME_VND] * len(workers)
    for i in range(0, len(workers) - 1, 2):
        j = i + 1
        step = 20_000_000 // (1000 * max(workers[i], workers[j]))
        a = rng.randint(-step, step) * 1000
        incomes[i] += a * workers[j]
        incomes[j] -= a * workers[i]
    return incomes


def other_report(rng: random.Random, state: dict, year: int) -> dict:
    """A valid report that must not count (superseded, dissolved, or in a rejected file)."""
    workers = rng.randint(5, 120)
    managers = rng.randint(3, 9)
    vocational = rng.randint(0, managers)
    return {"entity_code": state["entity_code"], "report_year": year,
            "members": state["members"], "workers": workers,
            "member_workers": rng.randint(0, workers),
            "avg_income_per_worker_vnd": rng.randint(30, 120) * 1_000_000,
            "managers": managers, "managers_vocational": vocational,
            "managers_college_plus": rng.randint(0, managers - vocational)}


def dissolved(registry_items: list[dict]) -> list[dict]:
    """The six cooperatives dissolved most recently before 2024-09-30: they filed for 2023."""
    gone = [s for s in states_as_of(registry_items, AS_OF).values()
            if s["entity_type"] == "HTX" and s["status"] == "da_giai_the"]
    return sorted(gone, key=lambda s: (s["status_since"], s["entity_code"]))[-6:]


def quarantined_rows(rng: random.Random, reported_2024: dict, counted: dict) -> list[dict]:
    """Two 2023 rows the suite must quarantine; neither cooperative's figures depend on them
    (the first cooperative's 2024 report counts; the second code is no cooperative's)."""
    too_many = dict(other_report(rng, reported_2024, 2023), workers=10, member_workers=14)
    code = counted["entity_code"]
    bad_digit = dict(other_report(rng, counted, 2023),
                     entity_code=code[:9] + str((int(code[9]) + 1) % 10))
    return [too_many, bad_digit]
