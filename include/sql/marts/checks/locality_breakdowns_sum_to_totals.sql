-- "Each locality= breakdown sums to its total", checked by every refresh (htx.marts) once its
-- models have run: one row per break, reason first. For every indicator the catalogue breaks
-- down by locality (core.ref_indicator) and every period with its total, the breakdown lists
-- exactly the units of the map in force at the period end (period_map, 010_registry_as_of.sql)
-- and khong_xac_dinh, every member of the total is a member of exactly one of them (and no one
-- else is), its values add up to the total, and so do the counts of its members on both maps
-- (mart.locality_across_reform). `expected` is the total. Only the rows this refresh
-- recomputed (the periods from htx.refresh_from, less the indicators' rows it kept:
-- kept_indicator, htx.marts_incremental): period_map holds only those periods, and the others
-- were checked when they were computed.
WITH total AS (
    SELECT t.indicator_code, t.period_start, t.period_end, t.value, m.map_version,
           m.locality_level
    FROM mart.plan_indicator AS t
    JOIN core.ref_indicator AS c
      ON c.indicator_code = t.indicator_code AND 'locality' = ANY (c.breakdown_keys)
    JOIN period_map AS m USING (period_start, period_end)
    WHERE t.breakdown = '' AND t.period_end >= (SELECT current_setting('htx.refresh_from')::date)
      AND NOT EXISTS (SELECT FROM kept_indicator AS k
                      WHERE k.indicator_code = t.indicator_code AND t.period_end < k.kept_before)
), due AS (           -- every unit of the map in force, and khong_xac_dinh
    SELECT t.indicator_code, 'locality=' || u.unit_code AS breakdown, t.period_start,
           t.period_end
    FROM total AS t
    JOIN core.ref_admin_unit AS u ON u.map_version = t.map_version AND u.level = t.locality_level
    UNION ALL
    SELECT indicator_code, 'locality=khong_xac_dinh', period_start, period_end FROM total
), reported AS (
    SELECT indicator_code, breakdown, period_start, period_end, value
    FROM mart.plan_indicator AS v
    WHERE breakdown LIKE 'locality=%'
      AND period_end >= (SELECT current_setting('htx.refresh_from')::date)
      AND NOT EXISTS (SELECT FROM kept_indicator AS k
                      WHERE k.indicator_code = v.indicator_code AND v.period_end < k.kept_before)
), listed AS (
    SELECT indicator_code, breakdown, period_start, period_end, r.value,
           d.indicator_code IS NOT NULL AS is_due, r.indicator_code IS NOT NULL AS is_reported
    FROM due AS d
    FULL JOIN reported AS r USING (indicator_code, breakdown, period_start, period_end)
), placed AS (         -- each entity: in the total, and in how many localities
    -- The indicators and the first period end are values (subqueries run once), not a join and
    -- a per-row setting: the scan of the members filters them itself, through the BRIN index
    -- (summarized by members_written.sql), instead of sorting millions of rows to join three
    -- indicators or parsing the setting once per row. The members as they are stored: the
    -- member rows, and each registry entity (mart.registry_member_period) once in its type's
    -- total and, with a locality, once in its locality.
    SELECT indicator_code, period_start, period_end, entity_code,
           sum(in_total) AS in_total, sum(in_localities) AS in_localities
    FROM (
        SELECT m.indicator_code, m.period_start, m.period_end, m.entity_code,
               (m.breakdown = '')::int AS in_total,
               (m.breakdown LIKE 'locality=%')::int AS in_localities
        FROM mart.plan_indicator_member_rows AS m
        WHERE m.indicator_code = ANY (ARRAY(SELECT indicator_code FROM core.ref_indicator
                                            WHERE 'locality' = ANY (breakdown_keys)))
          AND (m.breakdown = '' OR m.breakdown LIKE 'locality=%')
          AND m.period_end >= (SELECT current_setting('htx.refresh_from')::date)
        UNION ALL
        SELECT i.total_code, r.period_start, r.period_end, r.entity_code, 1,
               (r.locality IS NOT NULL)::int
        FROM mart.registry_member_period AS r
        JOIN mart.registry_indicator AS i USING (entity_type)
        WHERE i.total_code = ANY (ARRAY(SELECT indicator_code FROM core.ref_indicator
                                        WHERE 'locality' = ANY (breakdown_keys)))
          AND r.period_end >= (SELECT current_setting('htx.refresh_from')::date)
    ) AS m
    GROUP BY indicator_code, period_start, period_end, entity_code
), misplaced AS (
    SELECT indicator_code, period_start, period_end, count(*) AS entities
    FROM placed AS p
    WHERE (in_total <> 1 OR in_localities <> 1)
      AND NOT EXISTS (SELECT FROM kept_indicator AS k   -- after grouping: a parallel scan
                      WHERE k.indicator_code = p.indicator_code AND p.period_end < k.kept_before)
    GROUP BY indicator_code, period_start, period_end
), added_up AS (
    SELECT t.indicator_code, t.period_start, t.period_end, t.value,
           (SELECT sum(r.value) FROM reported AS r
            WHERE r.indicator_code = t.indicator_code AND r.period_start = t.period_start
              AND r.period_end = t.period_end) AS breakdown_sum,
           (SELECT sum(a.entities) FROM mart.locality_across_reform AS a
            WHERE a.indicator_code = t.indicator_code AND a.period_start = t.period_start
              AND a.period_end = t.period_end) AS both_maps_sum
    FROM total AS t
)
SELECT CASE WHEN is_due THEN 'a unit of the map in force at the period end is not reported'
            ELSE 'a locality outside the map in force at the period end is reported' END
           AS reason,
       indicator_code, breakdown, period_start, period_end, value, NULL::numeric AS expected
FROM listed
WHERE NOT (is_due AND is_reported)
UNION ALL
SELECT 'members of the total not in exactly one locality, or of a locality not in the total',
       indicator_code, 'locality=*', period_start, period_end, entities, NULL
FROM misplaced
UNION ALL
SELECT 'the locality breakdown does not add up to the total', indicator_code, 'locality=*',
       period_start, period_end, breakdown_sum, value
FROM added_up
WHERE breakdown_sum IS DISTINCT FROM value
UNION ALL
SELECT 'the members on both maps do not add up to the total', indicator_code, '',
       period_start, period_end, coalesce(both_maps_sum, 0), value
FROM added_up
WHERE coalesce(both_maps_sum, 0) <> value
ORDER BY indicator_code, breakdown, period_end, period_start;
