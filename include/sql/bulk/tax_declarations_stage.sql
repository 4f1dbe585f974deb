-- Feed 2 in the database (htx.bulk): the batch's rows without a critical failure are staged in the
-- batch's own partition (`{opened}`, which tax_declarations_open.sql made), which its merge makes
-- part of core.tax_declaration: written once. Each session stages its share of the file's rows
-- (tax_declarations_split.sql). htx.bulk runs this INSERT with the typed rows as the common table
-- expression `bulk_typed` (tax_declarations.sql and the suite's verdict, `unexpected`), in the
-- same statement that types them: they are never written to a table of their own (the few
-- flagged rows are, for the quarantine and the tallies' samples). Their lineage is not written
-- per row: the batch's partition takes it once afterwards (tax_declarations_close.sql).
-- Each declaration's best version in the file (key_id, version: tax_declarations.sql; all its
-- versions are in one session's share) is flagged latest, by a hash aggregate the planner is held
-- to (it cannot estimate `unexpected & critical = 0` and sorts a million rows otherwise); the
-- merge weighs it against other files'.
-- Parameters: %(batch_id)s, %(critical)s (the bits of the critical expectations in
-- bulk_typed.unexpected).
INSERT INTO {opened} (
    tax_code, parent_code, taxpayer_name, form_code, period_raw, period_kind, period_start,
    period_end, revision, filed_on, revenue_vnd, profit_before_tax_vnd, tax_payable_vnd,
    batch_id, source_row, is_latest)
SELECT t.tax_code, t.parent_code, t.taxpayer_name, t.form_code, t.period_raw, t.period_kind,
       t.period_start, t.period_end, t.revision, t.filed_on, t.revenue_vnd,
       t.profit_before_tax_vnd, t.tax_payable_vnd, %(batch_id)s, t.source_row,
       best.version IS NOT NULL
FROM bulk_typed AS t
LEFT JOIN (SELECT max(version) AS version FROM bulk_typed
           WHERE unexpected & %(critical)s = 0 GROUP BY key_id) AS best USING (version)
WHERE t.unexpected & %(critical)s = 0
