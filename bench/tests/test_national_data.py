"""The national-scale generators write what the contracts say, deterministically, and the tax
file's taxpayers are the registry's cooperatives."""
from __future__ import annotations

import collections
import tracemalloc

import national_data
from htx.feeds import registrations, tax_declarations
from national_data import build_registry, tax_file

VALID_STATUS = {"dang_hoat_dong", "tam_ngung_kinh_doanh", "dang_giai_the", "da_giai_the",
                "bi_thu_hoi", "khong_hoat_dong_tai_dia_chi"}


def test_registry_is_deterministic_per_seed():
    assert build_registry(700, seed=3).items == build_registry(700, seed=3).items
    assert build_registry(700, seed=3).items != build_registry(700, seed=4).items


def test_registry_items_parse_and_only_the_planted_invalid_ones_would_be_quarantined():
    registry = build_registry(3_500, seed=11)
    assert registry.counts == {"HTX": 3_500, "LHHTX": 10, "THT": 500}
    problems = collections.Counter()
    codes = set()
    for position, item in enumerate(registry.items, start=1):
        row = registrations.parse_item(item, "page-00001.json", position)
        assert not row.failures, row.failures
        v = row.values
        assert v["locality_code"] is not None, v["locality_raw"]   # one of the 13 known ones
        assert v["main_vsic_division_known"]
        if v["entity_code_check_digit_ok"] is False:
            problems["check digit"] += 1
        elif v["status"] not in VALID_STATUS:
            problems["status"] += 1
        else:
            codes.add(v["entity_code"])
    planted = int(len(registry.items) * national_data.INVALID_SHARE / (1 + national_data.INVALID_SHARE))
    assert abs(sum(problems.values()) - planted) <= 1 and set(problems) == {"check digit", "status"}
    assert len(codes) == 3_500 + 10 + 500                       # every entity has a valid state
    assert {code[:2] for code in codes} <= set(national_data.PROVINCE_PREFIXES)


def test_tax_file_rows_are_contract_rows_of_the_registrys_cooperatives(tmp_path):
    registry = build_registry(2_000, seed=5)
    path = tax_file(tmp_path, 20_000, registry, seed=5)
    rows = list(tax_declarations.parse_object(path.read_bytes(), "tax/to_khai_202410.csv"))
    assert len(rows) == 20_000
    parents = collections.Counter()
    for row in rows:
        assert not row.failures, row.failures
        assert all(row.values[c] is not False for c in tax_declarations.CHECK_COLUMNS), row.values
        parents[row.values["parent_code"] in set(registry.filers)] += 1
    assert parents[False] == 20_000 // 200          # one row in 200: a code the registry lacks
    assert not set(registry.filers) - {r.values["parent_code"] for r in rows}  # all of them file


def test_tax_file_is_streamed_cached_and_never_left_half_written(tmp_path):
    registry = build_registry(500, seed=1)
    tracemalloc.start()
    path = tax_file(tmp_path, 200_000, registry, seed=1)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert path.stat().st_size > 15 * 10**6 and peak < 10 * 10**6   # the rows never in memory
    assert path.read_bytes().count(b"\n") == 200_001
    modified = path.stat().st_mtime_ns
    assert tax_file(tmp_path, 200_000, registry, seed=1) == path
    assert path.stat().st_mtime_ns == modified                       # reused, not rewritten
    assert not list(tmp_path.glob("*.partial"))
