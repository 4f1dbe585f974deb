-- What the members of each indicator × breakdown × period add up to, taken once every model has
-- written its members, and the aggregate mart.indicator_aggregation declares for it: the number
-- of members (count), the sum of their contributions (sum), their mean, or their mean weighted
-- by `weight` (weighted_mean). The values are derived from it (800_values_from_members.sql), and
-- the refresh's check (checks/values_are_aggregates_of_members.sql) holds the final values
-- against it. One pass over the members this refresh recomputes (all, or those of the models
-- and periods the changes since the last refresh reach: htx.marts_incremental; the others are
-- kept, kept_indicator), read in parallel, whatever their number; the refresh has summarized
-- and analyzed them before (include/sql/marts/upkeep/members_written.sql).

CREATE TEMPORARY TABLE member_totals ON COMMIT DROP AS
WITH grouped AS (
    SELECT indicator_code, breakdown, period_start, period_end,
           count(*)                    AS members,
           sum(contribution)           AS total,
           sum(contribution * weight)  AS weighted_total,
           sum(weight)                 AS weights,
           count(weight)               AS weighted,
           min(weight)                 AS least_weight
    FROM mart.plan_indicator_members
    -- the periods recomputed; the bound read once (a subquery), not once per member row: the
    -- setting's lookup and date parse cost ≈ 1.8 s over 6.9 million rows
    WHERE period_end >= (SELECT current_setting('htx.refresh_from')::date)
    GROUP BY indicator_code, breakdown, period_start, period_end
)
SELECT g.*,
       CASE a.aggregation
           WHEN 'count' THEN g.members
           WHEN 'sum' THEN g.total
           WHEN 'mean' THEN g.total / g.members
           WHEN 'weighted_mean' THEN g.weighted_total / nullif(g.weights, 0)
       END AS aggregate
FROM grouped AS g
LEFT JOIN mart.indicator_aggregation AS a USING (indicator_code)
-- the groups recomputed: not kept (after grouping: the members' scan stays parallel, which a
-- temporary table in it would prevent)
WHERE NOT EXISTS (SELECT FROM kept_indicator AS k
                  WHERE k.indicator_code = g.indicator_code AND g.period_end < k.kept_before);
