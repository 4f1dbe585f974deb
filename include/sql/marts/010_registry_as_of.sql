-- Each entity type's own grouping of VSIC divisions (core.ref_vsic_division) into sectors, the
-- `sector=` breakdowns of the registry's indicators: HTX by plan_sector, LHHTX by lhhtx_group,
-- THT by tht_group.
CREATE TEMPORARY TABLE type_sector ON COMMIT DROP AS
SELECT v.entity_type, d.division, v.sector
FROM core.ref_vsic_division AS d
CROSS JOIN LATERAL (VALUES ('HTX', d.plan_sector), ('LHHTX', d.lhhtx_group), ('THT', d.tht_group))
    AS v (entity_type, sector);
-- Counted, so that each registry state meets its sector through a hash of these few hundred rows
-- (estimated at 860 unanalyzed, they were merge-joined: every state sorted by type and division).
ANALYZE type_sector;

-- The administrative map in force at the end of each period (core.ref_admin_map: the 13
-- district-level units until 30/06/2025, the 54 commune-level units from 01/07/2025), whose units
-- the `locality=` breakdowns name.
CREATE TEMPORARY TABLE period_map ON COMMIT DROP AS
SELECT DISTINCT ON (p.period_start, p.period_end)
       p.period_start, p.period_end, m.map_version, m.locality_level
FROM computed_period AS p
LEFT JOIN core.ref_admin_map AS m
  ON (m.valid_from IS NULL OR m.valid_from <= p.period_end)
 AND (m.valid_to IS NULL OR p.period_end <= m.valid_to)
ORDER BY p.period_start, p.period_end, m.valid_from DESC NULLS LAST;

-- Grain: one row per period × entity that has a state on the period's last day.
-- "As of D" is business time: the state with the latest status_since on or before D (ties: the
-- latest updated_at) — exactly the state whose [valid_from, valid_to) interval contains D. The
-- entity's locality is that state's place on the map in force at D (htx.admin_map placed every
-- state on both maps: old_district_code on the district-level one, new_unit_code on the
-- commune-level one), `khong_xac_dinh` when it has none there.
CREATE TEMPORARY VIEW registry_at_period_end AS
WITH state AS MATERIALIZED (   -- each state with its sector once, not once per period
    SELECT s.valid_from, s.valid_to, s.entity_code, s.entity_type, s.status, s.registered_on,
           s.charter_capital_vnd, s.members, t.sector, s.old_district_code, s.new_unit_code
    FROM core.registration_state AS s
    LEFT JOIN type_sector AS t
      ON t.entity_type = s.entity_type AND t.division = substr(s.main_vsic, 1, 2)::smallint
)
SELECT p.period_start,
       p.period_end,
       p.published,
       s.entity_code,
       s.entity_type,
       s.status,
       s.registered_on,
       s.charter_capital_vnd,
       s.members,
       s.sector,
       s.registered_on <= p.period_end AND s.status <> 'da_giai_the' AS is_operating,
       s.old_district_code,
       s.new_unit_code,
       coalesce(CASE m.locality_level WHEN 'district' THEN s.old_district_code
                                      WHEN 'commune' THEN s.new_unit_code END,
                'khong_xac_dinh') AS locality
FROM computed_period AS p
JOIN period_map AS m USING (period_start, period_end)
JOIN state AS s
  ON s.valid_from <= p.period_end
 AND (s.valid_to IS NULL OR s.valid_to > p.period_end);

-- registry_as_of's operating cooperatives (entity_type HTX, is_operating) as spans of days, for
-- joins by cooperative rather than by period × entity (020_tax_as_of.sql): an HTX counts as of D
-- exactly when D lies in one of its spans [operating_from, valid_to) — the state holding on D,
-- registered by D and not dissolved (the rules above: change them together).
CREATE TEMPORARY VIEW htx_operating_span AS
SELECT entity_code, greatest(valid_from, registered_on) AS operating_from, valid_to
FROM core.registration_state
WHERE entity_type = 'HTX' AND status <> 'da_giai_the';

-- The published periods: a temporary table shared by the registry, tax and annual models of this
-- refresh. It is written in period order, then entity type, so the rows the models copy from it
-- reach the members' tables (mart.registry_member_period, mart.plan_indicator_member_rows)
-- grouped by period (what their BRIN indexes rely on).
CREATE TEMPORARY TABLE registry_as_of_recomputed ON COMMIT DROP AS
SELECT * FROM registry_at_period_end WHERE published
ORDER BY period_end, period_start, entity_type;

-- As each model reading it sees it: the periods it recomputes (mart.reporting_period while it
-- runs). After feed runs a model may recompute fewer periods than the refresh
-- (htx.marts_incremental: a monthly tax file recomputes the registry's indicators for a new
-- month only) — always those ending from a date on, so a bound read once per statement (a
-- semi-join with the periods cost ≈ 1 s of CPU per full refresh: the registry model reads this
-- once per kind of member).
CREATE TEMPORARY VIEW registry_as_of AS
SELECT * FROM registry_as_of_recomputed
WHERE period_end >= (SELECT min(period_end) FROM mart.reporting_period);

-- The estimates' unpublished periods (basis_period), for the registry model only. A refresh
-- after a feed run has none, mostly (their previous year is published): nothing is read then.
CREATE TEMPORARY TABLE registry_as_of_basis ON COMMIT DROP AS
SELECT * FROM registry_at_period_end
WHERE NOT published AND EXISTS (SELECT FROM basis_period);

ANALYZE registry_as_of_recomputed;
ANALYZE registry_as_of_basis;

-- Both (the conditions let a query of one kind of period skip the other's table).
CREATE TEMPORARY VIEW registry_as_of_every_period AS
SELECT * FROM registry_as_of WHERE published
UNION ALL
SELECT * FROM registry_as_of_basis WHERE NOT published;
