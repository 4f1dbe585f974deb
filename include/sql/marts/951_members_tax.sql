-- Traceability of the tax indicators (as 200_htx_tax.sql): HTX_TAX_ACTIVE and HTX_NOT_ACTIVE
-- list the cooperatives of HTX_TOTAL that did / did not file a 01/GTGT for a tax period inside P;
-- HTX_AVG_REVENUE lists the active ones with their revenue of P scaled to a year (the mean of
-- the contributions is the value); HTX_AVG_PROFIT the 03/TNDN filers with their profit.
INSERT INTO mart.plan_indicator_members
       (indicator_code, breakdown, period_start, period_end, entity_code, contribution)
WITH operating AS (
    SELECT period_start, period_end, entity_code
    FROM registry_as_of
    WHERE entity_type = 'HTX' AND is_operating
), vat_in_period AS (
    SELECT p.period_start, p.period_end, p.months, d.parent_code, sum(d.revenue_vnd) AS revenue_vnd
    FROM mart.reporting_period AS p
    JOIN core.tax_declaration_latest AS d
      ON d.form_code = '01/GTGT'
     AND d.period_start >= p.period_start
     AND d.period_end <= p.period_end
    GROUP BY p.period_start, p.period_end, p.months, d.parent_code
), active AS (
    SELECT v.*
    FROM vat_in_period AS v
    JOIN operating AS o
      ON o.period_start = v.period_start AND o.period_end = v.period_end
     AND o.entity_code = v.parent_code
), profit_year AS (
    SELECT period_start, period_end,
           make_date(extract(year FROM period_end + 1)::int - 1, 1, 1) AS year_start
    FROM mart.reporting_period
), cit_filers AS (
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
)
SELECT 'HTX_TAX_ACTIVE', '', period_start, period_end, parent_code, 1 FROM active
UNION ALL
SELECT 'HTX_NOT_ACTIVE', '', o.period_start, o.period_end, o.entity_code, 1
FROM operating AS o
WHERE NOT EXISTS (SELECT 1 FROM active AS a
                  WHERE a.period_start = o.period_start AND a.period_end = o.period_end
                    AND a.parent_code = o.entity_code)
UNION ALL
SELECT 'HTX_AVG_REVENUE', '', period_start, period_end, parent_code,
       revenue_vnd::numeric * 12 / (1000000::numeric * months)
FROM active
UNION ALL
SELECT 'HTX_AVG_PROFIT', '', period_start, period_end, parent_code,
       profit_vnd::numeric / 1000000
FROM cit_filers;
