-- HTX (cooperatives) from tax declarations, as the entities behind the indicators, from
-- tax_active and tax_cit (020_tax_as_of.sql: who counts, with which figures): HTX_TAX_ACTIVE and
-- HTX_NOT_ACTIVE, the cooperatives of HTX_TOTAL that did / did not file a 01/GTGT for a tax
-- period inside the period; HTX_AVG_REVENUE, the active ones with their revenue of the period
-- scaled to a year (a yearly estimate: × 12 ÷ the period's months), and HTX_AVG_PROFIT, the
-- 03/TNDN filers with their profit — means over them, so a period without any has no value.
-- HTX_NOT_ACTIVE_SHARE is HTX_NOT_ACTIVE ÷ HTX_TOTAL (810_shares.sql).
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

INSERT INTO reported_group (indicator_code, breakdown, period_start, period_end)
SELECT code, '', period_start, period_end
FROM mart.reporting_period
CROSS JOIN unnest(ARRAY['HTX_TAX_ACTIVE', 'HTX_NOT_ACTIVE']) AS code;
