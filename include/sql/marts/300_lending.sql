-- Cooperative-support lending (VBSP trust fund): LENDING_FUND_SIZE, LENDING_CONTRACTS,
-- LENDING_DISBURSED, LENDING_OUTSTANDING, LENDING_BORROWERS_OUTSTANDING, LENDING_NPL_RATIO.
-- Grain: indicator × period. Each period reads one snapshot: the latest report dated on or
-- before its end (core.lending_report_by_date settles two files of one date). A report dated
-- after the period never reaches it; a period with no report on or before its end gets no rows.
-- Amounts are triệu đồng as delivered; nothing is rounded.
INSERT INTO mart.plan_indicator (indicator_code, breakdown, period_start, period_end, value, unit)
WITH period_report AS (
    SELECT DISTINCT ON (p.period_start, p.period_end)
           p.period_start, p.period_end, r.fund_size_trieu, r.contracts, r.disbursed_trieu,
           r.outstanding_trieu, r.borrowers_outstanding, r.npl_outstanding_trieu
    FROM mart.reporting_period AS p
    JOIN core.lending_report_by_date AS r ON r.report_date <= p.period_end
    ORDER BY p.period_start, p.period_end, r.report_date DESC
)
SELECT 'LENDING_FUND_SIZE', '', period_start, period_end, fund_size_trieu, 'trieu_dong'
FROM period_report
UNION ALL
SELECT 'LENDING_CONTRACTS', '', period_start, period_end, contracts, 'count' FROM period_report
UNION ALL
SELECT 'LENDING_DISBURSED', '', period_start, period_end, disbursed_trieu, 'trieu_dong'
FROM period_report
UNION ALL
SELECT 'LENDING_OUTSTANDING', '', period_start, period_end, outstanding_trieu, 'trieu_dong'
FROM period_report
UNION ALL   -- distinct cooperatives: a borrower with two outstanding contracts counts once
SELECT 'LENDING_BORROWERS_OUTSTANDING', '', period_start, period_end, borrowers_outstanding, 'count'
FROM period_report
UNION ALL   -- debt groups 3–5 are non-performing; no ratio of a zero balance
SELECT 'LENDING_NPL_RATIO', '', period_start, period_end,
       npl_outstanding_trieu * 100 / outstanding_trieu, 'percent'
FROM period_report
WHERE outstanding_trieu > 0;
