"""The marts models' declaration (htx.marts_models), what an incremental refresh relies on to
recompute only what changed: every model file declared, every feed it names real, every
indicator of the catalogue written by exactly one model — the one whose SQL writes it. (That
the refresh keeps the rest as a full rebuild would compute it: tests/test_marts_incremental.py.)"""
import csv
from collections import Counter

from htx import marts_models
from htx.feeds.config import FEEDS
from htx.paths import MARTS_SQL_DIR, REFERENCE_DIR


def catalogue() -> list[str]:
    with open(REFERENCE_DIR / "indicators.csv", encoding="utf-8", newline="") as f:
        return [row["indicator_code"] for row in csv.DictReader(f)]


def test_every_model_file_is_declared_and_every_declaration_has_its_file():
    assert sorted(p.name for p in MARTS_SQL_DIR.glob("*.sql")) == sorted(marts_models.MODELS)


def test_models_read_real_feeds_and_the_tax_models_read_the_registry():
    assert marts_models.feeds_read() <= set(FEEDS)
    for name in ("020_tax_as_of.sql", "200_htx_tax.sql", "500_htx_annual.sql"):
        assert marts_models.REGISTRY in marts_models.MODELS[name].reads, name


def test_every_indicator_of_the_catalogue_is_written_by_exactly_one_model():
    written = Counter(code for model in marts_models.MODELS.values()
                      for code in model.indicators)
    assert sorted(written) == sorted(catalogue())
    assert set(written.values()) == {1}


def test_each_model_names_the_indicators_it_declares():
    for name, model in marts_models.MODELS.items():
        text = (MARTS_SQL_DIR / name).read_text(encoding="utf-8")
        assert [code for code in model.indicators if f"'{code}'" not in text] == [], name
