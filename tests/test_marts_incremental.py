"""The marts refreshed incrementally after feed runs (htx.marts_incremental) equal a full rebuild:
on a generated province — a few hundred entities with their histories, a few thousand tax
declarations — through the real pipeline, each step followed by an incremental refresh that is
then compared with a full one; on the bundled sample's files of feeds 3–6 (lending, credit funds,
annual reports, targets); and on the national data's generator (bench/national_data.py) at a
small size. (The bundled sample: tests/test_all_feeds_e2e.py; national scale, timed:
bench/national.py.)"""
import logging
import os
import random
import sys
import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest

from conftest import query
from faults_support import DROPPED_AT, TAX_HEADER, drop, run_feed, valid_codes
from htx import marts, pipeline
from plan_targets_support import annex_bytes, target_row

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import national_data  # noqa: E402

SEED = 15
STATUSES = ("tam_ngung_kinh_doanh", "khong_hoat_dong_tai_dia_chi", "dang_giai_the",
            "da_giai_the")
_resends = iter(range(1, 100))


def entity_states(rng: random.Random, codes: list[str]) -> list[dict]:
    """Each entity's first state (registered 2012–2023) and, for one in four, a later status
    (by June 2024: the registry's data ends before the tax files')."""
    items = []
    for i, code in enumerate(codes):
        kind = "HTX" if i % 10 < 8 else ("THT" if i % 10 == 8 else "LHHTX")
        registered = date(2012, 1, 1) + timedelta(days=rng.randrange(12 * 365))
        first = state(code, kind, "dang_hoat_dong", registered, registered, rng)
        items.append(first)
        since = registered + timedelta(days=rng.randrange(30, 1500))
        if rng.random() < 0.25 and since < date(2024, 6, 1):
            items.append(dict(first, status=rng.choice(STATUSES), status_since=since.isoformat(),
                              updated_at=f"{since + timedelta(days=3)}T09:00:00+07:00"))
    return items


def state(code, kind, status, registered, since, rng, **changes) -> dict:
    return {"entity_code": code, "entity_type": kind, "name": f"Hợp tác xã {code[-4:]}",
            "main_vsic": rng.choice(("0111", "0321", "1079", "4101", "4933", "5510")),
            "locality": "Hạ Long", "address": "x", "registered_on": registered.isoformat(),
            "status": status, "status_since": since.isoformat(),
            "charter_capital_vnd": rng.randrange(1, 500) * 10**7, "members": rng.randrange(7, 90),
            "legal_representative": {"full_name": "A", "id_number": "1"},
            "updated_at": f"{since + timedelta(days=1)}T10:00:00+07:00", **changes}


def tax_file(rng: random.Random, filed: date, *groups: tuple) -> bytes:
    """For each group (filers, periods, revision), one declaration per filer and period: VAT
    for MM/YYYY and Qn/YYYY, CIT for YYYY."""
    lines = [TAX_HEADER]
    for filers, periods, revision in groups:
        for period, code in ((p, c) for p in periods for c in filers):
            cit = len(period) == 4
            profit = _vn(rng.randrange(-100, 900) * 10**6) if cit else ""
            lines.append(f"{code};HTX {code[-4:]};{'03/TNDN' if cit else '01/GTGT'};{period};"
                         f"{revision};{rng.randint(1, 28):02d}/{filed:%m/%Y};"
                         f"{_vn(rng.randrange(1, 5000) * 10**6)};{profit};0")
    return ("\n".join(lines) + "\n").encode("utf-8")


def _vn(amount: int) -> str:
    return f"{amount:,}".replace(",", ".")


def deliver(landing, name: str, data: bytes) -> None:
    deliver_file(landing, "tax_declarations", f"tax/{name}", data)


def deliver_file(landing, feed: str, relative: str, data: bytes) -> None:
    """A file of `feed` delivered (again, if it was: seen as changed), and the feed run."""
    path = drop(landing, relative, data)
    stamp = DROPPED_AT + next(_resends)   # a re-sent file is seen as changed
    os.utime(path, (stamp, stamp))
    run_feed(feed, pipeline.RunInfo("test", uuid.uuid4().hex[:8], "t"))


def pull(server, *items) -> None:
    server.publish(list(items))
    run_feed("registrations", pipeline.RunInfo("test", uuid.uuid4().hex[:8], "t"))


