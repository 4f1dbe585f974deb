-- "Value = aggregate of members", checked by every refresh once its models have run (htx.marts):
-- one row per indicator × breakdown × period that breaks it, reason first. Members are listed
-- only for indicators mart.indicator_aggregation declares, and only for values that exist; each
-- declared value is the aggregate of its members (member_totals, 700_member_totals.sql) exactly,
-- 0 for a count or sum of none; a count's members contribute 1 each, a weighted mean's weigh
-- more than 0, and a mean without members has no value.
WITH compared AS (
    SELECT indicator_code, breakdown, period_start, period_end, i.value, a.aggregation,
           t.members, t.total, t.weighted, t.least_weight, t.aggregate
    FROM (SELECT * FROM mart.plan_indicator AS v   -- the values this refresh recomputed
          WHERE period_end >= (SELECT current_setting('htx.refresh_from')::date)
            AND NOT EXISTS (SELECT FROM kept_indicator AS k
                            WHERE k.indicator_code = v.indicator_code
                              AND v.period_end < k.kept_before)) AS i
    FULL JOIN member_totals AS t USING (indicator_code, breakdown, period_start, period_end)
    LEFT JOIN mart.indicator_aggregation AS a USING (indicator_code)
)
SELECT reason, indicator_code, breakdown, period_start, period_end, value, aggregate
FROM compared
CROSS JOIN LATERAL (SELECT CASE
    WHEN aggregation IS NULL AND members IS NOT NULL
        THEN 'members are listed for an indicator mart.indicator_aggregation does not declare'
    WHEN aggregation IS NULL THEN NULL                  -- a share, ratio or fund-level figure
    WHEN value IS NULL THEN 'members are listed for a value that does not exist'
    WHEN aggregation = 'count' AND total <> members
        THEN 'the counted members do not contribute 1 each'
    WHEN aggregation = 'weighted_mean' AND (weighted < members OR least_weight <= 0)
        THEN 'a member of a weighted mean has no weight above 0'
    WHEN aggregation IN ('mean', 'weighted_mean') AND members IS NULL
        THEN 'a mean has a value but no members'
    WHEN value <> coalesce(aggregate, 0) THEN 'the value is not the aggregate of its members'
END AS reason) AS r
WHERE reason IS NOT NULL
ORDER BY indicator_code, breakdown, period_end, period_start;
