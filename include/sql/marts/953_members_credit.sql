-- Traceability of the credit indicators. QTDND_* (as 400_qtdnd.sql): the funds whose report for
-- the period's last quarter end counts (latest revision), with their figures; the weighted mean
-- QTDND_AVG_EMPLOYEE_INCOME is weighted by employees. LENDING_* (as 300_lending.sql): the
-- borrowing cooperatives of the one report the period reads, with their number of contracts,
-- amounts disbursed and outstanding; LENDING_BORROWERS_OUTSTANDING lists each borrower with an
-- outstanding balance once, however many contracts it holds.
INSERT INTO mart.plan_indicator_members
       (indicator_code, breakdown, period_start, period_end, entity_code, contribution, weight)
WITH period_quarter AS (
    SELECT period_start, period_end,
           (date_trunc('quarter', (period_end + 1)::timestamp)::date - 1) AS quarter_end
    FROM mart.reporting_period
), fund AS (
    SELECT p.period_start, p.period_end, r.fund_code, r.members, r.employees, r.total_capital,
           r.equity, r.deposits, r.loans_outstanding, r.revenue_ytd, r.profit_ytd,
           r.avg_employee_income_month
    FROM period_quarter AS p
    JOIN core.credit_fund_report_latest AS r ON r.period_end = p.quarter_end
)
SELECT v.indicator_code, '', r.period_start, r.period_end, r.fund_code, v.contribution, v.weight
FROM fund AS r
CROSS JOIN LATERAL (VALUES
    ('QTDND_TOTAL',               1::numeric,                  NULL::numeric),
    ('QTDND_MEMBERS',             r.members,                   NULL),
    ('QTDND_EMPLOYEES',           r.employees,                 NULL),
    ('QTDND_TOTAL_CAPITAL',       r.total_capital,             NULL),
    ('QTDND_EQUITY',              r.equity,                    NULL),
    ('QTDND_DEPOSITS',            r.deposits,                  NULL),
    ('QTDND_LOANS',               r.loans_outstanding,         NULL),
    ('QTDND_AVG_REVENUE',         r.revenue_ytd,               NULL),
    ('QTDND_AVG_PROFIT',          r.profit_ytd,                NULL),
    ('QTDND_AVG_EMPLOYEE_INCOME', r.avg_employee_income_month, r.employees)
) AS v (indicator_code, contribution, weight)
WHERE v.weight IS NULL OR v.weight > 0;   -- a fund without employees weighs nothing in the mean

INSERT INTO mart.plan_indicator_members
       (indicator_code, breakdown, period_start, period_end, entity_code, contribution)
WITH period_report AS (  -- the one report each period reads: the latest dated on or before its end
    SELECT DISTINCT ON (p.period_start, p.period_end)
           p.period_start, p.period_end, r.source_file, r.batch_id
    FROM mart.reporting_period AS p
    JOIN core.lending_report_by_date AS r ON r.report_date <= p.period_end
    ORDER BY p.period_start, p.period_end, r.report_date DESC
), borrower AS (
    SELECT r.period_start, r.period_end, c.htx_code,
           count(*)                      AS contracts,
           sum(c.disbursed_trieu)        AS disbursed_trieu,
           sum(c.outstanding_trieu)      AS outstanding_trieu,
           bool_or(c.outstanding_trieu > 0) AS has_outstanding
    FROM period_report AS r
    JOIN core.lending_contract AS c USING (source_file, batch_id)
    GROUP BY r.period_start, r.period_end, c.htx_code
)
SELECT 'LENDING_CONTRACTS', '', period_start, period_end, htx_code, contracts FROM borrower
UNION ALL
SELECT 'LENDING_DISBURSED', '', period_start, period_end, htx_code, disbursed_trieu FROM borrower
UNION ALL
SELECT 'LENDING_OUTSTANDING', '', period_start, period_end, htx_code, outstanding_trieu
FROM borrower
UNION ALL
SELECT 'LENDING_BORROWERS_OUTSTANDING', '', period_start, period_end, htx_code, 1
FROM borrower WHERE has_outstanding;
