-- The registry's indicators, as the entities behind them. Each HTX (cooperative), LHHTX (union of
-- cooperatives) and THT (cooperative group) operating as of the period end (registry_as_of:
-- registered by then and not dissolved as of it) is counted in its type's total and its sector's
-- (type_sector), and summed into its type's charter capital (VND → trieu_dong) and members (an
-- LHHTX's members are cooperatives; THT has no capital indicator). A figure that is unknown
-- (NULL) adds nothing and is not listed. The indicators the catalogue breaks down by `locality=`
-- (core.ref_indicator: HTX_TOTAL, HTX_NEW, THT_TOTAL) list their total's members again under the
-- entity's locality as of the period end (010_registry_as_of.sql), every unit of the map in
-- force reported.
--
-- The operating entities of the published periods are stored once per period × entity, with
-- what those indicators count and sum (mart.registry_member_period, migration 0190: a fifth of
-- the rows one member row per indicator took); mart.plan_indicator_members lists them under each
-- indicator, and the member totals read them directly (700_member_totals.sql). The others (new
-- and dissolved cooperatives) are member rows. One definition (registry_member) serves every
-- period the refresh computes: those of the previous years' periods the year-end estimates need
-- (001_year_end_estimate_basis.sql) are aggregated into estimate_basis_value.

-- Each type's indicators, kept where mart.plan_indicator_members and the member totals read them
-- (700_member_totals.sql).
INSERT INTO mart.registry_indicator
       (entity_type, total_code, sector_code, capital_code, members_code)
VALUES ('HTX',   'HTX_TOTAL',   'HTX_BY_SECTOR', 'HTX_CHARTER_CAPITAL',   'HTX_MEMBERS'),
       ('LHHTX', 'LHHTX_TOTAL', 'LHHTX_TOTAL',   'LHHTX_CHARTER_CAPITAL', 'LHHTX_MEMBER_COOPS'),
       ('THT',   'THT_TOTAL',   'THT_TOTAL',     NULL,                    'THT_MEMBERS')
ON CONFLICT (entity_type) DO UPDATE
SET total_code = excluded.total_code, sector_code = excluded.sector_code,
    capital_code = excluded.capital_code, members_code = excluded.members_code
WHERE (registry_indicator.total_code, registry_indicator.sector_code,
       registry_indicator.capital_code, registry_indicator.members_code)
      IS DISTINCT FROM (excluded.total_code, excluded.sector_code, excluded.capital_code,
                        excluded.members_code);

-- This model's indicators that the catalogue breaks down by locality.
CREATE TEMPORARY TABLE locality_indicator ON COMMIT DROP AS
SELECT indicator_code
FROM core.ref_indicator
WHERE 'locality' = ANY (breakdown_keys)
  AND indicator_code IN (SELECT total_code FROM mart.registry_indicator UNION VALUES ('HTX_NEW'));

