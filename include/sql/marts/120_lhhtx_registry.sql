-- LHHTX (unions of cooperatives): LHHTX_TOTAL (total and by sector=nong_nghiep/phi_nong_nghiep),
-- LHHTX_CHARTER_CAPITAL, LHHTX_MEMBER_COOPS (their `members` are member cooperatives).
INSERT INTO mart.plan_indicator (indicator_code, breakdown, period_start, period_end, value, unit)
WITH operating AS (
    SELECT * FROM registry_as_of WHERE entity_type = 'LHHTX' AND is_operating
), totals AS (
    SELECT p.period_start, p.period_end,
           count(o.entity_code)                                        AS unions,
           coalesce(sum(o.charter_capital_vnd), 0)::numeric / 1000000 AS charter_capital_trieu,
           coalesce(sum(o.members), 0)                                 AS member_coops
    FROM mart.reporting_period AS p
    LEFT JOIN operating AS o USING (period_start, period_end)
    GROUP BY p.period_start, p.period_end
), groups AS (
    SELECT DISTINCT lhhtx_group FROM core.ref_vsic_division
), by_group AS (
    SELECT p.period_start, p.period_end, g.lhhtx_group, count(o.entity_code) AS unions
    FROM mart.reporting_period AS p
    CROSS JOIN groups AS g
    LEFT JOIN operating AS o
      ON o.period_start = p.period_start AND o.period_end = p.period_end
     AND o.lhhtx_group = g.lhhtx_group
    GROUP BY p.period_start, p.period_end, g.lhhtx_group
)
SELECT 'LHHTX_TOTAL', '', period_start, period_end, unions, 'count' FROM totals
UNION ALL
SELECT 'LHHTX_TOTAL', 'sector=' || lhhtx_group, period_start, period_end, unions, 'count'
FROM by_group
UNION ALL
SELECT 'LHHTX_CHARTER_CAPITAL', '', period_start, period_end, charter_capital_trieu, 'trieu_dong'
FROM totals
UNION ALL
SELECT 'LHHTX_MEMBER_COOPS', '', period_start, period_end, member_coops, 'count' FROM totals;