def marts_now(dsn) -> dict:
    return {
        "periods": query(dsn, "SELECT * FROM mart.reporting_period ORDER BY 1, 2"),
        "values": query(dsn, "SELECT * FROM mart.plan_indicator ORDER BY 1, 2, 3, 4"),
        "members": query(dsn, "SELECT count(*), md5(string_agg(m::text, '|' ORDER BY m::text))"
                              " FROM mart.plan_indicator_members AS m"),
        "across_reform": query(dsn, "SELECT * FROM mart.locality_across_reform"
                                    " ORDER BY 1, 2, 3, 4, 5")}


# The registry's rows of the periods a tax file changes, each with its physical version: equal
# before and after a refresh that kept them (not deleted and written again) — as stored: its
# member rows, its operating entities once per period (migration 0190), its values.
REGISTRY_CODES = "('HTX_TOTAL', 'HTX_MEMBERS', 'THT_TOTAL', 'HTX_NEW')"
REGISTRY_ROWS = {
    "mart.plan_indicator_member_rows":
        "SELECT indicator_code, breakdown, period_end, entity_code, xmin::text, ctid::text"
        " FROM mart.plan_indicator_member_rows WHERE indicator_code IN " + REGISTRY_CODES,
    "mart.registry_member_period":
        "SELECT entity_type, period_end, entity_code, xmin::text, ctid::text"
        " FROM mart.registry_member_period WHERE entity_type IN ('HTX', 'THT')",
    "mart.plan_indicator":
        "SELECT indicator_code, breakdown, period_end, value, xmin::text, ctid::text"
        " FROM mart.plan_indicator WHERE indicator_code IN " + REGISTRY_CODES}


def registry_rows(dsn, first_end: str, last_end: str) -> dict:
    return {table: query(dsn, rows + " AND period_end BETWEEN %s AND %s ORDER BY 1, 2, 3, 4",
                         (first_end, last_end))
            for table, rows in REGISTRY_ROWS.items()}


def refreshed_as_a_full_rebuild(dsn, kept: tuple[str, str] | None = None) -> dict:
    """Refresh incrementally, then fully: the same marts. What the incremental refresh did.
    `kept`: the first and last period end whose registry rows it must keep as they were."""
    before = registry_rows(dsn, *kept) if kept else None
    done = marts.refresh(incremental=True)
    if kept:
        after = registry_rows(dsn, *kept)
        assert after == before and after["mart.registry_member_period"]
    incremental = marts_now(dsn)
    marts.refresh()
    full = marts_now(dsn)
    assert incremental["periods"] == full["periods"]
    assert incremental["values"] == full["values"]
    assert incremental["members"] == full["members"]
    assert incremental["across_reform"] == full["across_reform"]
    return done


@pytest.fixture
def province(warehouse, landing, registry_api, monkeypatch):
    """A registry of 320 entities and eight monthly tax files of 2024 (each the month before;
    quarters in April and July, CIT for 2023 in March), loaded and refreshed."""
    monkeypatch.setenv("HTX_BULK_MIN_BYTES", "0")   # tax files read by the database: no GX
    rng = random.Random(SEED)
    codes = valid_codes(320, start=3000)
    items = entity_states(rng, codes)
    server = registry_api([])
    pull(server, *items)
    filers = [item["entity_code"] for item in items if item["entity_type"] == "HTX"][:220]
    for month in range(1, 9):
        periods = [f"{month - 1:02d}/2024" if month > 1 else "12/2023"]
        periods += [f"Q{(month - 1) // 3}/2024"] if month in (4, 7) else []
        periods += ["2023"] if month == 3 else []
        deliver(landing, f"to_khai_2024{month:02d}.csv",
                tax_file(rng, date(2024, month, 1), (filers, periods, 0)))
    marts.refresh()
    return rng, server, codes, filers


