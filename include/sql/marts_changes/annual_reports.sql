-- The earliest reporting-period end an annual-report batch's merge can change, worked out before
-- the merge (include/sql/merge/annual_reports.sql). A period counts each cooperative's latest
-- report of a year up to its own (include/sql/marts/500_htx_annual.sql), so a report for year Y —
-- the batch's, or one of the earlier delivery of the same file it replaces — can change the
-- periods ending on or after 1 January Y only. The suite holds report_year to 2000–2100; a year
-- no date holds would change any period (NULL). Parameter: %(batch_id)s.
SELECT CASE WHEN min(report_year) IS NULL THEN 'infinity'::date
            WHEN min(report_year) BETWEEN 1 AND 9999 THEN make_date(min(report_year)::int, 1, 1)
       END
FROM (
    SELECT s.report_year
    FROM staging.annual_reports AS s
    WHERE s.batch_id = %(batch_id)s
    UNION ALL
    SELECT held.report_year   -- what the merge deletes
    FROM core.annual_report AS held
    JOIN audit.load_batch AS b ON held.source_file = b.source_object
    WHERE b.batch_id = %(batch_id)s AND held.batch_id < b.batch_id
) AS changed;
