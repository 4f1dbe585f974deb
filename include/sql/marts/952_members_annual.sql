-- Traceability of the annual-report indicators (as 500_htx_annual.sql): the cooperatives of
-- HTX_TOTAL summed over, each with the figure of its latest annual report up to the period's
-- year. HTX_AVG_INCOME lists those with workers: their income per worker, weighted by workers.
INSERT INTO mart.plan_indicator_members
       (indicator_code, breakdown, period_start, period_end, entity_code, contribution, weight)
WITH operating AS (
    SELECT period_start, period_end, entity_code
    FROM registry_as_of
    WHERE entity_type = 'HTX' AND is_operating
), counted_report AS (
    SELECT DISTINCT ON (o.period_start, o.period_end, o.entity_code)
           o.period_start, o.period_end, r.*
    FROM operating AS o
    JOIN core.annual_report_latest AS r
      ON r.entity_code = o.entity_code
     AND r.report_year <= extract(year FROM o.period_end)
    ORDER BY o.period_start, o.period_end, o.entity_code, r.report_year DESC
)
SELECT v.indicator_code, '', r.period_start, r.period_end, r.entity_code, v.contribution, v.weight
FROM counted_report AS r
CROSS JOIN LATERAL (VALUES
    ('HTX_WORKERS',               r.workers::numeric,                          NULL::numeric),
    ('HTX_MEMBER_WORKERS',        r.member_workers,                            NULL),
    ('HTX_MANAGERS',              r.managers,                                  NULL),
    ('HTX_MANAGERS_VOCATIONAL',   r.managers_vocational,                       NULL),
    ('HTX_MANAGERS_COLLEGE_PLUS', r.managers_college_plus,                     NULL),
    ('HTX_AVG_INCOME',            r.avg_income_per_worker_vnd::numeric / 1000000, r.workers)
) AS v (indicator_code, contribution, weight)
WHERE v.weight IS NULL OR v.weight > 0;   -- a report without workers weighs nothing in the mean
