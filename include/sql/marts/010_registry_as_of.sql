-- Grain: one row per reporting period × entity that has a state on the period's last day.
-- "As of D" is business time: the state with the latest status_since on or before D (ties: the
-- latest updated_at) — exactly the state whose [valid_from, valid_to) interval contains D.
-- A temporary table shared by the registry, tax and annual models of this refresh. It is
-- written in period order, so the member rows the models copy from it reach
-- mart.plan_indicator_members grouped by period (what its BRIN index relies on).
CREATE TEMPORARY TABLE registry_as_of ON COMMIT DROP AS
SELECT p.period_start,
       p.period_end,
       s.entity_code,
       s.entity_type,
       s.status,
       s.registered_on,
       s.charter_capital_vnd,
       s.members,
       d.plan_sector,
       d.tht_group,
       d.lhhtx_group,
       s.registered_on <= p.period_end AND s.status <> 'da_giai_the' AS is_operating
FROM mart.reporting_period AS p
JOIN core.registration_state AS s
  ON s.valid_from <= p.period_end
 AND (s.valid_to IS NULL OR s.valid_to > p.period_end)
LEFT JOIN core.ref_vsic_division AS d
  ON d.division = substr(s.main_vsic, 1, 2)::smallint
ORDER BY p.period_end, p.period_start;

ANALYZE registry_as_of;
