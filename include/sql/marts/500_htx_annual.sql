-- HTX annual reports: over the cooperatives of HTX_TOTAL (operating as of the period end), each
-- one's latest annual report with report_year ≤ the year of the period end; a cooperative
-- without one adds nothing. HTX_WORKERS, HTX_MEMBER_WORKERS, HTX_MANAGERS,
-- HTX_MANAGERS_VOCATIONAL and HTX_MANAGERS_COLLEGE_PLUS sum its figures; HTX_AVG_INCOME is the
-- worker-weighted mean of its yearly income per worker, VND → trieu_dong (no value when the
-- reports count no workers).
INSERT INTO mart.plan_indicator_members
       (indicator_code, breakdown, period_start, period_end, entity_code, contribution, weight)
WITH counted_report AS (   -- per period and cooperative: its latest report up to the period's year
    SELECT DISTINCT ON (o.period_start, o.period_end, o.entity_code)
           o.period_start, o.period_end, r.*
    FROM registry_as_of AS o
    JOIN core.annual_report_latest AS r
      ON r.entity_code = o.entity_code
     AND r.report_year <= extract(year FROM o.period_end)
    WHERE o.entity_type = 'HTX' AND o.is_operating
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

INSERT INTO reported_group (indicator_code, breakdown, period_start, period_end)
SELECT code, '', period_start, period_end
FROM mart.reporting_period
CROSS JOIN unnest(ARRAY['HTX_WORKERS', 'HTX_MEMBER_WORKERS', 'HTX_MANAGERS',
                        'HTX_MANAGERS_VOCATIONAL', 'HTX_MANAGERS_COLLEGE_PLUS']) AS code;
