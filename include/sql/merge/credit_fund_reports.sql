-- Merge one staged credit-fund report file (one batch) into core.credit_fund_report.
-- Parameters: %(batch_id)s. Runs inside the caller's transaction; re-running it changes nothing.
--
-- 1. A re-sent file replaces what earlier batches loaded from the same file — but only reports it
--    supersedes: the same fund and quarter at a revision no higher than the new one. So a
--    corrected file replaces its predecessor, an older revision re-sent late never displaces a
--    higher one (the contract: the highest revision wins), and a re-send whose report was
--    quarantined replaces nothing.
WITH incoming AS (
    SELECT s.fund_code, s.period_end, s.revision, b.source_object AS source_file
    FROM staging.credit_fund_reports AS s
    JOIN audit.load_batch AS b USING (batch_id)
    WHERE s.batch_id = %(batch_id)s
)
DELETE FROM core.credit_fund_report AS held
USING incoming
WHERE held.source_file = incoming.source_file
  AND held.batch_id < %(batch_id)s
  AND held.fund_code = incoming.fund_code
  AND held.period_end = incoming.period_end
  AND held.revision <= incoming.revision;

-- 2. The batch's reports, with the file they came from. Which revision counts is the view's rule
--    (core.credit_fund_report_latest).
INSERT INTO core.credit_fund_report (
    fund_code, fund_name, period_end, revision, submitted_at, total_capital, equity, deposits,
    loans_outstanding, npl, members, members_pending, employees, revenue_ytd,
    revenue_from_members_ytd, profit_ytd, dividend_rate_pct, avg_employee_income_month,
    batch_id, source_object, source_row, source_file)
SELECT s.fund_code, s.fund_name, s.period_end, s.revision, s.submitted_at, s.total_capital,
       s.equity, s.deposits, s.loans_outstanding, s.npl, s.members, s.members_pending, s.employees,
       s.revenue_ytd, s.revenue_from_members_ytd, s.profit_ytd, s.dividend_rate_pct,
       s.avg_employee_income_month, s.batch_id, s.source_object, s.source_row,
       b.source_object
FROM staging.credit_fund_reports AS s
JOIN audit.load_batch AS b USING (batch_id)
WHERE s.batch_id = %(batch_id)s
ON CONFLICT (batch_id, source_object, source_row) DO NOTHING;
