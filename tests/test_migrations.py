"""Warehouse migrations: ordered, recorded, safe to re-run, immutable once applied."""
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


def test_rerunning_applies_nothing_and_keeps_reference_data(warehouse):
    before = query(warehouse, "SELECT count(*) FROM core.ref_locality")
    assert migrations.migrate(warehouse) == []
    assert query(warehouse, "SELECT count(*) FROM core.ref_locality") == before == [(13,)]
    assert query(warehouse, "SELECT count(*) FROM core.ref_vsic_division")[0][0] > 80


def test_a_changed_applied_migration_is_refused(warehouse, monkeypatch, tmp_path):
    for path in MIGRATIONS_DIR.glob("*.sql"):
        (tmp_path / path.name).write_text(path.read_text())
    first = sorted(tmp_path.glob("*.sql"))[0]
    first.write_text(first.read_text() + "\n-- edited\n")
    monkeypatch.setattr(migrations, "MIGRATIONS_DIR", tmp_path)
    with pytest.raises(RuntimeError, match=f"{first.name} was changed"):
        migrations.migrate(warehouse)


def test_plan_targets_are_reference_data(warehouse):
    assert query(warehouse, "SELECT indicator_code, target FROM mart.plan_target"
                            " WHERE plan_year = 2024 ORDER BY 1") == [("HTX_NEW", 55), ("HTX_TOTAL", 747)]
