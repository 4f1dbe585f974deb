-- Traceability (mart.plan_indicator_members) of the registry indicators: the HTX, unions (LHHTX)
-- and cooperative groups (THT) behind HTX_TOTAL, HTX_BY_SECTOR, HTX_CHARTER_CAPITAL, HTX_MEMBERS,
-- HTX_NEW, HTX_DISSOLVED, LHHTX_*, THT_*. Same rules as 100–130 (registry_as_of is their shared
-- as-of state); a count lists each entity counted (contribution 1), a sum each entity summed.
-- An entity whose summed figure is unknown (NULL) adds nothing to the sum and is not listed.
INSERT INTO mart.plan_indicator_members
       (indicator_code, breakdown, period_start, period_end, entity_code, contribution)
WITH operating AS (      -- registered by the period end and not dissolved as of it
    SELECT * FROM registry_as_of WHERE is_operating
)
SELECT 'HTX_TOTAL', '', period_start, period_end, entity_code, 1
FROM operating WHERE entity_type = 'HTX'
UNION ALL
SELECT 'HTX_BY_SECTOR', 'sector=' || plan_sector, period_start, period_end, entity_code, 1
FROM operating WHERE entity_type = 'HTX' AND plan_sector IS NOT NULL
UNION ALL
SELECT 'HTX_CHARTER_CAPITAL', '', period_start, period_end, entity_code,
       charter_capital_vnd::numeric / 1000000
FROM operating WHERE entity_type = 'HTX' AND charter_capital_vnd IS NOT NULL
UNION ALL
SELECT 'HTX_MEMBERS', '', period_start, period_end, entity_code, members
FROM operating WHERE entity_type = 'HTX' AND members IS NOT NULL
UNION ALL
SELECT 'HTX_NEW', '', period_start, period_end, entity_code, 1
FROM registry_as_of
WHERE entity_type = 'HTX' AND registered_on BETWEEN period_start AND period_end
UNION ALL
SELECT 'LHHTX_TOTAL', '', period_start, period_end, entity_code, 1
FROM operating WHERE entity_type = 'LHHTX'
UNION ALL
SELECT 'LHHTX_TOTAL', 'sector=' || lhhtx_group, period_start, period_end, entity_code, 1
FROM operating WHERE entity_type = 'LHHTX' AND lhhtx_group IS NOT NULL
UNION ALL
SELECT 'LHHTX_CHARTER_CAPITAL', '', period_start, period_end, entity_code,
       charter_capital_vnd::numeric / 1000000
FROM operating WHERE entity_type = 'LHHTX' AND charter_capital_vnd IS NOT NULL
UNION ALL
SELECT 'LHHTX_MEMBER_COOPS', '', period_start, period_end, entity_code, members
FROM operating WHERE entity_type = 'LHHTX' AND members IS NOT NULL
UNION ALL
SELECT 'THT_TOTAL', '', period_start, period_end, entity_code, 1
FROM operating WHERE entity_type = 'THT'
UNION ALL
SELECT 'THT_TOTAL', 'sector=' || tht_group, period_start, period_end, entity_code, 1
FROM operating WHERE entity_type = 'THT' AND tht_group IS NOT NULL
UNION ALL
SELECT 'THT_MEMBERS', '', period_start, period_end, entity_code, members
FROM operating WHERE entity_type = 'THT' AND members IS NOT NULL;

-- HTX_DISSOLVED: as 110 — an effective state that changed the cooperative to da_giai_the, dated
-- in the period; a cooperative dissolved twice in one period is listed once.
INSERT INTO mart.plan_indicator_members
       (indicator_code, breakdown, period_start, period_end, entity_code, contribution)
WITH effective AS (
    SELECT entity_code, entity_type, status, status_since,
           lag(status) OVER (PARTITION BY entity_code ORDER BY status_since, updated_at)
               AS previous_status
    FROM core.registration_state
    WHERE valid_to IS NULL OR valid_to > valid_from
), dissolutions AS (
    SELECT entity_code, status_since
    FROM effective
    WHERE entity_type = 'HTX'
      AND status = 'da_giai_the'
      AND previous_status IS DISTINCT FROM 'da_giai_the'
)
SELECT DISTINCT 'HTX_DISSOLVED', '', p.period_start, p.period_end, d.entity_code, 1
FROM mart.reporting_period AS p
JOIN dissolutions AS d ON d.status_since BETWEEN p.period_start AND p.period_end;
