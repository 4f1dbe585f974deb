-- Year-end estimates ("ước thực hiện cả năm", ../shared/indicators.md) of every year-to-date
-- period that ends before 31 December (estimate_basis, 001_year_end_estimate_basis.sql), for
-- the total and each sector= breakdown of the indicators the catalogue gives an estimate
-- (core.ref_indicator.year_end_estimate), with v the period's value and m its months:
--   counted_in_period (HTX_NEW, HTX_DISSOLVED): v × prev_full ÷ prev_ytd when prev_ytd > 0,
--                                               else v × 12 ÷ m;
--   as_of_period_end (HTX_TOTAL, HTX_BY_SECTOR, THT_TOTAL, LHHTX_TOTAL, HTX_MEMBERS,
--                     HTX_CHARTER_CAPITAL):     v + (prev_full − prev_ytd), none when either
--                                               is missing.
-- prev_ytd and prev_full are the same indicator and breakdown in the previous year's same
-- months and full year: published ones from mart.plan_indicator, the others from
-- estimate_basis_value (the registry model's, by the same definition). The estimated indicators
-- are counts and sums (a constraint of core.ref_indicator), so a group without members there is
-- 0; a previous year before the first year with data is missing. Other breakdowns (locality=)
-- and indicators get none. Nothing is rounded. Values this refresh keeps (kept_indicator,
-- htx.marts_incremental) keep their estimates: nothing they are made of changed.
WITH previous AS (
    SELECT indicator_code, breakdown, period_start, period_end, value FROM mart.plan_indicator
    UNION ALL
    SELECT indicator_code, breakdown, period_start, period_end, value FROM estimate_basis_value
), estimated AS (
    SELECT i.indicator_code, i.breakdown, i.period_start, i.period_end, i.value, b.months,
           c.year_end_estimate,
           CASE WHEN b.previous_start IS NOT NULL THEN coalesce(same_months.value, 0) END
               AS prev_ytd,
           CASE WHEN b.previous_start IS NOT NULL THEN coalesce(full_year.value, 0) END
               AS prev_full
    FROM mart.plan_indicator AS i
    JOIN estimate_basis AS b USING (period_start, period_end)
    JOIN core.ref_indicator AS c USING (indicator_code)
    LEFT JOIN previous AS same_months
      ON same_months.indicator_code = i.indicator_code AND same_months.breakdown = i.breakdown
     AND same_months.period_start = b.previous_start
     AND same_months.period_end = b.previous_ytd_end
    LEFT JOIN previous AS full_year
      ON full_year.indicator_code = i.indicator_code AND full_year.breakdown = i.breakdown
     AND full_year.period_start = b.previous_start
     AND full_year.period_end = b.previous_full_end
    WHERE c.year_end_estimate IS NOT NULL
      AND (i.breakdown = '' OR i.breakdown LIKE 'sector=%')
      AND NOT EXISTS (SELECT FROM kept_indicator AS k   -- values recomputed: not kept
                      WHERE k.indicator_code = i.indicator_code AND i.period_end < k.kept_before)
)
UPDATE mart.plan_indicator AS i
SET estimate_full_year = CASE e.year_end_estimate
        WHEN 'counted_in_period' THEN
            CASE WHEN e.prev_ytd > 0 THEN e.value * e.prev_full / e.prev_ytd
                 ELSE e.value * 12 / e.months END
        WHEN 'as_of_period_end' THEN e.value + (e.prev_full - e.prev_ytd)
    END
FROM estimated AS e
WHERE i.indicator_code = e.indicator_code AND i.breakdown = e.breakdown
  AND i.period_start = e.period_start AND i.period_end = e.period_end;
