-- Feed 2, staged again (htx.pipeline clears a batch before staging it): the partition an earlier
-- staging of the batch by the database made (tax_declarations_stage.sql) goes with its rows.
-- Parameters: %(batch_id)s.
SELECT core.tax_declaration_unstage_batch(%(batch_id)s);
