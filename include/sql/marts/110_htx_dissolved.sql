-- HTX_DISSOLVED: cooperatives whose status became da_giai_the within the period.
-- Only effective states count (a state replaced on its own day by a later record never held),
-- and a dissolution is a change: the previous effective state was not already dissolved.
INSERT INTO mart.plan_indicator (indicator_code, breakdown, period_start, period_end, value, unit)
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
SELECT 'HTX_DISSOLVED', '', p.period_start, p.period_end, count(DISTINCT d.entity_code), 'count'
FROM mart.reporting_period AS p
LEFT JOIN dissolutions AS d ON d.status_since BETWEEN p.period_start AND p.period_end
GROUP BY p.period_start, p.period_end;
