-- The earliest reporting-period end a lending batch's merge can change, worked out before the
-- merge (include/sql/merge/support_lending.sql). A period reads the latest report dated on or
-- before its end (include/sql/marts/300_lending.sql), so a report dated D — the batch's, or that
-- of the earlier delivery of the same file it replaces — can change the periods ending on or
-- after D only. Parameter: %(batch_id)s.
SELECT coalesce(min(report_date), 'infinity'::date)
FROM (
    SELECT s.report_date
    FROM staging.support_lending AS s
    WHERE s.batch_id = %(batch_id)s
    UNION ALL
    SELECT held.report_date   -- what the merge deletes
    FROM core.lending_contract AS held
    JOIN audit.load_batch AS batch ON held.source_file = batch.source_object
    WHERE batch.batch_id = %(batch_id)s AND held.batch_id <> batch.batch_id
) AS changed;
