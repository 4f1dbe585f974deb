"""Great Expectations Data Docs from the validation results the warehouse keeps.

Every batch's results are kept in `audit.validation_result` (one row per expectation, the chunks of
a batch summed, with a sample of the unexpected values). This module turns each batch back into a
GX `ExpectationSuiteValidationResult`, stores it in a GX file project, and builds the Data Docs
site with `context.build_data_docs()`: one page per batch (run name `batch-N`, asset = the
delivered file) and one per suite, under `HTX_DATA_DOCS_DIR` (default `.local/data_docs/`;
open `index.html`). The site is rebuilt whole from the warehouse each time, so it always shows
exactly what audit holds — a replayed or revalidated batch shows its latest results.

Expectation parameters shown are the suite's current ones (`include/expectations/<feed>.json`);
audit keeps each result's expectation key, severity and counts as they were.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
from collections import defaultdict
from pathlib import Path

log = logging.getLogger(__name__)

ENV_DATA_DOCS_DIR = "HTX_DATA_DOCS_DIR"
SITE_NAME = "htx_data_docs"
PROJECT_DIR = ".gx_project"   # the GX file project (its stores), kept inside the docs folder
# Pages per feed: the registry is pulled five times a day, so its whole history would make the
# site slow to build and to browse; audit.validation_result keeps every batch.
BATCHES_PER_FEED = 100


def docs_dir() -> Path:
    from htx.paths import LOCAL_DIR

    return Path(os.environ.get(ENV_DATA_DOCS_DIR) or LOCAL_DIR / "data_docs").resolve()


def build(dsn: str | None = None, out: Path | None = None,
          per_feed: int = BATCHES_PER_FEED) -> Path:
    """Rebuild the Data Docs site from audit.validation_result (the newest `per_feed` batches of
    each feed); returns its index.html."""
    out = (out or docs_dir()).resolve()
    context = _fresh_context(out)
    from htx.feeds.config import FEEDS
    from htx.validation import load_suite

    import great_expectations as gx

    for feed in FEEDS.values():  # a page per suite, as the suites are now
        context.suites.add_or_update(gx.ExpectationSuite(**load_suite(feed.name)))
    stored = 0
    for batch, rows in _kept_results(dsn, per_feed).items():
        key, result = _suite_result(batch, rows)
        context.validation_results_store.store_validation_results(
            suite_validation_result=result, suite_validation_result_identifier=key)
        stored += 1
    context.build_data_docs(site_names=[SITE_NAME])
    log.info("Data Docs: %d batch result(s) under %s", stored, out)
    return out / "index.html"


def _fresh_context(out: Path):
    """A GX file project inside `out` whose only Data Docs site is `out` itself; the previous
    build's results and pages are removed first (the warehouse is the source of truth)."""
    import great_expectations as gx

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    out.mkdir(parents=True, exist_ok=True)
    for generated in (PROJECT_DIR, "validations", "expectations"):
        shutil.rmtree(out / generated, ignore_errors=True)
    context = gx.get_context(mode="file", project_root_dir=str(out / PROJECT_DIR))
    for name in list(context.list_data_docs_sites()):
        context.delete_data_docs_site(name)
    context.add_data_docs_site(SITE_NAME, {
        "class_name": "SiteBuilder",
        "store_backend": {"class_name": "TupleFilesystemStoreBackend",
                          "base_directory": str(out)},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    })
    return context


_RESULT_COLUMNS = ("batch_id", "feed", "source_object", "status", "rows_in", "rows_loaded",
                   "rows_quarantined", "suite", "expectation", "severity", "success",
                   "element_count", "unexpected_count", "unexpected_sample", "checked_at")


