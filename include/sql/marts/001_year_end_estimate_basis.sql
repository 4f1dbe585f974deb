-- What the year-end estimates (850_year_end_estimates.sql) depend on, made explicit. Each
-- year-to-date period that ends before 31 December is estimated from the previous year: its
-- value for the same months (prev_ytd: 1 January → the same month end) and for its full year
-- (prev_full). Both follow the indicator's own definition whether or not the marts publish
-- those periods — the year before the latest two is published as a full year only. A published
-- one is read from mart.plan_indicator: computed by this refresh when it is one of the periods
-- recomputed (mart.reporting_period), else kept from an earlier refresh, unchanged (a refresh
-- after feed runs recomputes every period its changes can reach: htx.marts_incremental).
-- The others, the previous years' periods never published (basis_period), the refresh computes
-- beside the recomputed ones (computed_period). A previous year before the first year with
-- data has no values: its previous_* columns are NULL. A refresh of one period P needs P's own
-- rows and those of estimate_basis's previous_* periods for P.
CREATE TEMPORARY TABLE estimate_basis ON COMMIT DROP AS
SELECT p.period_start, p.period_end, p.months,
       previous.period_start AS previous_start,
       (previous.period_start + make_interval(months => p.months) - interval '1 day')::date
           AS previous_ytd_end,
       (p.period_start - 1) AS previous_full_end
FROM mart.reporting_period AS p
CROSS JOIN data_span AS d
LEFT JOIN LATERAL (SELECT (p.period_start - interval '1 year')::date AS period_start) AS previous
  ON previous.period_start >= date_trunc('year', d.first_day)
WHERE p.months < 12;

-- The previous years' periods the estimates need that are not published (all_period: every
-- period reported, recomputed or not, made by htx.marts_incremental before the models run).
CREATE TEMPORARY TABLE basis_period ON COMMIT DROP AS
SELECT DISTINCT b.previous_start AS period_start, v.period_end, v.months
FROM estimate_basis AS b
CROSS JOIN LATERAL (VALUES (b.previous_ytd_end, b.months), (b.previous_full_end, 12))
    AS v (period_end, months)
WHERE b.previous_start IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM all_period AS r
                  WHERE r.period_start = b.previous_start AND r.period_end = v.period_end);

-- Every period the refresh computes; only the published ones reach mart.plan_indicator.
CREATE TEMPORARY VIEW computed_period AS
SELECT period_start, period_end, months, true AS published FROM mart.reporting_period
UNION ALL
SELECT period_start, period_end, months, false FROM basis_period;

-- The values of the basis periods that are not published, per indicator × breakdown: written by
-- the model of each estimated indicator (100_registry.sql), read by 850_year_end_estimates.sql.
CREATE TEMPORARY TABLE estimate_basis_value (
    indicator_code  text    NOT NULL,
    breakdown       text    NOT NULL,
    period_start    date    NOT NULL,
    period_end      date    NOT NULL,
    value           numeric NOT NULL
) ON COMMIT DROP;
