-- HTX (cooperatives) from the registry: HTX_TOTAL, HTX_BY_SECTOR, HTX_SECTOR_SHARE,
-- HTX_CHARTER_CAPITAL, HTX_MEMBERS, HTX_NEW. Grain: indicator × breakdown × period.
INSERT INTO mart.plan_indicator (indicator_code, breakdown, period_start, period_end, value, unit)
WITH operating AS (      -- registered by the period end and not dissolved as of it
    SELECT * FROM registry_as_of WHERE entity_type = 'HTX' AND is_operating
), totals AS (
    SELECT p.period_start, p.period_end,
           count(o.entity_code)                                 AS cooperatives,
           coalesce(sum(o.charter_capital_vnd), 0)::numeric / 1000000 AS charter_capital_trieu,
           coalesce(sum(o.members), 0)                          AS members
    FROM mart.reporting_period AS p
    LEFT JOIN operating AS o USING (period_start, period_end)
    GROUP BY p.period_start, p.period_end
), sectors AS (
    SELECT DISTINCT plan_sector FROM core.ref_vsic_division
), by_sector AS (
    SELECT p.period_start, p.period_end, s.plan_sector, count(o.entity_code) AS cooperatives
    FROM mart.reporting_period AS p
    CROSS JOIN sectors AS s
    LEFT JOIN operating AS o
      ON o.period_start = p.period_start AND o.period_end = p.period_end
     AND o.plan_sector = s.plan_sector
    GROUP BY p.period_start, p.period_end, s.plan_sector
), new_cooperatives AS (
    SELECT p.period_start, p.period_end, count(r.entity_code) AS cooperatives
    FROM mart.reporting_period AS p
    LEFT JOIN registry_as_of AS r
      ON r.period_start = p.period_start AND r.period_end = p.period_end
     AND r.entity_type = 'HTX' AND r.registered_on BETWEEN p.period_start AND p.period_end
    GROUP BY p.period_start, p.period_end
)
SELECT 'HTX_TOTAL', '', period_start, period_end, cooperatives, 'count' FROM totals
UNION ALL
SELECT 'HTX_CHARTER_CAPITAL', '', period_start, period_end, charter_capital_trieu, 'trieu_dong'
FROM totals
UNION ALL
SELECT 'HTX_MEMBERS', '', period_start, period_end, members, 'nguoi' FROM totals
UNION ALL
SELECT 'HTX_BY_SECTOR', 'sector=' || plan_sector, period_start, period_end, cooperatives, 'count'
FROM by_sector
UNION ALL
SELECT 'HTX_SECTOR_SHARE', 'sector=' || b.plan_sector, b.period_start, b.period_end,
       b.cooperatives::numeric * 100 / t.cooperatives, 'percent'
FROM by_sector AS b
JOIN totals AS t USING (period_start, period_end)
WHERE t.cooperatives > 0
UNION ALL
SELECT 'HTX_NEW', '', period_start, period_end, cooperatives, 'count' FROM new_cooperatives;
