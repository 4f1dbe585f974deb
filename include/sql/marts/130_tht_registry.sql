-- THT (cooperative groups): THT_TOTAL (total and by sector=nong_lam_ngu/cong_nghiep_tthc/khac),
-- THT_SECTOR_SHARE, THT_MEMBERS.
INSERT INTO mart.plan_indicator (indicator_code, breakdown, period_start, period_end, value, unit)
WITH operating AS (
    SELECT * FROM registry_as_of WHERE entity_type = 'THT' AND is_operating
), totals AS (
    SELECT p.period_start, p.period_end,
           count(o.entity_code)        AS groups_total,
           coalesce(sum(o.members), 0) AS members
    FROM mart.reporting_period AS p
    LEFT JOIN operating AS o USING (period_start, period_end)
    GROUP BY p.period_start, p.period_end
), tht_groups AS (
    SELECT DISTINCT tht_group FROM core.ref_vsic_division
), by_group AS (
    SELECT p.period_start, p.period_end, g.tht_group, count(o.entity_code) AS groups_in
    FROM mart.reporting_period AS p
    CROSS JOIN tht_groups AS g
    LEFT JOIN operating AS o
      ON o.period_start = p.period_start AND o.period_end = p.period_end
     AND o.tht_group = g.tht_group
    GROUP BY p.period_start, p.period_end, g.tht_group
)
SELECT 'THT_TOTAL', '', period_start, period_end, groups_total, 'count' FROM totals
UNION ALL
SELECT 'THT_TOTAL', 'sector=' || tht_group, period_start, period_end, groups_in, 'count'
FROM by_group
UNION ALL
SELECT 'THT_SECTOR_SHARE', 'sector=' || b.tht_group, b.period_start, b.period_end,
       b.groups_in::numeric * 100 / t.groups_total, 'percent'
FROM by_group AS b
JOIN totals AS t USING (period_start, period_end)
WHERE t.groups_total > 0
UNION ALL
SELECT 'THT_MEMBERS', '', period_start, period_end, members, 'nguoi' FROM totals;