def test_incremental_refreshes_equal_a_full_rebuild(warehouse, landing, province):
    rng, server, codes, filers = province
    before = marts_now(warehouse)
    assert len(before["periods"]) == 8 + 12 + 8   # 2015–2022 whole, 2023 and 2024 by month

    # Nothing merged since the last refresh: nothing recomputed, nothing changed.
    assert refreshed_as_a_full_rebuild(warehouse)["periods_recomputed"] == 0
    assert marts_now(warehouse) == before

    # September's file: August's declarations and amendments of June (Lần nộp 1). The periods
    # ending from June are recomputed (September's is new), no earlier one.
    # Only the tax models recompute June to August (the registry's rows kept as they were);
    # every model computes September.
    deliver(landing, "to_khai_202409.csv", tax_file(
        rng, date(2024, 9, 1), (filers, ["08/2024"], 0), (filers[:40], ["06/2024"], 1)))
    (tax_members,) = query(warehouse, "SELECT count(*) FROM mart.plan_indicator_members"
                                      " WHERE period_end >= '2024-06-30' AND indicator_code IN"
                                      " ('HTX_TAX_ACTIVE', 'HTX_NOT_ACTIVE', 'HTX_AVG_REVENUE',"
                                      " 'HTX_AVG_PROFIT')")[0]
    done = refreshed_as_a_full_rebuild(warehouse, kept=("2024-06-30", "2024-08-31"))
    assert (done["periods"], done["periods_recomputed"]) == (29, 4)
    assert done["member_rows_deleted"] == tax_members > 0
    assert "100_registry.sql" in done["models_run"]
    assert marts_now(warehouse)["values"] != before["values"]

    # March's file sent again, corrected: half the filers, no CIT for 2023 — which it held
    # before, so every period ending from 1 January 2023 is recomputed.
    deliver(landing, "to_khai_202403.csv", tax_file(rng, date(2024, 3, 1),
                                                    (filers[::2], ["02/2024"], 0)))
    assert refreshed_as_a_full_rebuild(warehouse)["periods_recomputed"] == 12 + 9

    # Registry pulls: a status dated back to May 2019 and a cooperative registered in September
    # 2024; then that status rewritten under its own updated_at, now from July 2021 — the
    # periods from May 2019 change again (the state it replaces was in force from then).
    stamp = "2024-09-25T10:00:00+07:00"
    suspended = state(codes[3], "HTX", "tam_ngung_kinh_doanh", date(2012, 1, 1),
                      date(2019, 5, 1), rng, updated_at=stamp)
    new = state(valid_codes(1, start=9000)[0], "HTX", "dang_hoat_dong", date(2024, 9, 2),
                date(2024, 9, 2), rng, updated_at=stamp)
    pull(server, suspended, new)
    assert refreshed_as_a_full_rebuild(warehouse)["periods_recomputed"] == 4 + 12 + 9
    pull(server, dict(suspended, status_since="2021-07-01"))
    assert query(warehouse, "SELECT status_since FROM core.registration_state"
                            " WHERE entity_code = %s AND updated_at = %s",
                 (codes[3], stamp)) == [(date(2021, 7, 1),)]
    assert refreshed_as_a_full_rebuild(warehouse)["periods_recomputed"] == 4 + 12 + 9

    # January 2025's file: a new year. 2015 leaves the window, 2023's months give way to its
    # whole year; October 2024 to January 2025 are new.
    deliver(landing, "to_khai_202501.csv", tax_file(rng, date(2025, 1, 1),
                                                    (filers, ["12/2024", "Q4/2024"], 0)))
    done = refreshed_as_a_full_rebuild(warehouse)
    assert (done["periods"], done["periods_recomputed"]) == (8 + 12 + 1, 4)


