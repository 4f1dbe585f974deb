-- QTDND (people's credit funds): QTDND_TOTAL, QTDND_MEMBERS, QTDND_EMPLOYEES,
-- QTDND_TOTAL_CAPITAL, QTDND_EQUITY, QTDND_DEPOSITS, QTDND_LOANS, QTDND_EQUITY_SHARE,
-- QTDND_DEPOSIT_SHARE, QTDND_NPL_RATIO, QTDND_AVG_REVENUE, QTDND_AVG_PROFIT,
-- QTDND_AVG_EMPLOYEE_INCOME. Grain: indicator × period.
-- A period counts the funds' reports (latest revision) for its last quarter end on or before the
-- period end: 30/09 for January–September, 30/06 for January–August. Counts and sums are 0 when
-- no fund reported; ratios and means are left out when their denominator is empty.
INSERT INTO mart.plan_indicator (indicator_code, breakdown, period_start, period_end, value, unit)
WITH period_quarter AS (
    SELECT period_start, period_end,
           (date_trunc('quarter', (period_end + 1)::timestamp)::date - 1) AS quarter_end
    FROM mart.reporting_period
), totals AS (
    SELECT p.period_start, p.period_end,
           count(r.fund_code)                       AS funds,
           coalesce(sum(r.members), 0)              AS members,
           coalesce(sum(r.employees), 0)            AS employees,
           coalesce(sum(r.total_capital), 0)        AS total_capital,
           coalesce(sum(r.equity), 0)               AS equity,
           coalesce(sum(r.deposits), 0)             AS deposits,
           coalesce(sum(r.loans_outstanding), 0)    AS loans,
           coalesce(sum(r.npl), 0)                  AS npl,
           sum(r.revenue_ytd)                       AS revenue,
           sum(r.profit_ytd)                        AS profit,
           sum(r.employees * r.avg_employee_income_month) AS employee_income
    FROM period_quarter AS p
    LEFT JOIN core.credit_fund_report_latest AS r ON r.period_end = p.quarter_end
    GROUP BY p.period_start, p.period_end
)
SELECT 'QTDND_TOTAL', '', period_start, period_end, funds, 'count' FROM totals
UNION ALL
SELECT 'QTDND_MEMBERS', '', period_start, period_end, members, 'nguoi' FROM totals
UNION ALL
SELECT 'QTDND_EMPLOYEES', '', period_start, period_end, employees, 'nguoi' FROM totals
UNION ALL
SELECT 'QTDND_TOTAL_CAPITAL', '', period_start, period_end, total_capital, 'trieu_dong' FROM totals
UNION ALL
SELECT 'QTDND_EQUITY', '', period_start, period_end, equity, 'trieu_dong' FROM totals
UNION ALL
SELECT 'QTDND_DEPOSITS', '', period_start, period_end, deposits, 'trieu_dong' FROM totals
UNION ALL
SELECT 'QTDND_LOANS', '', period_start, period_end, loans, 'trieu_dong' FROM totals
UNION ALL
SELECT 'QTDND_EQUITY_SHARE', '', period_start, period_end, equity * 100 / total_capital,
       'percent'
FROM totals WHERE total_capital > 0
UNION ALL
SELECT 'QTDND_DEPOSIT_SHARE', '', period_start, period_end, deposits * 100 / total_capital,
       'percent'
FROM totals WHERE total_capital > 0
UNION ALL
SELECT 'QTDND_NPL_RATIO', '', period_start, period_end, npl * 100 / loans, 'percent'
FROM totals WHERE loans > 0
UNION ALL
SELECT 'QTDND_AVG_REVENUE', '', period_start, period_end, revenue / funds, 'trieu_dong'
FROM totals WHERE funds > 0
UNION ALL
SELECT 'QTDND_AVG_PROFIT', '', period_start, period_end, profit / funds, 'trieu_dong'
FROM totals WHERE funds > 0
UNION ALL
SELECT 'QTDND_AVG_EMPLOYEE_INCOME', '', period_start, period_end, employee_income / employees,
       'trieu_dong'
FROM totals WHERE employees > 0;
