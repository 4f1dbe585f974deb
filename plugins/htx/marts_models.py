"""What each marts model (include/sql/marts/*.sql) reads and which indicators it writes, declared
once: a refresh after feed runs recomputes a model only for the periods its sources' changes can
reach, and deletes only its indicators' rows there (htx.marts_incremental, issue 15). A monthly
tax file thus recomputes the tax models, not the registry's millions of member rows.

`reads`: the feeds (htx.feeds.config, as audit.marts_change names them) whose core tables the
model reads — itself, or through the temporary tables of earlier models it uses (the tax models
read the registry's cooperatives: `registry_as_of`). `every_period`: the model prepares for, or
derives from, the others (estimate basis, reported groups, the registry as of each period, member
totals, values, shares, estimates, targets): it runs for every period the refresh recomputes and
reads or writes only the rows the others recomputed — but the targets', which it sets on every
row, recomputed or kept (a target annex changes no value: it recomputes no period).
`indicators`: the indicators whose rows it writes (mart.plan_indicator_members,
mart.plan_indicator, mart.locality_across_reform); each indicator of the catalogue
(include/reference/indicators.csv) is written by exactly one model.
`tables`: the tables with a row per period that it alone writes, every row of them its
indicators' (the registry's members per entity, mart.registry_member_period).
tests/test_marts_models.py holds every model file, feed and indicator to this declaration; a
model file missing here makes every refresh rebuild every period.
"""
from __future__ import annotations

from dataclasses import dataclass

REGISTRY = "registrations"
TAX = "tax_declarations"
LENDING = "support_lending"
CREDIT_FUNDS = "credit_fund_reports"
ANNUAL_REPORTS = "annual_reports"
PLAN_TARGETS = "plan_targets"


@dataclass(frozen=True)
class Model:
    reads: frozenset[str] = frozenset()
    indicators: tuple[str, ...] = ()
    every_period: bool = False
    tables: tuple[str, ...] = ()


def reads(*feeds: str, indicators: tuple[str, ...] = (), tables: tuple[str, ...] = ()) -> Model:
    return Model(frozenset(feeds), indicators, tables=tables)


EVERY_PERIOD = Model(every_period=True)

MODELS: dict[str, Model] = {
    "001_year_end_estimate_basis.sql": EVERY_PERIOD,
    "005_reported_group.sql": EVERY_PERIOD,
    # registry_as_of holds every period recomputed; each model reading it sees its own.
    "010_registry_as_of.sql": EVERY_PERIOD,
    "020_tax_as_of.sql": reads(TAX, REGISTRY),
    "100_registry.sql": reads(REGISTRY, indicators=(
        "HTX_TOTAL", "HTX_BY_SECTOR", "HTX_CHARTER_CAPITAL", "HTX_MEMBERS", "HTX_NEW",
        "HTX_DISSOLVED", "LHHTX_TOTAL", "LHHTX_CHARTER_CAPITAL", "LHHTX_MEMBER_COOPS",
        "THT_TOTAL", "THT_MEMBERS"), tables=("mart.registry_member_period",)),
    "200_htx_tax.sql": reads(TAX, REGISTRY, indicators=(
        "HTX_TAX_ACTIVE", "HTX_NOT_ACTIVE", "HTX_AVG_REVENUE", "HTX_AVG_PROFIT")),
    "300_lending.sql": reads(LENDING, indicators=(
        "LENDING_CONTRACTS", "LENDING_DISBURSED", "LENDING_OUTSTANDING",
        "LENDING_BORROWERS_OUTSTANDING", "LENDING_FUND_SIZE", "LENDING_NPL_RATIO")),
    "400_qtdnd.sql": reads(CREDIT_FUNDS, indicators=(
        "QTDND_TOTAL", "QTDND_MEMBERS", "QTDND_EMPLOYEES", "QTDND_TOTAL_CAPITAL", "QTDND_EQUITY",
        "QTDND_DEPOSITS", "QTDND_LOANS", "QTDND_AVG_REVENUE", "QTDND_AVG_PROFIT",
        "QTDND_AVG_EMPLOYEE_INCOME", "QTDND_NPL_RATIO")),
    "500_htx_annual.sql": reads(ANNUAL_REPORTS, REGISTRY, indicators=(
        "HTX_WORKERS", "HTX_MEMBER_WORKERS", "HTX_MANAGERS", "HTX_MANAGERS_VOCATIONAL",
        "HTX_MANAGERS_COLLEGE_PLUS", "HTX_AVG_INCOME")),
    "700_member_totals.sql": EVERY_PERIOD,
    "800_values_from_members.sql": EVERY_PERIOD,
    # Shares of the values (any model's): all of them, in every period recomputed.
    "810_shares.sql": Model(indicators=(
        "HTX_SECTOR_SHARE", "THT_SECTOR_SHARE", "HTX_NOT_ACTIVE_SHARE", "QTDND_EQUITY_SHARE",
        "QTDND_DEPOSIT_SHARE"), every_period=True),
    "850_year_end_estimates.sql": EVERY_PERIOD,
    # Targets (feed 6, plan_targets) on every value that has one, in every refresh: an annex's
    # merge recomputes no period (include/sql/marts_changes/plan_targets.sql).
    "900_plan_targets.sql": Model(frozenset({PLAN_TARGETS}), every_period=True),
}


def feeds_read() -> frozenset[str]:
    """Every feed a model reads: a change of any other source makes a refresh whole."""
    return frozenset().union(*(model.reads for model in MODELS.values()))
