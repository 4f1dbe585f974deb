"""Great Expectations 1.x, called directly (its Airflow provider does not install with Airflow 3.3).

Each feed's suite is `include/expectations/<feed>.json`. Every expectation carries `meta`:
`severity` — `critical` (row-level: failing rows are quarantined; table-level: the batch is
rejected) or `warning` (recorded in audit, rows still load) — and `message`, the reason an operator
reads. Suites run on pandas chunks: per-row rules are cheap there, and the chunk is already in memory.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field, replace
from typing import Any

from htx.feeds.common import Failure, ParsedRow, jsonable
from htx.feeds.config import FEEDS
from htx.paths import EXPECTATIONS_DIR

# Function-local imports: Great Expectations and pandas (seconds to import) only when a suite
# runs: a batch read by the database (htx.bulk) never needs them.

SAMPLE_SIZE = 20


def load_suite(name: str) -> dict:
    """The suite of the feed `name`: its own file when its configuration names one."""
    own = FEEDS[name].suite if name in FEEDS else None
    return json.loads((own or EXPECTATIONS_DIR / f"{name}.json").read_text(encoding="utf-8"))


@dataclass
class ExpectationTally:
    """One expectation's result summed over a batch's chunks."""
    severity: str
    element_count: int = 0
    unexpected_count: int = 0
    sample: list = field(default_factory=list)

    @property
    def success(self) -> bool:
        return self.unexpected_count == 0


@dataclass
class ChunkVerdict:
    row_failures: dict[int, list[Failure]]   # chunk position → failures (critical rules only)
    table_failures: list[str]                # messages of failed table-level critical rules


def expectation_key(config: dict) -> str:
    column = config.get("kwargs", {}).get("column")
    return f"{config['type']}({column})" if column else config["type"]


class SuiteRunner:
    """Validates pandas chunks against one suite and keeps the batch's tallies."""

    def __init__(self, suite_name: str):
        import great_expectations as gx

        logging.getLogger("great_expectations").setLevel(logging.WARNING)
        self.suite_config = load_suite(suite_name)
        self.meta = {expectation_key(e): e.get("meta", {}) for e in self.suite_config["expectations"]}
        context = gx.get_context(mode="ephemeral")
        _quiet(context)
        suite = context.suites.add(gx.ExpectationSuite(**self.suite_config))
        batch = (context.data_sources.add_pandas("chunks")
                 .add_dataframe_asset(suite_name)
                 .add_batch_definition_whole_dataframe("chunk"))
        self.definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=f"{suite_name}_chunk", data=batch, suite=suite))
        self.reset()

    def reset(self) -> None:
        """Start the tallies of a new batch."""
        self.tallies: dict[str, ExpectationTally] = {
            key: ExpectationTally(meta.get("severity", "critical")) for key, meta in self.meta.items()}

    @property
    def suite_name(self) -> str:
        return self.suite_config["name"]

    def check(self, rows: list[ParsedRow], columns: tuple[str, ...]) -> list[str]:
        """Validate the rows that converted (no failure yet) as one chunk: each critical row rule
        a row breaks joins its failures; returns the messages of failed critical table rules."""
        import pandas as pd

        parsed = [row for row in rows if not row.failures]
        if not parsed:
            return []
        verdict = self.validate(pd.DataFrame([row.values for row in parsed], columns=list(columns)))
        for position, failures in verdict.row_failures.items():
            row = parsed[position]
            # The row's own value, not the frame's: pandas turns a chunk's integers into floats
            # when another row of the chunk has none there, so a reason read "(-1.0)".
            row.failures.extend(replace(f, value=row.values.get(f.field, f.value))
                                for f in failures)
        return verdict.table_failures

    def validate(self, frame) -> ChunkVerdict:
        result = self.definition.run(batch_parameters={"dataframe": frame},
                                     result_format={"result_format": "COMPLETE"})
        verdict = ChunkVerdict(row_failures={}, table_failures=[])
        for outcome in result.results:
            config = outcome.expectation_config.to_json_dict()
            key = expectation_key(config)
            meta = self.meta[key]
            column = config["kwargs"].get("column")
            tally = self.tallies[key]
            details = outcome.result or {}
            if outcome.exception_info and outcome.exception_info.get("raised_exception"):
                raise RuntimeError(f"expectation {key} could not run: "
                                   f"{outcome.exception_info.get('exception_message')}")
            if column is None:
                tally.element_count += 1
                if not outcome.success:
                    tally.unexpected_count += 1
                    tally.sample.append(jsonable(details.get("observed_value")))
                    if tally.severity == "critical":
                        verdict.table_failures.append(
                            f"{meta.get('message', key)} (observed {details.get('observed_value')!r})")
                continue
            indexes = details.get("unexpected_index_list") or []
            tally.element_count += int(details.get("element_count") or len(frame))
            tally.unexpected_count += len(indexes)
            # A derived check column reports the source field it checks (meta.field).
            field = meta.get("field", column)
            for index in indexes:
                value = frame.at[index, field]
                if len(tally.sample) < SAMPLE_SIZE:
                    tally.sample.append(jsonable(_plain(value)))
                if tally.severity == "critical":
                    verdict.row_failures.setdefault(index, []).append(Failure(
                        field, config["type"], _plain(value), meta.get("message", key)))
        return verdict


def _plain(value: Any) -> Any:
    """numpy/pandas scalars and NA as plain Python values."""
    try:
        import pandas as pd

        if value is None or (not isinstance(value, (list, dict, str)) and pd.isna(value)):
            return None
    except (TypeError, ValueError):
        pass
    return value.item() if hasattr(value, "item") else value


def _quiet(context) -> None:
    """No progress bars in task logs."""
    try:
        from great_expectations.data_context.types.base import ProgressBarsConfig

        context.variables.progress_bars = ProgressBarsConfig(globally=False)
    except Exception:  # progress bars are cosmetic; never fail a load over them
        pass
