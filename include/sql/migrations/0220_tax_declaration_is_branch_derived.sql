-- is_branch (a branch's tax code has a "-NNN" suffix: longer than ten characters) was a stored
-- generated column of every tax row, and PostgreSQL forms each inserted row a second time to
-- store one. Measured on 10^6 staged rows written again into a table shaped as a batch's
-- partition (bench/results.md, issue 15, the tenth pass): 1.62-1.73 s with it, 1.32-1.34 s
-- without; the whole 10^6 ingest 6.49-6.57 s before, 6.05-6.18 s after. It is now derived where
-- it is read: the two views keep the column, in the same place, with the same expression (the
-- marts never read it). The rows already stored lose a column by a catalogue change: nothing is
-- rewritten.
-- Same result: tests/test_tax_declarations_merge.py reads it from core.tax_declaration_latest.

DROP VIEW core.tax_declaration_latest, core.tax_declaration_unmatched;
ALTER TABLE core.tax_declaration DROP COLUMN is_branch;
ALTER TABLE staging.tax_declarations DROP COLUMN is_branch;

-- As migration 0070's, is_branch derived.
CREATE VIEW core.tax_declaration_latest AS
SELECT tax_code, parent_code, length(tax_code) > 10 AS is_branch, taxpayer_name, form_code,
       period_raw, period_kind, period_start, period_end, revision, filed_on, revenue_vnd,
       profit_before_tax_vnd, tax_payable_vnd, batch_id, source_object, source_file, source_row
FROM core.tax_declaration
WHERE is_latest;

CREATE VIEW core.tax_declaration_unmatched AS
SELECT d.tax_code, d.parent_code, length(d.tax_code) > 10 AS is_branch, d.taxpayer_name,
       d.form_code, d.period_raw, d.period_kind, d.period_start, d.period_end, d.revision,
       d.filed_on, d.revenue_vnd, d.profit_before_tax_vnd, d.tax_payable_vnd, d.batch_id,
       d.source_object, d.source_file, d.source_row
FROM core.tax_declaration AS d
WHERE NOT EXISTS (SELECT 1 FROM core.registration_state AS s WHERE s.entity_code = d.parent_code);

SELECT audit.grant_core_to_analysts();