-- Each row: an indicator × breakdown × period × entity with its contribution; the rows of the
-- locality= breakdowns also carry the entity's place on both maps, and are told by
-- `of_locality`, a constant of each branch: a query of them (mart.locality_across_reform) skips
-- the other branches when it is planned, instead of building their millions of rows to drop
-- them. `of_operating` tells, likewise, the rows of the operating entities, which the published
-- periods store once per entity (mart.registry_member_period) rather than as these rows.
-- HTX_DISSOLVED: cooperatives whose status became da_giai_the within the period. Only effective
-- states count (a state replaced on its own day by a later record never held), and a dissolution
-- is a change: the previous effective state was not already dissolved. A cooperative dissolved
-- twice in one period is listed once.
CREATE TEMPORARY VIEW registry_member AS
WITH operating AS NOT MATERIALIZED (
    SELECT * FROM registry_as_of_every_period JOIN mart.registry_indicator USING (entity_type)
    WHERE is_operating
), new_cooperative AS NOT MATERIALIZED (   -- HTX_NEW: registered within the period
    SELECT * FROM registry_as_of_every_period
    WHERE entity_type = 'HTX' AND registered_on BETWEEN period_start AND period_end
), effective AS (
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
SELECT total_code AS indicator_code, '' AS breakdown, period_start, period_end, published,
       entity_code, 1::numeric AS contribution, false AS of_locality, true AS of_operating,
       NULL AS old_district_code, NULL AS new_unit_code
FROM operating
UNION ALL
SELECT total_code, 'locality=' || locality, period_start, period_end, published, entity_code, 1,
       true, true, old_district_code, new_unit_code
FROM operating JOIN locality_indicator ON indicator_code = total_code
UNION ALL
SELECT sector_code, 'sector=' || sector, period_start, period_end, published, entity_code, 1,
       false, true, NULL, NULL
FROM operating WHERE sector IS NOT NULL
UNION ALL
SELECT capital_code, '', period_start, period_end, published, entity_code,
       charter_capital_vnd::numeric / 1000000, false, true, NULL, NULL
FROM operating WHERE capital_code IS NOT NULL AND charter_capital_vnd IS NOT NULL
UNION ALL
SELECT members_code, '', period_start, period_end, published, entity_code, members, false,
       true, NULL, NULL
FROM operating WHERE members IS NOT NULL
UNION ALL
SELECT 'HTX_NEW', '', period_start, period_end, published, entity_code, 1, false, false, NULL,
       NULL
FROM new_cooperative
UNION ALL
SELECT 'HTX_NEW', 'locality=' || locality, period_start, period_end, published, entity_code, 1,
       true, false, old_district_code, new_unit_code
FROM new_cooperative JOIN locality_indicator ON indicator_code = 'HTX_NEW'
UNION ALL
SELECT DISTINCT 'HTX_DISSOLVED', '', p.period_start, p.period_end, p.published, d.entity_code, 1,
       false, false, NULL, NULL
FROM computed_period AS p
JOIN dissolutions AS d ON d.status_since BETWEEN p.period_start AND p.period_end;

-- The published periods' operating entities, one row each with what registry_member's
-- operating rows carry (a figure is NULL where no such row is: an unknown one, THT's capital, a
-- locality the catalogue does not break its type's total down by), in registry_as_of's order
-- (period, then type: what the table's BRIN index relies on); the refresh has deleted the rows
-- of the periods recomputed (htx.marts_incremental).
INSERT INTO mart.registry_member_period
       (period_start, period_end, entity_code, entity_type, sector, locality, old_district_code,
        new_unit_code, charter_capital_trieu_dong, members)
SELECT s.period_start, s.period_end, s.entity_code, s.entity_type, s.sector,
       CASE WHEN l.indicator_code IS NOT NULL THEN s.locality END,
       CASE WHEN l.indicator_code IS NOT NULL THEN s.old_district_code END,
       CASE WHEN l.indicator_code IS NOT NULL THEN s.new_unit_code END,
       CASE WHEN i.capital_code IS NOT NULL THEN s.charter_capital_vnd::numeric / 1000000 END,
       s.members
FROM registry_as_of AS s
JOIN mart.registry_indicator AS i USING (entity_type)
LEFT JOIN locality_indicator AS l ON l.indicator_code = i.total_code
WHERE s.is_operating;

-- The others (new and dissolved cooperatives) as member rows.
INSERT INTO mart.plan_indicator_members
       (indicator_code, breakdown, period_start, period_end, entity_code, contribution)
SELECT indicator_code, breakdown, period_start, period_end, entity_code, contribution
FROM registry_member
WHERE published AND NOT of_operating;

-- The estimates' unpublished periods: the value of each estimated indicator (a count or a sum,
-- core.ref_indicator), by the same members, for the total and sector= breakdowns the estimates
-- have (850_year_end_estimates.sql; the locality= branches skipped when planned) — nothing read
-- when there are none (mostly, after a feed run).
INSERT INTO estimate_basis_value (indicator_code, breakdown, period_start, period_end, value)
SELECT m.indicator_code, m.breakdown, m.period_start, m.period_end,
       CASE c.aggregation WHEN 'count' THEN count(*) WHEN 'sum' THEN sum(m.contribution) END
FROM registry_member AS m
JOIN core.ref_indicator AS c USING (indicator_code)
WHERE NOT m.published AND NOT m.of_locality AND c.year_end_estimate IS NOT NULL
  AND EXISTS (SELECT FROM basis_period)
GROUP BY m.indicator_code, m.breakdown, m.period_start, m.period_end, c.aggregation;

-- Each locality indicator's total on both maps (for the exports' old-district comparison),
-- counted on its locality= rows: each member of the total is in one of them; the refresh has
-- deleted the rows of the periods recomputed (htx.marts_incremental).
INSERT INTO mart.locality_across_reform
       (indicator_code, period_start, period_end, old_district_code, new_unit_code, entities)
SELECT indicator_code, period_start, period_end, old_district_code, new_unit_code, count(*)
FROM registry_member
WHERE published AND of_locality
GROUP BY indicator_code, period_start, period_end, old_district_code, new_unit_code;

-- Every period reports each of these, 0 when empty: the totals, sums, new and dissolved, every
-- sector of each type's grouping, and every unit of the map in force at the period end and
-- khong_xac_dinh for the locality indicators.
INSERT INTO reported_group (indicator_code, breakdown, period_start, period_end)
SELECT g.indicator_code, g.breakdown, p.period_start, p.period_end
FROM mart.reporting_period AS p
CROSS JOIN (
    SELECT code, '' FROM mart.registry_indicator,
                         unnest(ARRAY[total_code, capital_code, members_code]) AS code
    WHERE code IS NOT NULL
    UNION
    SELECT sector_code, 'sector=' || sector
    FROM mart.registry_indicator JOIN type_sector USING (entity_type)
    UNION
    VALUES ('HTX_NEW', ''), ('HTX_DISSOLVED', '')
) AS g (indicator_code, breakdown)
UNION ALL
SELECT l.indicator_code, 'locality=' || u.unit_code, p.period_start, p.period_end
FROM period_map AS p
JOIN core.ref_admin_unit AS u ON u.map_version = p.map_version AND u.level = p.locality_level
CROSS JOIN locality_indicator AS l
WHERE EXISTS (SELECT 1 FROM mart.reporting_period AS r
              WHERE r.period_start = p.period_start AND r.period_end = p.period_end)
UNION ALL
SELECT l.indicator_code, 'locality=khong_xac_dinh', p.period_start, p.period_end
FROM mart.reporting_period AS p
CROSS JOIN locality_indicator AS l;
