"""Every feed declared as configuration. DAG files read this module at parse time, so it must
stay free of heavy imports and of any I/O.

A feed is a `Feed` entry here (or in a module named by the setting HTX_FEED_MODULES), a contract
parser module, an expectation suite, its tables in a migration and a merge SQL file: the
interfaces are htx.feeds.kit's, the checklist docs/feed-kit.md. The pipeline (`htx.pipeline`) and
the DAG factory are shared and name no feed.
"""
from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from htx.feeds.kit import ApiPull, FileDrop, Source
from htx.paths import SQL_DIR

# Modules (importable, comma-separated) each declaring `FEED = Feed(...)`: feeds kept outside
# this package, added to FEEDS when this module is imported.
FEED_MODULES_SETTING = "HTX_FEED_MODULES"


@dataclass(frozen=True)
class DueRule:
    """A delivery per calendar `period` ("month" or "quarter"), due by day `day` of the month after
    that period ends (through the end of that day, Vietnam time). Freshness (htx.ops.freshness):
    once a deadline passes, the feed is late until a batch published after its period closed."""
    period: str
    day: int


@dataclass(frozen=True)
class Feed:
    name: str                  # also the staging/quarantine table and suite name
    title: str                 # shown in the Airflow UI
    source: Source             # where deliveries come from (htx.feeds.kit)
    schedule: str              # cron, in Asia/Ho_Chi_Minh
    core_table: str            # what the merge writes and the Asset names
    expected_cadence: timedelta  # how often a delivery is due (freshness)
    cursor_field: str | None = None  # incremental pulls: the parsed field the cursor follows
    due: DueRule | None = None       # a precise deadline; without one, expected_cadence alone
    doc: str = ""
    # The feed's own files; by default this repository's, found by the feed's name.
    parser: str | None = None        # the contract parser's module (a htx.feeds.kit.Parser)
    suite: Path | None = None        # the expectation suite (JSON)
    merge: Path | None = None        # the merge SQL
    bulk_sql: Path | None = None     # the database reader's typing SQL (a BulkCsvParser's feed)
    batch_check: str | None = None   # a table-level rule: a parser function (htx.feeds.kit.BatchCheck)
    migrations: Path | None = None   # a folder of the feed's own migrations, after the core's
    # The SQL giving the earliest reporting-period end a batch's merge can change, for the
    # marts' incremental refresh (htx.marts_incremental); none: every period is recomputed.
    marts_changes: Path | None = None

    @property
    def staging_table(self) -> str:
        return f"staging.{self.name}"

    @property
    def quarantine_table(self) -> str:
        return f"quarantine.{self.name}"

    @property
    def parser_module(self) -> str:
        return self.parser or f"htx.feeds.{self.name}"

    @property
    def merge_sql(self) -> str | Path:
        return self.merge or f"merge/{self.name}.sql"

    @property
    def suite_file(self) -> str:
        return str(self.suite) if self.suite else f"include/expectations/{self.name}.json"

    @property
    def dag_id(self) -> str:
        return f"htx_feed_{self.name}"

    @property
    def asset_name(self) -> str:
        return f"htx_{self.core_table.replace('.', '_')}"

    @property
    def asset_uri(self) -> str:
        # A logical URI: the real host comes from the htx_warehouse connection at run time,
        # which DAG parsing must not read.
        return f"htx://warehouse/{self.core_table.replace('.', '/')}"


FEEDS: dict[str, Feed] = {
    feed.name: feed
    for feed in (
        Feed(
            name="registrations",
            title="Đăng ký HTX/LHHTX/THT (registrations) from the national registry API",
            source=ApiPull(client="htx.registry_api.client"),
            schedule="15 7-19/3 * * *",  # five pulls a day in office hours, Vietnam time
            core_table="core.registration_state",
            expected_cadence=timedelta(days=1),
            cursor_field="updated_at",
            doc="Incremental pull (updated_since cursor) of cooperative registrations; every "
                "state kept as history (valid_from / valid_to).",
            marts_changes=SQL_DIR / "marts_changes" / "registrations.sql",
        ),
        Feed(
            name="tax_declarations",
            title="Tờ khai thuế (tax declarations) from the provincial tax department",
            source=FileDrop("tax/to_khai_*.csv"),
            schedule="30 6 * * *",  # a daily look at the drop folder; deliveries are monthly
            core_table="core.tax_declaration",
            expected_cadence=timedelta(days=31),
            due=DueRule("month", 20),  # a month's declarations: by the 20th of the next month
            doc="Monthly CSV (UTF-8 or Windows-1258, `;`, Vietnamese numbers); supplementary "
                "declarations (Lần nộp) supersede earlier ones; branches roll up to the parent.",
            bulk_sql=SQL_DIR / "bulk" / "tax_declarations.sql",
            marts_changes=SQL_DIR / "marts_changes" / "tax_declarations.sql",
        ),
        Feed(
            name="support_lending",
            title="Cho vay hỗ trợ HTX (cooperative-support lending) from the VBSP branch",
            source=FileDrop("lending/vbsp_*.xlsx"),
            schedule="45 6 * * *",
            core_table="core.lending_contract",
            expected_cadence=timedelta(days=31),
            doc="Monthly XLSX snapshot of every loan contract as of its report date; the "
                "`Tổng cộng` totals must reconcile with the detail or the file is rejected whole.",
            batch_check="reconcile_totals",
            marts_changes=SQL_DIR / "marts_changes" / "support_lending.sql",
        ),
        Feed(
            name="credit_fund_reports",
            title="Báo cáo QTDND (people's credit fund reports), quarterly JSON",
            source=FileDrop("credit_funds/*.json"),
            schedule="0 7 * * *",
            core_table="core.credit_fund_report",
            expected_cadence=timedelta(days=92 + 20),  # a quarter, due 20 days after it ends
            due=DueRule("quarter", 20),
            doc="One JSON report per fund and quarter; the highest `revision` wins; `unit` must "
                "be `trieu_dong`; balance-sheet sanity checks quarantine a report.",
            marts_changes=SQL_DIR / "marts_changes" / "credit_fund_reports.sql",
        ),
        Feed(
            name="annual_reports",
            title="Báo cáo năm HTX (cooperative annual reports), yearly CSV",
            source=FileDrop("annual_reports/bao_cao_nam_*.csv"),
            schedule="15 7 * * *",
            core_table="core.annual_report",
            expected_cadence=timedelta(days=366),
            doc="One row per cooperative and year (a later file wins): workers, member-workers, "
                "income per worker, managers and their qualifications.",
            marts_changes=SQL_DIR / "marts_changes" / "annual_reports.sql",
        ),
        Feed(
            name="plan_targets",
            title="Chỉ tiêu kế hoạch (plan targets), the plan's yearly target annex (XLSX)",
            source=FileDrop("plan_targets/chi_tieu_*.xlsx"),
            schedule="30 7 * * *",
            core_table="core.plan_target",
            expected_cadence=timedelta(days=366),  # one annex a year, re-issued when adjusted
            doc="Phụ biểu 02 of each year's plan: targets per indicator code and breakdown, with "
                "the plan document; every version kept, the latest delivered one in force.",
            marts_changes=SQL_DIR / "marts_changes" / "plan_targets.sql",
        ),
    )
}


def _registered(modules: str) -> dict[str, Feed]:
    declared = [importlib.import_module(m.strip()).FEED for m in modules.split(",") if m.strip()]
    return {feed.name: feed for feed in declared}


FEEDS.update(_registered(os.environ.get(FEED_MODULES_SETTING, "")))
