"""Great Expectations Data Docs from the validation results the warehouse keeps.

Every batch's results are kept in `audit.validation_result` (one row per expectation, the chunks of
a batch summed, with a sample of the unexpected values), and every quarantined row in
`quarantine.<feed>` with the rules it broke. This module turns each batch back into a GX
`ExpectationSuiteValidationResult` — the suite's results, plus one result per contract-parser rule
that quarantined rows before the suite ran (a `31/02/2024` never reaches the suite), so a page
shows every quarantined row — stores it in a GX file project, and builds the Data Docs site with
`context.build_data_docs()`: one page per batch (run name `batch-N`, asset = the delivered file)
and one per suite, under `HTX_DATA_DOCS_DIR` (default `.local/data_docs/`; open `index.html`). The
pages escape every delivered string and load nothing from the network (htx.ops.data_docs_site).
The site is rebuilt whole from the warehouse each time, so it always shows exactly what the
warehouse holds — a replayed or revalidated batch shows its latest results. Every feed run that
delivered something rebuilds it when it ends (`refresh`, which never fails the run), and so does
the daily ops DAG (`build`). A build takes about 0.2 s per batch page (measured: 100 batches in
22 s, GX's import included), hence at most BATCHES_PER_FEED pages per feed.

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

# Function-local imports: Great Expectations (seconds to import), and what imports it
# (htx.ops.data_docs_site), only when the Data Docs are built; the CLI imports this module.

log = logging.getLogger(__name__)

ENV_DATA_DOCS_DIR = "HTX_DATA_DOCS_DIR"
SITE_NAME = "htx_data_docs"
PROJECT_DIR = ".gx_project"   # the GX file project (its stores), kept inside the docs folder
# Pages per feed: the registry is pulled five times a day, so its whole history would make the
# site slow to build and to browse; audit.validation_result keeps every batch.
BATCHES_PER_FEED = 100
PARSE_RULE_TYPE = "expect_column_values_to_parse_by_contract"


def docs_dir() -> Path:
    from htx.paths import LOCAL_DIR

    return Path(os.environ.get(ENV_DATA_DOCS_DIR) or LOCAL_DIR / "data_docs").resolve()


def refresh(dag_id: str, run_id: str) -> str:
    """`build()` after a feed run that opened a batch (a run that delivered nothing changes
    nothing shown); returns what happened. A site that cannot be built is logged, never raised,
    so the run's outcome is the load's own; the daily ops DAG builds it too, and alerts when
    that fails."""
    try:
        if not _run_opened_a_batch(dag_id, run_id):
            outcome = f"Data Docs unchanged: run {run_id} of {dag_id} delivered nothing"
        else:
            outcome = f"Data Docs rebuilt: {build()}"
    except Exception as err:  # noqa: BLE001 — any failure here must leave the run alone
        outcome = f"Data Docs not rebuilt: {type(err).__name__}: {err} ({docs_dir()})"
        log.warning(outcome)
        return outcome
    log.info(outcome)
    return outcome


def _run_opened_a_batch(dag_id: str, run_id: str) -> bool:
    from htx import db

    with db.transaction() as conn, conn.cursor() as cur:
        cur.execute("SELECT EXISTS (SELECT 1 FROM audit.load_batch WHERE dag_id = %s"
                    " AND run_id = %s)", (dag_id, run_id))
        return cur.fetchone()[0]


def build(dsn: str | None = None, out: Path | None = None,
          per_feed: int = BATCHES_PER_FEED) -> Path:
    """Rebuild the Data Docs site from audit.validation_result and the quarantine tables (the
    newest `per_feed` batches of each feed); returns its index.html."""
    from htx import db

    out = (out or docs_dir()).resolve()
    with db.transaction(dsn) as conn, conn.cursor() as cur:
        # One build at a time (feed runs end together): each starts from an empty site.
        cur.execute("SELECT pg_advisory_xact_lock(hashtext('data docs'))")
        batches = _kept_results(cur, per_feed)
        parse_rules = _parse_rule_results(cur, [batch_id for batch_id, _ in batches])
        stored = _build_site(out, batches, parse_rules)
    log.info("Data Docs: %d batch result(s) under %s", stored, out)
    return out / "index.html"


def _build_site(out: Path, batches: dict[tuple, list[dict]], parse_rules: dict) -> int:
    from htx.feeds.config import FEEDS
    from htx.ops import data_docs_site
    from htx.validation import load_suite

    import great_expectations as gx

    context = _fresh_context(out)
    for feed in FEEDS.values():  # a page per suite, as the suites are now
        context.suites.add_or_update(gx.ExpectationSuite(**load_suite(feed.name)))
    for batch, rows in batches.items():
        key, result = _suite_result(batch, rows, parse_rules.get(batch[0], []))
        context.validation_results_store.store_validation_results(
            suite_validation_result=result, suite_validation_result_identifier=key)
    context.build_data_docs(site_names=[SITE_NAME])
    data_docs_site.make_offline(out)
    return len(batches)


def _fresh_context(out: Path):
    """A GX file project inside `out` whose only Data Docs site is `out` itself; the previous
    build's results and pages are removed first (the warehouse is the source of truth)."""
    import great_expectations as gx

    from htx.ops.data_docs_site import site_config

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    out.mkdir(parents=True, exist_ok=True)
    for generated in (PROJECT_DIR, "validations", "expectations"):
        shutil.rmtree(out / generated, ignore_errors=True)
    context = gx.get_context(mode="file", project_root_dir=str(out / PROJECT_DIR))
    for name in list(context.list_data_docs_sites()):
        context.delete_data_docs_site(name)
    context.add_data_docs_site(SITE_NAME, site_config(out))
    return context


