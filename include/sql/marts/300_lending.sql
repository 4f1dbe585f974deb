-- Cooperative-support lending (VBSP trust fund). Each period reads one snapshot: the latest
-- report dated on or before its end (core.lending_report_by_date settles two files of one date).
-- A report dated after the period never reaches it; a period with no report on or before its
-- end gets no rows. Amounts are triệu đồng as delivered; nothing is rounded.
CREATE TEMPORARY TABLE period_report ON COMMIT DROP AS
SELECT DISTINCT ON (p.period_start, p.period_end)
       p.period_start, p.period_end, r.source_file, r.batch_id, r.fund_size_trieu,
       r.outstanding_trieu, r.npl_outstanding_trieu
FROM mart.reporting_period AS p
JOIN core.lending_report_by_date AS r ON r.report_date <= p.period_end
ORDER BY p.period_start, p.period_end, r.report_date DESC;

-- The report's borrowing cooperatives: LENDING_CONTRACTS, LENDING_DISBURSED and
-- LENDING_OUTSTANDING sum their contracts; LENDING_BORROWERS_OUTSTANDING counts those with an
-- outstanding balance, once however many contracts they hold.
INSERT INTO mart.plan_indicator_members
       (indicator_code, breakdown, period_start, period_end, entity_code, contribution)
WITH borrower AS (
    SELECT r.period_start, r.period_end, c.htx_code,
           count(*)                         AS contracts,
           sum(c.disbursed_trieu)           AS disbursed_trieu,
           sum(c.outstanding_trieu)         AS outstanding_trieu,
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

INSERT INTO reported_group (indicator_code, breakdown, period_start, period_end)
SELECT code, '', period_start, period_end
FROM period_report
CROSS JOIN unnest(ARRAY['LENDING_CONTRACTS', 'LENDING_DISBURSED', 'LENDING_OUTSTANDING',
                        'LENDING_BORROWERS_OUTSTANDING']) AS code;

-- The fund's own figures: its size (LENDING_FUND_SIZE), and LENDING_NPL_RATIO, the share of the
-- outstanding balance in debt groups 3–5 (non-performing; no ratio of a zero balance).
INSERT INTO mart.plan_indicator (indicator_code, breakdown, period_start, period_end, value, unit)
SELECT 'LENDING_FUND_SIZE', '', period_start, period_end, fund_size_trieu, 'trieu_dong'
FROM period_report
UNION ALL
SELECT 'LENDING_NPL_RATIO', '', period_start, period_end,
       npl_outstanding_trieu * 100 / outstanding_trieu, 'percent'
FROM period_report
WHERE outstanding_trieu > 0;
