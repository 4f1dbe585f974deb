-- Feed 2 in the database (htx.bulk), before its rows are typed and staged in one statement
-- (tax_declarations_stage.sql): the batch's own partition, empty and without the lineage columns,
-- attached to staging.tax_declarations_typed — the partition its merge makes part of
-- core.tax_declaration (migrations 0070, 0180).
-- Parameters: %(batch_id)s.
SELECT core.tax_declaration_open_batch(%(batch_id)s);
