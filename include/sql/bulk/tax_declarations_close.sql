-- Feed 2 in the database (htx.bulk), after its rows are staged (tax_declarations_stage.sql): the
-- batch's partition takes its lineage — source_object (the landed object) and source_file (the
-- delivered path), read from the audit tables and stored once for all its rows, not in each row
-- (migration 0180) — and becomes the batch's partition of staging.tax_declarations.
-- Parameters: %(batch_id)s.
SELECT core.tax_declaration_close_batch(%(batch_id)s);
