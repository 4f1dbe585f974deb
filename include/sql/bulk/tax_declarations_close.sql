-- Feed 2 in the database (htx.bulk), after its rows are staged (tax_declarations_stage.sql) by
-- every session, in the staging transaction: the batch's open partition becomes its partition of
-- staging.tax_declarations and takes its lineage — source_object (the landed object) and
-- source_file (the delivered path), read from the audit tables and stored once for all its rows,
-- not in each row (migrations 0180, 0200).
-- Parameters: %(batch_id)s.
SELECT core.tax_declaration_close_batch(%(batch_id)s);
