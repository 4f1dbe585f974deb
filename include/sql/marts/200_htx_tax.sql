-- HTX (cooperatives) from tax declarations: HTX_TAX_ACTIVE, HTX_NOT_ACTIVE, HTX_NOT_ACTIVE_SHARE,
-- HTX_AVG_REVENUE, HTX_AVG_PROFIT. Grain: indicator × period (no breakdown).
-- Declarations count in their latest version (core.tax_declaration_latest); a branch's
-- declarations (NNNNNNNNNN-NNN) count for its parent cooperative; codes unknown to the registry,
-- and taxpayers not in HTX_TOTAL as of the period end, never count. Who counts, with which
-- figures, is worked out once in 020_tax_as_of.sql (tax_active, tax_cit).
-- The averages have no row for a period with nobody to average over.
INSERT INTO mart.plan_indicator (indicator_code, breakdown, period_start, period_end, value, unit)
WITH operating AS (      -- HTX_TOTAL: registered by the period end and not dissolved as of it
    SELECT period_start, period_end, count(*) AS cooperatives
    FROM registry_as_of
    WHERE entity_type = 'HTX' AND is_operating
    GROUP BY period_start, period_end
), active AS (           -- HTX_TAX_ACTIVE, with their revenue of the period
    SELECT period_start, period_end, count(*) AS active, sum(revenue_vnd) AS revenue_vnd
    FROM tax_active
    GROUP BY period_start, period_end
), totals AS (
    SELECT p.period_start, p.period_end, p.months,
           coalesce(o.cooperatives, 0)   AS cooperatives,
           coalesce(a.active, 0)         AS active,
           coalesce(a.revenue_vnd, 0)    AS revenue_vnd
    FROM mart.reporting_period AS p
    LEFT JOIN operating AS o USING (period_start, period_end)
    LEFT JOIN active AS a USING (period_start, period_end)
), profits AS (          -- the 03/TNDN filers of the last full calendar year ended by P's end
    SELECT period_start, period_end, count(*) AS filers, sum(profit_vnd) AS profit_vnd
    FROM tax_cit
    GROUP BY period_start, period_end
)
SELECT 'HTX_TAX_ACTIVE', '', period_start, period_end, active, 'count' FROM totals
UNION ALL
SELECT 'HTX_NOT_ACTIVE', '', period_start, period_end, cooperatives - active, 'count' FROM totals
UNION ALL
SELECT 'HTX_NOT_ACTIVE_SHARE', '', period_start, period_end,
       (cooperatives - active)::numeric * 100 / cooperatives, 'percent'
FROM totals
WHERE cooperatives > 0
UNION ALL
-- A yearly estimate: revenue of the period's months, scaled to 12. One division, in numeric.
SELECT 'HTX_AVG_REVENUE', '', period_start, period_end,
       revenue_vnd::numeric * 12 / (1000000::numeric * active * months), 'trieu_dong'
FROM totals
WHERE active > 0
UNION ALL
SELECT 'HTX_AVG_PROFIT', '', period_start, period_end,
       profit_vnd::numeric / (1000000::numeric * filers), 'trieu_dong'
FROM profits;
