-- Targets in force (mart.plan_target: of each plan year, the latest delivered version of its
-- target annex, feed 6) and attainment = value / target × 100, for every indicator and breakdown
-- that has a target, in the periods that start on 1 January of the plan year; where the period
-- has a year-end estimate (850_year_end_estimates.sql), its attainment too.
-- Every row of mart.plan_indicator, whichever periods the refresh recomputed: a new version of an
-- annex recomputes no period (include/sql/marts_changes/plan_targets.sql), so the rows a refresh
-- keeps take its targets here, and lose those it no longer sets.
UPDATE mart.plan_indicator AS i
SET target = NULL, attainment_pct = NULL, estimate_attainment_pct = NULL
WHERE (i.target IS NOT NULL OR i.attainment_pct IS NOT NULL
       OR i.estimate_attainment_pct IS NOT NULL)
  AND NOT EXISTS (SELECT FROM mart.plan_target AS t
                  WHERE t.indicator_code = i.indicator_code
                    AND t.breakdown = i.breakdown
                    AND i.period_start = make_date(t.plan_year, 1, 1));

UPDATE mart.plan_indicator AS i
SET target = t.target,
    attainment_pct = i.value * 100 / NULLIF(t.target, 0),
    estimate_attainment_pct = i.estimate_full_year * 100 / NULLIF(t.target, 0)
FROM mart.plan_target AS t
WHERE t.indicator_code = i.indicator_code
  AND t.breakdown = i.breakdown
  AND i.period_start = make_date(t.plan_year, 1, 1)
  -- a row already right is left alone (no dead tuple for every target in every refresh)
  AND (i.target, i.attainment_pct, i.estimate_attainment_pct)
      IS DISTINCT FROM (t.target, i.value * 100 / NULLIF(t.target, 0),
                        i.estimate_full_year * 100 / NULLIF(t.target, 0));