def _kept_results(dsn: str | None, per_feed: int) -> dict[tuple, list[dict]]:
    from htx import db

    with db.transaction(dsn) as conn, conn.cursor() as cur:
        cur.execute(
            "WITH recent AS (SELECT batch_id FROM ("
            "  SELECT b.batch_id, row_number() OVER (PARTITION BY b.feed"
            "                                        ORDER BY b.batch_id DESC) AS newest"
            "  FROM audit.load_batch AS b WHERE EXISTS ("
            "    SELECT 1 FROM audit.validation_result AS v WHERE v.batch_id = b.batch_id)) AS r"
            " WHERE newest <= %s)"
            " SELECT b.batch_id, b.feed, b.source_object, b.status, b.rows_in, b.rows_loaded,"
            " b.rows_quarantined, v.suite, v.expectation, v.severity, v.success,"
            " v.element_count, v.unexpected_count, v.unexpected_sample, v.checked_at"
            " FROM audit.validation_result AS v JOIN audit.load_batch AS b USING (batch_id)"
            " JOIN recent USING (batch_id) ORDER BY b.batch_id, v.expectation", (per_feed,))
        found = [dict(zip(_RESULT_COLUMNS, row)) for row in cur.fetchall()]
    batches: dict[tuple, list[dict]] = defaultdict(list)
    for row in found:
        batches[(row["batch_id"], row["suite"])].append(row)
    return batches


def _suite_result(batch: tuple, rows: list[dict]):
    """One batch's kept results as GX's own result object, keyed for the results store."""
    from great_expectations.core.expectation_validation_result import (
        ExpectationSuiteValidationResult, ExpectationValidationResult)
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier, ValidationResultIdentifier)

    batch_id, suite = batch
    first = rows[0]
    configs = _suite_configs(suite)
    results = [ExpectationValidationResult(
        success=row["success"], expectation_config=_configuration(row, configs),
        result=_result_details(row)) for row in rows]
    passed = sum(1 for r in results if r.success)
    meta = {
        "batch_spec": {"data_asset_name": first["source_object"]},
        "htx": {k: first[k] for k in ("batch_id", "feed", "source_object", "status", "rows_in",
                                      "rows_loaded", "rows_quarantined")},
        "run_id": {"run_name": f"batch-{batch_id}", "run_time": first["checked_at"].isoformat()},
    }
    result = ExpectationSuiteValidationResult(
        success=passed == len(results), results=results, suite_name=suite, meta=meta,
        statistics={"evaluated_expectations": len(results), "successful_expectations": passed,
                    "unsuccessful_expectations": len(results) - passed,
                    "success_percent": 100.0 * passed / len(results) if results else None})
    key = ValidationResultIdentifier(
        expectation_suite_identifier=ExpectationSuiteIdentifier(name=suite),
        run_id=RunIdentifier(run_name=f"batch-{batch_id}", run_time=first["checked_at"]),
        batch_identifier=f"{first['feed']}-batch-{batch_id}")
    return key, result


def _suite_configs(suite: str) -> dict[str, dict]:
    from htx.validation import expectation_key, load_suite

    try:
        return {expectation_key(e): e for e in load_suite(suite)["expectations"]}
    except FileNotFoundError:
        return {}


def _configuration(row: dict, configs: dict[str, dict]):
    """The suite's expectation for a kept result; one rebuilt from its key when the suite no
    longer has it (the result still shows, with what audit recorded)."""
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration)

    config = configs.get(row["expectation"])
    if config is None:
        kind, _, column = row["expectation"].partition("(")
        config = {"type": kind, "kwargs": {"column": column.rstrip(")")} if column else {}}
    meta = {**config.get("meta", {}), "severity": row["severity"]}
    return ExpectationConfiguration(type=config["type"], kwargs=config.get("kwargs", {}),
                                    meta=meta)


def _result_details(row: dict) -> dict:
    sample = row["unexpected_sample"]
    sample = json.loads(sample) if isinstance(sample, str) else (sample or [])
    elements, unexpected = row["element_count"], row["unexpected_count"]
    if "(" not in row["expectation"]:  # a table-level rule: what it observed
        return {"observed_value": sample[-1] if sample else None}
    return {"element_count": elements, "unexpected_count": unexpected,
            "unexpected_percent": 100.0 * unexpected / elements if elements else 0.0,
            "partial_unexpected_list": sample}