def test_national_data_refreshed_incrementally_equal_a_full_rebuild(warehouse, landing,
                                                                     registry_api, tmp_path,
                                                                     monkeypatch, caplog):
    """bench/national_data.py's registry and tax files, small: 400 cooperatives with their
    histories (and a few invalid states), 6,000 declarations of 2024 and CIT for 2023, then the
    next month's file (November's declarations, one in 97 amending October) and a registry pull
    dating a dissolution back to 2019 — each followed by an incremental refresh equal to a full
    one; then the members lost as in a crash."""
    monkeypatch.setenv("HTX_BULK_MIN_BYTES", "0")   # tax files read by the database, as at scale
    registry = national_data.build_registry(cooperatives=400, seed=5)
    server = registry_api([])
    pull(server, *registry.items)
    deliver(landing, "to_khai_202410.csv",
            national_data.tax_file(tmp_path, 6000, registry, seed=5).read_bytes())
    marts.refresh()

    deliver(landing, "to_khai_202412.csv",
            national_data.month_file(tmp_path, registry, seed=5).read_bytes())
    done = refreshed_as_a_full_rebuild(warehouse, kept=("2024-10-31", "2024-11-30"))
    assert done["periods_recomputed"] == 3        # October to December 2024 (December new)
    assert done["periods"] > done["periods_recomputed"]
    # Their year-end estimates come from 2023's same months and full year, published and not
    # recomputed (read from the marts as they were): present, and equal to the full rebuild's.
    assert query(warehouse, "SELECT count(*) FROM mart.plan_indicator"
                            " WHERE period_end IN ('2024-10-31', '2024-11-30')"
                            " AND estimate_full_year IS NOT NULL")[0][0] > 0

    operating = next(item for item in registry.items
                     if item["entity_type"] == "HTX" and item["status"] == "dang_hoat_dong"
                     and item["registered_on"] < "2019-01-01")
    # The registry's change reaches the tax indicators too (of HTX_TOTAL's cooperatives, who
    # filed and who did not): the tax models are recomputed with the registry's.
    tax_counts = ("SELECT period_end, sum(value) FROM mart.plan_indicator WHERE indicator_code"
                  " IN ('HTX_TAX_ACTIVE', 'HTX_NOT_ACTIVE') GROUP BY 1 ORDER BY 1")
    counted = dict(query(warehouse, tax_counts))
    pull(server, dict(operating, status="da_giai_the", status_since="2019-03-01",
                      updated_at="2024-12-21T10:00:00+07:00"))   # after the last pull
    done = refreshed_as_a_full_rebuild(warehouse)
    assert 3 < done["periods_recomputed"] < done["periods"]
    assert {"100_registry.sql", "200_htx_tax.sql"} <= set(done["models_run"])
    recounted = dict(query(warehouse, tax_counts))
    assert recounted[date(2024, 11, 30)] == counted[date(2024, 11, 30)] - 1

    # A server crash empties the members and the mark of the refresh that wrote them, all
    # unlogged (migrations 0160, 0190), not the values: the next refresh, though nothing was
    # merged, recomputes every period, says why, and leaves what a full rebuild does.
    query(warehouse, "TRUNCATE mart.plan_indicator_member_rows, mart.registry_member_period,"
                     " audit.marts_members_intact")
    with caplog.at_level(logging.WARNING, logger="htx.marts"):
        done = refreshed_as_a_full_rebuild(warehouse)
    assert done["periods_recomputed"] == done["periods"]
    assert "members of the marts lost" in caplog.text
    assert query(warehouse, "SELECT count(*) FROM audit.marts_members_intact") == [(1,)]
    assert refreshed_as_a_full_rebuild(warehouse)["periods_recomputed"] == 0


@pytest.mark.parametrize("bulk_min_bytes", ["0", "1000000000"], ids=["database", "parser"])
def test_a_tax_file_records_its_earliest_period(warehouse, landing, monkeypatch, bulk_min_bytes):
    """A merged tax file records the periods it changes from its earliest tax period, whichever
    reader staged it (the database's keeps a file's latest versions apart, and reads the
    earliest there): May's declarations, with one version each, and June's amended."""
    monkeypatch.setenv("HTX_BULK_MIN_BYTES", bulk_min_bytes)
    rng = random.Random(SEED)
    filers = valid_codes(30, start=7000)
    deliver(landing, "to_khai_202409.csv", tax_file(
        rng, date(2024, 9, 1), (filers, ["08/2024"], 0), (filers[:5], ["06/2024"], 0),
        (filers[:3], ["06/2024"], 1), (filers[5:7], ["05/2024"], 0)))
    assert query(warehouse, "SELECT c.periods_from, count(*) FILTER (WHERE d.is_latest)"
                            " FROM audit.marts_change AS c JOIN core.tax_declaration AS d"
                            " USING (batch_id) WHERE c.feed = 'tax_declarations' GROUP BY 1"
                 ) == [(date(2024, 5, 1), 37)]


# The bundled sample's files held back from its first load, for the test below to deliver.
HELD_BACK = ("lending/vbsp_202408.xlsx", "credit_funds/5700101348_2024Q1.json",
             "annual_reports/bao_cao_nam_2023.csv", "plan_targets/chi_tieu_2024.xlsx")


@pytest.fixture
def sample_province(warehouse, landing, registry_api, tmp_path):
    """The bundled sample — the registry and every file feed, their corrected re-sends and the
    files HELD_BACK aside — loaded and refreshed; returns where its files were written."""
    from htx.dev import sample
    from htx.dev.sample.registrations import generate
    from htx.feeds.config import FEEDS

    items = generate()
    pull(registry_api([]), *items)
    written = tmp_path / "sample"
    sample.write_drops(written, items)
    for path in sorted(p for p in written.rglob("*") if p.is_file()):
        relative = path.relative_to(written).as_posix()
        if relative not in HELD_BACK and not relative.startswith(sample.RESEND_DIR):
            drop(landing, relative, path.read_bytes())
    for feed in FEEDS.values():
        if feed.source.kind == "file_drop":
            run_feed(feed.name, pipeline.RunInfo("test", uuid.uuid4().hex[:8], "t"))
    marts.refresh()
    return written


