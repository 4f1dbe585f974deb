-- QTDND (people's credit funds). A period counts the funds' reports (latest revision) for its
-- last quarter end on or before the period end: 30/09 for January–September, 30/06 for
-- January–August. The funds, with their figures: QTDND_TOTAL counts them; QTDND_MEMBERS,
-- _EMPLOYEES, _TOTAL_CAPITAL, _EQUITY, _DEPOSITS and _LOANS sum them (0 when no fund reported);
-- QTDND_AVG_REVENUE and QTDND_AVG_PROFIT are their means, QTDND_AVG_EMPLOYEE_INCOME their mean
-- weighted by employees (no value without a fund, or without employees). The equity and deposit
-- shares are 810_shares.sql's; the NPL ratio is at the end.
CREATE TEMPORARY TABLE fund_report ON COMMIT DROP AS
SELECT p.period_start, p.period_end, r.fund_code, r.members, r.employees, r.total_capital,
       r.equity, r.deposits, r.loans_outstanding, r.npl, r.revenue_ytd, r.profit_ytd,
       r.avg_employee_income_month
FROM mart.reporting_period AS p
JOIN core.credit_fund_report_latest AS r
  ON r.period_end = date_trunc('quarter', (p.period_end + 1)::timestamp)::date - 1;

INSERT INTO mart.plan_indicator_members
       (indicator_code, breakdown, period_start, period_end, entity_code, contribution, weight)
SELECT v.indicator_code, '', r.period_start, r.period_end, r.fund_code, v.contribution, v.weight
FROM fund_report AS r
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

INSERT INTO reported_group (indicator_code, breakdown, period_start, period_end)
SELECT code, '', period_start, period_end
FROM mart.reporting_period
CROSS JOIN unnest(ARRAY['QTDND_TOTAL', 'QTDND_MEMBERS', 'QTDND_EMPLOYEES', 'QTDND_TOTAL_CAPITAL',
                        'QTDND_EQUITY', 'QTDND_DEPOSITS', 'QTDND_LOANS']) AS code;

-- QTDND_NPL_RATIO: non-performing loans as a share of loans outstanding (no ratio of none).
INSERT INTO mart.plan_indicator (indicator_code, breakdown, period_start, period_end, value, unit)
SELECT 'QTDND_NPL_RATIO', '', period_start, period_end,
       sum(npl) * 100 / sum(loans_outstanding), 'percent'
FROM fund_report
GROUP BY period_start, period_end
HAVING sum(loans_outstanding) > 0;
