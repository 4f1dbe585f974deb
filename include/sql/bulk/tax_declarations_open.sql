-- Feed 2 in the database (htx.bulk), before its rows are typed and staged
-- (tax_declarations_stage.sql, by several sessions at once): the batch's own partition, empty and
-- without the lineage columns, in a transaction of its own, committed before the sessions start
-- so that all of them can insert into it; attached to nothing until the staging transaction
-- closes it (tax_declarations_close.sql; migrations 0070, 0180, 0200). Returns its name.
-- Parameters: %(batch_id)s.
SELECT 'core_batch', core.tax_declaration_open_shared_batch(%(batch_id)s);
