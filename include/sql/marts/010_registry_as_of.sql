-- Each entity type's own grouping of VSIC divisions (core.ref_vsic_division) into sectors, the
-- `sector=` breakdowns of the registry's indicators: HTX by plan_sector, LHHTX by lhhtx_group,
-- THT by tht_group.
CREATE TEMPORARY TABLE type_sector ON COMMIT DROP AS
SELECT v.entity_type, d.division, v.sector
FROM core.ref_vsic_division AS d
CROSS JOIN LATERAL (VALUES ('HTX', d.plan_sector), ('LHHTX', d.lhhtx_group), ('THT', d.tht_group))
    AS v (entity_type, sector);

-- Grain: one row per reporting period × entity that has a state on the period's last day.
-- "As of D" is business time: the state with the latest status_since on or before D (ties: the
-- latest updated_at) — exactly the state whose [valid_from, valid_to) interval contains D.
-- A temporary table shared by the registry, tax and annual models of this refresh. It is
-- written in period order, then entity type, so the member rows the models copy from it reach
-- mart.plan_indicator_members grouped by indicator and period (what its BRIN index relies on).
CREATE TEMPORARY TABLE registry_as_of ON COMMIT DROP AS
SELECT p.period_start,
       p.period_end,
       s.entity_code,
       s.entity_type,
       s.status,
       s.registered_on,
       s.charter_capital_vnd,
       s.members,
       t.sector,
       s.registered_on <= p.period_end AND s.status <> 'da_giai_the' AS is_operating
FROM mart.reporting_period AS p
JOIN core.registration_state AS s
  ON s.valid_from <= p.period_end
 AND (s.valid_to IS NULL OR s.valid_to > p.period_end)
LEFT JOIN type_sector AS t
  ON t.entity_type = s.entity_type AND t.division = substr(s.main_vsic, 1, 2)::smallint
ORDER BY p.period_end, p.period_start, s.entity_type;

ANALYZE registry_as_of;