def ending_from(dsn, first_end: str) -> int:
    return query(dsn, "SELECT count(*) FROM mart.reporting_period WHERE period_end >= %s",
                 (first_end,))[0][0]


def test_lending_credit_fund_annual_and_target_files_refresh_only_what_they_change(
        warehouse, landing, sample_province):
    """Feeds 3–6 record the periods their merges can change, as the tax and registry feeds do:
    a lending report from its report date, a credit-fund report from its quarter end, an annual
    report from 1 January of its year — each also from what the re-sent file it replaces held —
    and a target annex none (the targets are set on every period in every refresh, and taken
    off where none is in force any more). Each refresh equals a full rebuild."""
    written = sample_province
    total = len(marts_now(warehouse)["periods"])

    def held(relative: str) -> bytes:
        return (written / relative).read_bytes()

    def refreshed_from(first_end: str | None) -> None:
        done = refreshed_as_a_full_rebuild(warehouse)
        recomputed = 0 if first_end is None else ending_from(warehouse, first_end)
        assert done["periods_recomputed"] == recomputed < total

    # (feed, file delivered, its content, the first period end recomputed)
    steps = [
        # Lending: August's report (31/08/2024); then June's file re-sent holding a report of
        # 30/09/2024 — the periods from June change, where the report it replaces counted.
        ("support_lending", "lending/vbsp_202408.xlsx", "lending/vbsp_202408.xlsx", "2024-08-31"),
        ("support_lending", "lending/vbsp_202406.xlsx", "lending/vbsp_202409.xlsx", "2024-06-30"),
        # Credit funds: a fund's Q1 2024 report; then a revised Q3 report re-sent.
        ("credit_fund_reports", "credit_funds/5700101348_2024Q1.json",
         "credit_funds/5700101348_2024Q1.json", "2024-03-31"),
        ("credit_fund_reports", "credit_funds/5700462351_2024Q3.json",
         "_resend/credit_funds/5700462351_2024Q3.json", "2024-09-30"),
        # Annual reports: 2023's file; then that file re-sent holding 2024's reports — its 2023
        # reports gone, the periods from 1 January 2023 change.
        ("annual_reports", "annual_reports/bao_cao_nam_2023.csv",
         "annual_reports/bao_cao_nam_2023.csv", "2023-01-01"),
        ("annual_reports", "annual_reports/bao_cao_nam_2023.csv",
         "annual_reports/bao_cao_nam_2024.csv", "2023-01-01"),
    ]
    for feed, delivered, content, first_end in steps:
        deliver_file(landing, feed, delivered, held(content))
        refreshed_from(first_end)

    # Targets: 2024's annex, then a version of it with one target changed and the others gone.
    targets = ("SELECT indicator_code, target FROM mart.plan_indicator WHERE breakdown = ''"
               " AND period_start = '2024-01-01' AND period_end = '2024-09-30'"
               " AND target IS NOT NULL ORDER BY 1")
    assert query(warehouse, targets) == []
    deliver_file(landing, "plan_targets", "plan_targets/chi_tieu_2024.xlsx",
                 held("plan_targets/chi_tieu_2024.xlsx"))
    refreshed_from(None)
    assert ("HTX_TOTAL", 747) in query(warehouse, targets)
    deliver_file(landing, "plan_targets", "plan_targets/chi_tieu_2024.xlsx",
                 annex_bytes([target_row("HTX_TOTAL", target=800)]))
    refreshed_from(None)
    assert query(warehouse, targets) == [("HTX_TOTAL", 800)]
    # A refresh that changes no target rewrites no row: 900 leaves the rows already right.
    with_targets = ("SELECT indicator_code, breakdown, period_end, xmin::text, ctid::text"
                    " FROM mart.plan_indicator WHERE target IS NOT NULL ORDER BY 1, 2, 3")
    before = query(warehouse, with_targets)
    assert marts.refresh(incremental=True)["periods_recomputed"] == 0
    assert query(warehouse, with_targets) == before != []
