-- HTX annual reports: HTX_WORKERS, HTX_MEMBER_WORKERS, HTX_AVG_INCOME, HTX_MANAGERS,
-- HTX_MANAGERS_VOCATIONAL, HTX_MANAGERS_COLLEGE_PLUS. Grain: indicator × period.
-- Over the cooperatives of HTX_TOTAL (operating as of the period end), each one's latest annual
-- report with report_year ≤ the year of the period end; a cooperative without one adds nothing.
-- HTX_AVG_INCOME is the worker-weighted mean yearly income, VND → trieu_dong; it is left out
-- when the reports count no workers.
INSERT INTO mart.plan_indicator (indicator_code, breakdown, period_start, period_end, value, unit)
WITH operating AS (
    SELECT period_start, period_end, entity_code
    FROM registry_as_of
    WHERE entity_type = 'HTX' AND is_operating
), counted_report AS (   -- per period and cooperative: its latest report up to the period's year
    SELECT DISTINCT ON (o.period_start, o.period_end, o.entity_code)
           o.period_start, o.period_end, r.*
    FROM operating AS o
    JOIN core.annual_report_latest AS r
      ON r.entity_code = o.entity_code
     AND r.report_year <= extract(year FROM o.period_end)
    ORDER BY o.period_start, o.period_end, o.entity_code, r.report_year DESC
), totals AS (
    SELECT p.period_start, p.period_end,
           coalesce(sum(r.workers), 0)               AS workers,
           coalesce(sum(r.member_workers), 0)        AS member_workers,
           sum(r.workers::numeric * r.avg_income_per_worker_vnd) AS worker_income_vnd,
           coalesce(sum(r.managers), 0)              AS managers,
           coalesce(sum(r.managers_vocational), 0)   AS managers_vocational,
           coalesce(sum(r.managers_college_plus), 0) AS managers_college_plus
    FROM mart.reporting_period AS p
    LEFT JOIN counted_report AS r USING (period_start, period_end)
    GROUP BY p.period_start, p.period_end
)
SELECT 'HTX_WORKERS', '', period_start, period_end, workers, 'nguoi' FROM totals
UNION ALL
SELECT 'HTX_MEMBER_WORKERS', '', period_start, period_end, member_workers, 'nguoi' FROM totals
UNION ALL
SELECT 'HTX_AVG_INCOME', '', period_start, period_end,
       worker_income_vnd / (workers * 1000000::numeric), 'trieu_dong'
FROM totals WHERE workers > 0
UNION ALL
SELECT 'HTX_MANAGERS', '', period_start, period_end, managers, 'nguoi' FROM totals
UNION ALL
SELECT 'HTX_MANAGERS_VOCATIONAL', '', period_start, period_end, managers_vocational, 'nguoi'
FROM totals
UNION ALL
SELECT 'HTX_MANAGERS_COLLEGE_PLUS', '', period_start, period_end, managers_college_plus, 'nguoi'
FROM totals;
