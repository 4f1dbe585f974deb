"""The refresh's own check (htx.marts): every count, sum and mean in mart.plan_indicator is the
aggregate of its members (mart.plan_indicator_members), or the refresh fails — the reason first,
then the indicator, breakdown and period — and the previous marts stay. Each case breaks the rule
with one extra model placed among the real ones: before the members are totalled (6xx) or after
the values are derived (8xx)."""
import shutil

import pytest

from conftest import query
from htx import marts
from test_tax_declarations_marts import registry_state

H1, H2 = "5701001057", "5701001064"   # two cooperatives of 10 members each, since 2020
SEPTEMBER = "period 01/01/2024–30/09/2024"


@pytest.fixture
def refreshed(warehouse):
    for code in (H1, H2):
        registry_state(warehouse, code)
    marts.refresh(dsn=warehouse)
    return warehouse


@pytest.mark.parametrize("model, statement, reason", [
    ("850_changes_a_value.sql",
     "UPDATE mart.plan_indicator SET value = value + 1"
     " WHERE indicator_code = 'HTX_MEMBERS' AND period_end = '2024-09-30'",
     f"the value is not the aggregate of its members: HTX_MEMBERS, breakdown '', {SEPTEMBER}"
     " (value 21, members give 20)"),
    ("850_drops_a_value.sql",
     "DELETE FROM mart.plan_indicator WHERE indicator_code = 'HTX_TOTAL' AND breakdown = ''"
     " AND period_end = '2024-09-30'",
     f"members are listed for a value that does not exist: HTX_TOTAL, breakdown '', {SEPTEMBER}"
     " (value none, members give 2)"),
    ("650_counts_one_twice.sql",
     "INSERT INTO mart.plan_indicator_members (indicator_code, breakdown, period_start,"
     " period_end, entity_code, contribution) VALUES ('HTX_TOTAL', '', '2024-01-01',"
     f" '2024-09-30', '{H1}', 2)",
     f"the counted members do not contribute 1 each: HTX_TOTAL, breakdown '', {SEPTEMBER}"),
    ("650_traces_a_share.sql",
     "INSERT INTO mart.plan_indicator_members (indicator_code, breakdown, period_start,"
     " period_end, entity_code, contribution) VALUES ('HTX_SECTOR_SHARE', 'sector=nong_nghiep',"
     f" '2024-01-01', '2024-09-30', '{H1}', 50)",
     "members are listed for an indicator mart.indicator_aggregation does not declare:"
     f" HTX_SECTOR_SHARE, breakdown 'sector=nong_nghiep', {SEPTEMBER}"),
])
def test_a_value_that_is_not_the_aggregate_of_its_members_fails_the_refresh(
        refreshed, monkeypatch, tmp_path, model, statement, reason):
    before = query(refreshed, "SELECT * FROM mart.plan_indicator ORDER BY 1, 2, 3, 4")
    for real in marts.MARTS_SQL_DIR.glob("*.sql"):
        shutil.copy(real, tmp_path)
    (tmp_path / model).write_text(statement)
    monkeypatch.setattr(marts, "MARTS_SQL_DIR", tmp_path)
    with pytest.raises(marts.MembersMismatch) as refused:
        marts.refresh(dsn=refreshed)
    message = str(refused.value)
    assert message.startswith("values not the aggregate of their members in 1 group(s)")
    assert reason in message
    assert query(refreshed, "SELECT * FROM mart.plan_indicator ORDER BY 1, 2, 3, 4") == before
