-- The registry's indicators, as the entities behind them. Each HTX (cooperative), LHHTX (union of
-- cooperatives) and THT (cooperative group) operating as of the period end (registry_as_of:
-- registered by then and not dissolved as of it) is counted in its type's total and its sector's
-- (type_sector), and summed into its type's charter capital (VND → trieu_dong) and members (an
-- LHHTX's members are cooperatives; THT has no capital indicator). A figure that is unknown
-- (NULL) adds nothing and is not listed.
CREATE TEMPORARY TABLE registry_indicator ON COMMIT DROP AS
SELECT * FROM (VALUES
    ('HTX',   'HTX_TOTAL',   'HTX_BY_SECTOR', 'HTX_CHARTER_CAPITAL',   'HTX_MEMBERS'),
    ('LHHTX', 'LHHTX_TOTAL', 'LHHTX_TOTAL',   'LHHTX_CHARTER_CAPITAL', 'LHHTX_MEMBER_COOPS'),
    ('THT',   'THT_TOTAL',   'THT_TOTAL',     NULL,                    'THT_MEMBERS'))
    AS i (entity_type, total_code, sector_code, capital_code, members_code);

INSERT INTO mart.plan_indicator_members
       (indicator_code, breakdown, period_start, period_end, entity_code, contribution)
WITH operating AS (
    SELECT * FROM registry_as_of JOIN registry_indicator USING (entity_type) WHERE is_operating
)
SELECT total_code, '', period_start, period_end, entity_code, 1 FROM operating
UNION ALL
SELECT sector_code, 'sector=' || sector, period_start, period_end, entity_code, 1
FROM operating WHERE sector IS NOT NULL
UNION ALL
SELECT capital_code, '', period_start, period_end, entity_code,
       charter_capital_vnd::numeric / 1000000
FROM operating WHERE capital_code IS NOT NULL AND charter_capital_vnd IS NOT NULL
UNION ALL
SELECT members_code, '', period_start, period_end, entity_code, members
FROM operating WHERE members IS NOT NULL
UNION ALL   -- HTX_NEW: the cooperatives registered within the period
SELECT 'HTX_NEW', '', period_start, period_end, entity_code, 1
FROM registry_as_of
WHERE entity_type = 'HTX' AND registered_on BETWEEN period_start AND period_end;

-- HTX_DISSOLVED: cooperatives whose status became da_giai_the within the period. Only effective
-- states count (a state replaced on its own day by a later record never held), and a dissolution
-- is a change: the previous effective state was not already dissolved. A cooperative dissolved
-- twice in one period is listed once.
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

-- Every period reports each of these, 0 when empty: the totals, sums, new and dissolved, and
-- every sector of each type's grouping.
INSERT INTO reported_group (indicator_code, breakdown, period_start, period_end)
SELECT g.indicator_code, g.breakdown, p.period_start, p.period_end
FROM mart.reporting_period AS p
CROSS JOIN (
    SELECT code, '' FROM registry_indicator,
                         unnest(ARRAY[total_code, capital_code, members_code]) AS code
    WHERE code IS NOT NULL
    UNION
    SELECT sector_code, 'sector=' || sector
    FROM registry_indicator JOIN type_sector USING (entity_type)
    UNION
    VALUES ('HTX_NEW', ''), ('HTX_DISSOLVED', '')
) AS g (indicator_code, breakdown);