_RESULT_COLUMNS = ("batch_id", "feed", "source_object", "status", "rows_in", "rows_loaded",
                   "rows_quarantined", "suite", "expectation", "severity", "success",
                   "element_count", "unexpected_count", "unexpected_sample", "checked_at")


def _kept_results(cur, per_feed: int) -> dict[tuple, list[dict]]:
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


def _parse_rule_results(cur, batch_ids: list[int]) -> dict[int, list[dict]]:
    """Per batch, each (field, rule) of the contract parser that quarantined rows: how many and
    a sample of their values, from the feeds' quarantine tables. The suite's own failures (rules
    `expect_*`) are left out: audit.validation_result has them."""
    from psycopg2 import sql

    from htx import db
    from htx.feeds.config import FEEDS
    from htx.validation import SAMPLE_SIZE

    found: dict[int, list[dict]] = defaultdict(list)
    for feed in FEEDS.values():
        cur.execute(sql.SQL(
            "SELECT q.batch_id, f->>'field', f->>'rule', min(f->>'message'), count(*),"
            " (array_agg(f->'value' ORDER BY q.source_object, q.source_row))[1:%s]"
            " FROM {} AS q CROSS JOIN LATERAL jsonb_array_elements(q.failures) AS f"
            " WHERE q.batch_id = ANY(%s) AND f->>'rule' NOT LIKE 'expect\\_%%'"
            " GROUP BY 1, 2, 3 ORDER BY 1, 2, 3").format(db.qualified(feed.quarantine_table)),
            (SAMPLE_SIZE, batch_ids))
        for batch_id, field, rule, message, count, sample in cur.fetchall():
            found[batch_id].append({"field": field, "rule": rule, "message": message,
                                    "unexpected_count": count, "unexpected_sample": sample})
    return found


def _suite_result(batch: tuple, rows: list[dict], parse_rules: list[dict]):
    """One batch's kept results as GX's own result object, keyed for the results store; every
    delivered string in it escaped (htx.ops.data_docs_site)."""
    from great_expectations.core.expectation_validation_result import (
        ExpectationSuiteValidationResult, ExpectationValidationResult)
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier, ValidationResultIdentifier)

    from htx.ops.data_docs_site import escaped

    batch_id, suite = batch
    first = rows[0]
    configs = _suite_configs(suite)
    results = [ExpectationValidationResult(
        success=row["success"], expectation_config=_configuration(row, configs),
        result=escaped(_result_details(row))) for row in rows]
    results += [_parse_rule_result(rule, first["rows_in"]) for rule in parse_rules]
    passed = sum(1 for r in results if r.success)
    meta = escaped({
        "batch_spec": {"data_asset_name": first["source_object"]},
        "htx": {k: first[k] for k in ("batch_id", "feed", "source_object", "status", "rows_in",
                                      "rows_loaded", "rows_quarantined")},
        "run_id": {"run_name": f"batch-{batch_id}", "run_time": first["checked_at"].isoformat()},
    })
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

    from htx.ops.data_docs_site import escaped

    config = configs.get(row["expectation"])
    if config is None:
        kind, _, column = row["expectation"].partition("(")
        config = {"type": kind, "kwargs": {"column": column.rstrip(")")} if column else {}}
    meta = {**config.get("meta", {}), "severity": row["severity"]}
    return ExpectationConfiguration(type=config["type"], kwargs=escaped(config.get("kwargs", {})),
                                    meta=escaped(meta))


def _parse_rule_result(rule: dict, rows_in: int | None):
    """A contract-parser rule's quarantined rows as a (failed) result of its own expectation."""
    from great_expectations.core.expectation_validation_result import ExpectationValidationResult
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration)

    from htx.ops.data_docs_site import escaped

    config = ExpectationConfiguration(
        type=PARSE_RULE_TYPE, kwargs=escaped({"column": rule["field"], "rule": rule["rule"]}),
        meta=escaped({"severity": "critical", "message": rule["message"]}))
    return ExpectationValidationResult(success=False, expectation_config=config, result=escaped(
        _counts(rows_in or 0, rule["unexpected_count"], rule["unexpected_sample"])))


def _result_details(row: dict) -> dict:
    sample = row["unexpected_sample"]
    sample = json.loads(sample) if isinstance(sample, str) else (sample or [])
    if "(" not in row["expectation"]:  # a table-level rule: what it observed
        return {"observed_value": sample[-1] if sample else None}
    return _counts(row["element_count"], row["unexpected_count"], sample)


def _counts(elements: int, unexpected: int, sample: list) -> dict:
    return {"element_count": elements, "unexpected_count": unexpected,
            "unexpected_percent": 100.0 * unexpected / elements if elements else 0.0,
            "partial_unexpected_list": sample}
