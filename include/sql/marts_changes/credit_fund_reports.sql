-- The earliest reporting-period end a credit-fund batch's merge can change, worked out before the
-- merge (include/sql/merge/credit_fund_reports.sql). A period reads the reports of its last
-- quarter end on or before its end (include/sql/marts/400_qtdnd.sql), so a report for the
-- quarter ending Q — the batch's, or the one of the same fund and quarter it replaces — can
-- change the periods ending on or after Q only. Parameter: %(batch_id)s.
SELECT coalesce(min(period_end), 'infinity'::date)
FROM staging.credit_fund_reports
WHERE batch_id = %(batch_id)s;
