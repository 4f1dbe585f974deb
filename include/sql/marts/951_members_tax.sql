-- Traceability of the tax indicators (as 200_htx_tax.sql, from the same tax_active and tax_cit
-- of 020_tax_as_of.sql): HTX_TAX_ACTIVE and HTX_NOT_ACTIVE list the cooperatives of HTX_TOTAL
-- that did / did not file a 01/GTGT for a tax period inside P; HTX_AVG_REVENUE lists the active
-- ones with their revenue of P scaled to a year (the mean of the contributions is the value);
-- HTX_AVG_PROFIT the 03/TNDN filers with their profit. Rows are written by indicator, then
-- period (the order mart.plan_indicator_members' BRIN index relies on).
INSERT INTO mart.plan_indicator_members
       (indicator_code, breakdown, period_start, period_end, entity_code, contribution)
SELECT 'HTX_TAX_ACTIVE', '', period_start, period_end, parent_code, 1 FROM tax_active
UNION ALL
SELECT 'HTX_NOT_ACTIVE', '', o.period_start, o.period_end, o.entity_code, 1
FROM registry_as_of AS o
WHERE o.entity_type = 'HTX' AND o.is_operating
  AND NOT EXISTS (SELECT 1 FROM tax_active AS a
                  WHERE a.period_start = o.period_start AND a.period_end = o.period_end
                    AND a.parent_code = o.entity_code)
UNION ALL
SELECT 'HTX_AVG_REVENUE', '', period_start, period_end, parent_code,
       revenue_vnd::numeric * 12 / (1000000::numeric * months)
FROM tax_active
UNION ALL
SELECT 'HTX_AVG_PROFIT', '', period_start, period_end, parent_code,
       profit_vnd::numeric / 1000000
FROM tax_cit;
