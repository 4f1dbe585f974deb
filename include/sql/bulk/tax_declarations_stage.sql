-- Feed 2 in the database (htx.bulk): the batch's rows without a critical failure, typed in
-- pg_temp.bulk_typed, are staged in the batch's own partition of staging.tax_declarations — the
-- partition its merge makes part of core.tax_declaration (migration 0070): written once.
-- Each declaration's best version in the file (key_id, version: tax_declarations.sql) is flagged
-- latest; the merge weighs it against other files'.
-- Parameters: %(batch_id)s, %(source_object)s (the landed object), %(critical)s (the bits of the
-- critical expectations in bulk_typed.unexpected).
SELECT core.tax_declaration_open_batch(%(batch_id)s);

-- The best versions by hashing (htx.bulk resets these after the statement): the planner, which
-- cannot estimate `unexpected & critical = 0` (a few rows, it thinks), sorts a million rows to
-- group them otherwise (≈ 0.5 s more CPU at 10^6 rows), or loops over them.
SET LOCAL enable_sort = off;
SET LOCAL enable_nestloop = off;

INSERT INTO staging.tax_declarations (
    tax_code, parent_code, taxpayer_name, form_code, period_raw, period_kind, period_start,
    period_end, revision, filed_on, revenue_vnd, profit_before_tax_vnd, tax_payable_vnd,
    batch_id, source_object, source_file, source_row, is_latest)
SELECT t.tax_code, t.parent_code, t.taxpayer_name, t.form_code, t.period_raw, t.period_kind,
       t.period_start, t.period_end, t.revision, t.filed_on, t.revenue_vnd,
       t.profit_before_tax_vnd, t.tax_payable_vnd, %(batch_id)s, %(source_object)s,
       (SELECT source_object FROM audit.load_batch WHERE batch_id = %(batch_id)s), t.source_row,
       best.version IS NOT NULL
FROM pg_temp.bulk_typed AS t
LEFT JOIN (SELECT max(version) AS version FROM pg_temp.bulk_typed
           WHERE unexpected & %(critical)s = 0 GROUP BY key_id) AS best USING (version)
WHERE t.unexpected & %(critical)s = 0;
