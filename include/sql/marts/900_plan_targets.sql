-- Targets in force (mart.plan_target: of each plan year, the latest delivered version of its
-- target annex, feed 6) and attainment = value / target × 100, for every indicator and breakdown
-- that has a target, in the periods that start on 1 January of the plan year.
UPDATE mart.plan_indicator AS i
SET target = t.target,
    attainment_pct = i.value * 100 / NULLIF(t.target, 0)
FROM mart.plan_target AS t
WHERE t.indicator_code = i.indicator_code
  AND t.breakdown = i.breakdown
  AND i.period_start = make_date(t.plan_year, 1, 1);
