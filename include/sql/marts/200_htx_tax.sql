-- HTX (cooperatives) from tax declarations: HTX_TAX_ACTIVE, HTX_NOT_ACTIVE, HTX_NOT_ACTIVE_SHARE,
-- HTX_AVG_REVENUE, HTX_AVG_PROFIT. Grain: indicator × period (no breakdown).
-- Declarations count in their latest version (core.tax_declaration_latest); a branch's
-- declarations (NNNNNNNNNN-NNN) count for its parent cooperative; codes unknown to the registry,
-- and taxpayers not in HTX_TOTAL as of the period end, never count.
-- The averages have no row for a period with nobody to average over.
INSERT INTO mart.plan_indicator (indicator_code, breakdown, period_start, period_end, value, unit)
WITH operating AS (      -- HTX_TOTAL: registered by the period end and not dissolved as of it
    SELECT period_start, period_end, entity_code
    FROM registry_as_of
    WHERE entity_type = 'HTX' AND is_operating
), vat_in_period AS (    -- latest 01/GTGT whose tax period lies entirely within P, per parent
    SELECT p.period_start, p.period_end, d.parent_code, sum(d.revenue_vnd) AS revenue_vnd
    FROM mart.reporting_period AS p
    JOIN core.tax_declaration_latest AS d
      ON d.form_code = '01/GTGT'
     AND d.period_start >= p.period_start
     AND d.period_end <= p.period_end
    GROUP BY p.period_start, p.period_end, d.parent_code
), active AS (           -- HTX_TAX_ACTIVE members, with their revenue of the period
    SELECT v.*
    FROM vat_in_period AS v
    JOIN operating AS o
      ON o.period_start = v.period_start AND o.period_end = v.period_end
     AND o.entity_code = v.parent_code
), profit_year AS (      -- the last full calendar year that has ended by the end of P
    SELECT period_start, period_end,
           make_date(extract(year FROM period_end + 1)::int - 1, 1, 1) AS year_start
    FROM mart.reporting_period
), cit_filers AS (       -- HTX in HTX_TOTAL with a latest 03/TNDN for that year, per parent
    SELECT y.period_start, y.period_end, d.parent_code,
           sum(d.profit_before_tax_vnd) AS profit_vnd
    FROM profit_year AS y
    JOIN core.tax_declaration_latest AS d
      ON d.form_code = '03/TNDN'
     AND d.period_kind = 'year'
     AND d.period_start = y.year_start
    JOIN operating AS o
      ON o.period_start = y.period_start AND o.period_end = y.period_end
     AND o.entity_code = d.parent_code
    GROUP BY y.period_start, y.period_end, d.parent_code
), totals AS (
    SELECT p.period_start, p.period_end, p.months,
           (SELECT count(*) FROM operating AS o
            WHERE o.period_start = p.period_start AND o.period_end = p.period_end) AS cooperatives,
           count(a.parent_code)                    AS active,
           coalesce(sum(a.revenue_vnd), 0)         AS revenue_vnd
    FROM mart.reporting_period AS p
    LEFT JOIN active AS a USING (period_start, period_end)
    GROUP BY p.period_start, p.period_end, p.months
), profits AS (
    SELECT period_start, period_end, count(*) AS filers, sum(profit_vnd) AS profit_vnd
    FROM cit_filers
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
