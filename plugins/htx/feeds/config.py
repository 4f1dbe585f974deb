"""Every feed declared as configuration. DAG files read this module at parse time, so it must
stay free of heavy imports and of any I/O.

A new feed is a `Feed` entry here, a contract parser module (`htx.feeds.<name>`), an expectation
suite (`include/expectations/<name>.json`), tables in a migration and a merge SQL file
(`include/sql/merge/<name>.sql`). The pipeline (`htx.pipeline`) and the DAG factory are shared.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


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
    source: str                # "api" (pulled) or "file_drop"
    schedule: str              # cron, in Asia/Ho_Chi_Minh
    core_table: str            # what the merge writes and the Asset names
    expected_cadence: timedelta  # how often a delivery is due (freshness)
    cursor_field: str | None = None  # incremental pulls: the parsed field the cursor follows
    file_glob: str | None = None     # file drops: what the source drops, under the landing root
    due: DueRule | None = None       # a precise deadline; without one, expected_cadence alone
    doc: str = ""

    @property
    def staging_table(self) -> str:
        return f"staging.{self.name}"

    @property
    def quarantine_table(self) -> str:
        return f"quarantine.{self.name}"

    @property
    def parser_module(self) -> str:
        return f"htx.feeds.{self.name}"

    @property
    def merge_sql(self) -> str:
        return f"merge/{self.name}.sql"

    @property
    def suite_file(self) -> str:
        return f"{self.name}.json"

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
            source="api",
            schedule="15 7-19/3 * * *",  # five pulls a day in office hours, Vietnam time
            core_table="core.registration_state",
            expected_cadence=timedelta(days=1),
            cursor_field="updated_at",
            doc="Incremental pull (updated_since cursor) of cooperative registrations; every "
                "state kept as history (valid_from / valid_to).",
        ),
        Feed(
            name="tax_declarations",
            title="Tờ khai thuế (tax declarations) from the provincial tax department",
            source="file_drop",
            file_glob="tax/to_khai_*.csv",
            schedule="30 6 * * *",  # a daily look at the drop folder; deliveries are monthly
            core_table="core.tax_declaration",
            expected_cadence=timedelta(days=31),
            due=DueRule("month", 20),  # a month's declarations: by the 20th of the next month
            doc="Monthly CSV (UTF-8 or Windows-1258, `;`, Vietnamese numbers); supplementary "
                "declarations (Lần nộp) supersede earlier ones; branches roll up to the parent.",
        ),
        Feed(
            name="support_lending",
            title="Cho vay hỗ trợ HTX (cooperative-support lending) from the VBSP branch",
            source="file_drop",
            file_glob="lending/vbsp_*.xlsx",
            schedule="45 6 * * *",
            core_table="core.lending_contract",
            expected_cadence=timedelta(days=31),
            doc="Monthly XLSX snapshot of every loan contract as of its report date; the "
                "`Tổng cộng` totals must reconcile with the detail or the file is rejected whole.",
        ),
        Feed(
            name="credit_fund_reports",
            title="Báo cáo QTDND (people's credit fund reports), quarterly JSON",
            source="file_drop",
            file_glob="credit_funds/*.json",
            schedule="0 7 * * *",
            core_table="core.credit_fund_report",
            expected_cadence=timedelta(days=92 + 20),  # a quarter, due 20 days after it ends
            due=DueRule("quarter", 20),
            doc="One JSON report per fund and quarter; the highest `revision` wins; `unit` must "
                "be `trieu_dong`; balance-sheet sanity checks quarantine a report.",
        ),
        Feed(
            name="annual_reports",
            title="Báo cáo năm HTX (cooperative annual reports), yearly CSV",
            source="file_drop",
            file_glob="annual_reports/bao_cao_nam_*.csv",
            schedule="15 7 * * *",
            core_table="core.annual_report",
            expected_cadence=timedelta(days=366),
            doc="One row per cooperative and year (a later file wins): workers, member-workers, "
                "income per worker, managers and their qualifications.",
        ),
        Feed(
            name="plan_targets",
            title="Chỉ tiêu kế hoạch (plan targets), the plan's yearly target annex (XLSX)",
            source="file_drop",
            file_glob="plan_targets/chi_tieu_*.xlsx",
            schedule="30 7 * * *",
            core_table="core.plan_target",
            expected_cadence=timedelta(days=366),  # one annex a year, re-issued when adjusted
            doc="Phụ biểu 02 of each year's plan: targets per indicator code and breakdown, with "
                "the plan document; every version kept, the latest delivered one in force.",
        ),
    )
}
