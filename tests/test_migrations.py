"""Warehouse migrations: ordered, recorded, safe to re-run, immutable once applied."""
from datetime import date

import pytest

from conftest import query
from htx import migrate as migrations
from htx.paths import MIGRATIONS_DIR


def test_all_layers_exist_and_every_file_is_recorded(warehouse):
    schemas = {s for (s,) in query(warehouse, "SELECT schema_name FROM information_schema.schemata")}
    assert {"staging", "core", "mart", "quarantine", "audit"} <= schemas
    recorded = [v for (v,) in query(warehouse,
                                     "SELECT version FROM audit.schema_migration ORDER BY version")]
    assert recorded == sorted(p.stem for p in MIGRATIONS_DIR.glob("*.sql"))


ADMIN_MAP_COUNTS = ("SELECT (SELECT count(*) FROM core.ref_admin_map),"
                    " (SELECT count(*) FROM core.ref_admin_unit WHERE map_version = '2024'"
                    "  AND level = 'district'),"
                    " (SELECT count(*) FROM core.ref_admin_unit WHERE map_version = '2024'"
                    "  AND level = 'commune'),"
                    " (SELECT count(*) FROM core.ref_admin_unit WHERE map_version = '2025'),"
                    " (SELECT count(*) FROM core.ref_admin_crosswalk)")


def test_rerunning_applies_nothing_and_keeps_reference_data(warehouse):
    before = query(warehouse, ADMIN_MAP_COUNTS)
    assert migrations.migrate(warehouse) == []
    assert query(warehouse, ADMIN_MAP_COUNTS) == before == [(2, 13, 171, 54, 184)]
    assert query(warehouse, "SELECT count(*) FROM core.ref_vsic_division")[0][0] > 80
    assert query(warehouse, "SELECT count(*) FROM core.ref_indicator") == [(43,)]


def test_the_maps_are_effective_dated(warehouse):
    assert query(warehouse, "SELECT map_version, locality_level, valid_from, valid_to"
                            " FROM core.ref_admin_map ORDER BY 1") == [
        ("2024", "district", None, date(2025, 6, 30)), ("2025", "commune", date(2025, 7, 1), None)]
    # Đông Triều has been a city (thành phố) since 01/11/2024.
    assert query(warehouse, "SELECT kind FROM core.ref_admin_unit WHERE map_version = '2024'"
                            " AND unit_code = '205'") == [("thanh_pho",)]


def test_a_changed_applied_migration_is_refused(warehouse, monkeypatch, tmp_path):
    for path in MIGRATIONS_DIR.glob("*.sql"):
        (tmp_path / path.name).write_text(path.read_text())
    first = sorted(tmp_path.glob("*.sql"))[0]
    first.write_text(first.read_text() + "\n-- edited\n")
    monkeypatch.setattr(migrations, "MIGRATIONS_DIR", tmp_path)
    with pytest.raises(RuntimeError, match=f"{first.name} was changed"):
        migrations.migrate(warehouse)


def test_plan_targets_are_no_longer_reference_data(warehouse):
    # They arrive through feed 6 (tests/test_plan_targets_*.py); a fresh warehouse has none.
    assert query(warehouse, "SELECT count(*) FROM mart.plan_target") == [(0,)]
