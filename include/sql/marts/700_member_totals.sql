-- What the members of each indicator × breakdown × period add up to, taken once every model has
-- written its members, and the aggregate mart.indicator_aggregation declares for it: the number
-- of members (count), the sum of their contributions (sum), their mean, or their mean weighted
-- by `weight` (weighted_mean). The values are derived from it (800_values_from_members.sql), and
-- the refresh's check (checks/values_are_aggregates_of_members.sql) holds the final values
-- against it. One pass over the members this refresh recomputes (all, or those of the models
-- and periods the changes since the last refresh reach: htx.marts_incremental; the others are
-- kept, kept_indicator), read in parallel, whatever their number; the refresh has summarized
-- and analyzed them before (include/sql/marts/upkeep/members_written.sql). The members are read
-- where they are stored, not through mart.plan_indicator_members: the member rows, and the
-- registry's operating entities (mart.registry_member_period, migration 0190), each row of which
-- is a member of up to five groups (mart.registry_indicator): one grouping of them gives the
-- totals, capital and members of each type ((), the figures counted alongside), its localities
-- and its sectors.

CREATE TEMPORARY TABLE member_totals ON COMMIT DROP AS
WITH grouped AS (
    SELECT indicator_code, breakdown, period_start, period_end,
           count(*)                    AS members,
           sum(contribution)           AS total,
           sum(contribution * weight)  AS weighted_total,
           sum(weight)                 AS weights,
           count(weight)               AS weighted,
           min(weight)                 AS least_weight
    FROM mart.plan_indicator_member_rows
    -- the periods recomputed; the bound read once (a subquery), not once per member row: the
    -- setting's lookup and date parse cost ≈ 1.8 s over 6.9 million rows
    WHERE period_end >= (SELECT current_setting('htx.refresh_from')::date)
    GROUP BY indicator_code, breakdown, period_start, period_end
), registry_grouped AS (
    SELECT period_start, period_end, entity_type, locality, sector,
           grouping(locality, sector) AS grouped_out,   -- 3: (), 1: locality, 2: sector
           count(*)                           AS entities,
           count(charter_capital_trieu_dong)  AS with_capital,
           sum(charter_capital_trieu_dong)    AS capital,
           count(members)                     AS with_members,
           sum(members)                       AS members_sum
    FROM mart.registry_member_period
    WHERE period_end >= (SELECT current_setting('htx.refresh_from')::date)
    GROUP BY period_start, period_end, entity_type, GROUPING SETS ((), (locality), (sector))
), registry_group AS (   -- as the member rows of these groups would give them (no weights)
    SELECT k.indicator_code, k.breakdown, g.period_start, g.period_end, k.members, k.total,
           NULL::numeric AS weighted_total, NULL::numeric AS weights, 0::bigint AS weighted,
           NULL::numeric AS least_weight
    FROM registry_grouped AS g
    JOIN mart.registry_indicator AS i USING (entity_type)
    CROSS JOIN LATERAL (VALUES
        (g.grouped_out = 3, i.total_code, '', g.entities, g.entities::numeric),
        (g.grouped_out = 3 AND g.with_capital > 0, i.capital_code, '', g.with_capital, g.capital),
        (g.grouped_out = 3 AND g.with_members > 0, i.members_code, '', g.with_members,
         g.members_sum),
        (g.grouped_out = 1 AND g.locality IS NOT NULL, i.total_code, 'locality=' || g.locality,
         g.entities, g.entities::numeric),
        (g.grouped_out = 2 AND g.sector IS NOT NULL, i.sector_code, 'sector=' || g.sector,
         g.entities, g.entities::numeric)
    ) AS k (listed, indicator_code, breakdown, members, total)
    WHERE k.listed AND k.indicator_code IS NOT NULL
), member_group AS (   -- a group with members in both (none a model writes): added up
    SELECT indicator_code, breakdown, period_start, period_end,
           sum(members)::bigint AS members, sum(total) AS total,
           sum(weighted_total) AS weighted_total, sum(weights) AS weights,
           sum(weighted)::bigint AS weighted, min(least_weight) AS least_weight
    FROM (SELECT * FROM grouped UNION ALL SELECT * FROM registry_group) AS both_stores
    GROUP BY indicator_code, breakdown, period_start, period_end
)
SELECT g.*,
       CASE a.aggregation
           WHEN 'count' THEN g.members
           WHEN 'sum' THEN g.total
           WHEN 'mean' THEN g.total / g.members
           WHEN 'weighted_mean' THEN g.weighted_total / nullif(g.weights, 0)
       END AS aggregate
FROM member_group AS g
LEFT JOIN mart.indicator_aggregation AS a USING (indicator_code)
-- the groups recomputed: not kept (after grouping: the members' scan stays parallel, which a
-- temporary table in it would prevent)
WHERE NOT EXISTS (SELECT FROM kept_indicator AS k
                  WHERE k.indicator_code = g.indicator_code AND g.period_end < k.kept_before);
