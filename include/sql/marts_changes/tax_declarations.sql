-- The earliest reporting-period end a tax batch's merge can change, worked out before the merge
-- (the rows it replaces are still there). Its declarations and those of the deliveries of the
-- same file it replaces (include/sql/merge/tax_declarations.sql) are the only ones whose latest
-- version can change; a declaration counts in the periods ending on or after its own tax period
-- ends (a 01/GTGT inside the period; a 03/TNDN for year Y from 31 December Y), so periods ending
-- before the earliest period_start among them keep their values. The replaced deliveries' records
-- (core.tax_declaration_batch, written by their merges) say where theirs reached.
-- Parameter: %(batch_id)s.
-- The batch's own earliest period comes from its rows flagged latest in the file, or not flagged
-- yet (parsed rows: the merge flags them). Every declaration in the file has such a row, in its
-- own period, so the minimum is the same; a file typed by the database (htx.bulk) holds them in a
-- partition of their own, a small part of a large file (718,094 of the benchmark's 10^7 rows).
WITH batch AS (
    SELECT min(period_start) AS periods_from
    FROM staging.tax_declarations
    WHERE batch_id = %(batch_id)s AND (is_latest OR is_latest IS NULL)
)
SELECT coalesce(min(periods_from), 'infinity'::date)
FROM (
    SELECT periods_from FROM batch
    UNION ALL
    SELECT replaced.periods_from
    FROM audit.load_batch AS this
    JOIN audit.load_batch AS earlier
      ON earlier.feed = this.feed AND earlier.source_object = this.source_object
     AND earlier.batch_id <= this.batch_id
    JOIN core.tax_declaration_batch AS replaced ON replaced.batch_id = earlier.batch_id
    WHERE this.batch_id = %(batch_id)s
      AND EXISTS (SELECT FROM core.tax_declaration AS d WHERE d.batch_id = earlier.batch_id
                  LIMIT 1)   -- one row of that batch's partition, not a join of every row
) AS changed;
