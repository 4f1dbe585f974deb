-- Feed 2 in the database (htx.bulk), before its rows are typed and staged in one statement
-- (tax_declarations_stage.sql): the batch's own partition of staging.tax_declarations, empty —
-- the partition its merge makes part of core.tax_declaration (migration 0070).
-- Parameters: %(batch_id)s.
SELECT core.tax_declaration_open_batch(%(batch_id)s);
