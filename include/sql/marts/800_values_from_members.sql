-- The values of every indicator mart.indicator_aggregation declares: the aggregate of its
-- members (member_totals, 700_member_totals.sql), per indicator × breakdown × period. A group
-- with members, or one its model reports (reported_group), gets a row: a count or sum of no
-- members is 0; a mean of none has no row. A breakdown is a grouping of members like any other.
INSERT INTO mart.plan_indicator (indicator_code, breakdown, period_start, period_end, value, unit)
SELECT indicator_code, breakdown, period_start, period_end, coalesce(t.aggregate, 0), a.unit
FROM member_totals AS t
FULL JOIN reported_group AS r USING (indicator_code, breakdown, period_start, period_end)
JOIN mart.indicator_aggregation AS a USING (indicator_code)
WHERE t.members IS NOT NULL OR a.aggregation IN ('count', 'sum');
