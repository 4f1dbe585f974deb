-- The tax declarations the tax model (200_htx_tax.sql) counts, worked out once per refresh in
-- temporary tables:
--   tax_active — per period and cooperative of HTX_TOTAL (registry_as_of): its 01/GTGT
--                declarations whose tax period lies within the period, and their revenue;
--   tax_cit    — per period and cooperative of HTX_TOTAL: its 03/TNDN for the last full
--                calendar year that has ended by the end of the period, and its profit.
-- Declarations count in their latest version: core.tax_declaration_latest, the one place that
-- rule is written (rows the tax merge flags per batch, read once per form). A branch's
-- declarations (NNNNNNNNNN-NNN) count for its parent; codes unknown to the registry, and
-- taxpayers not in HTX_TOTAL as of the period end, never count.

-- The batches whose declarations can count in the periods this refresh computes (a refresh after
-- feed runs: the latest ones only): a 01/GTGT counts in the periods of its tax period's year, a
-- 03/TNDN in those of the year after, so a batch whose tax periods all start before the year
-- before the earliest period's is left unread (core.tax_declaration_batch, which holds every
-- batch core holds: migration 0120, then every merge). Read with `= ANY` so that only their
-- partitions are scanned.
CREATE TEMPORARY TABLE tax_batch_counted ON COMMIT DROP AS
SELECT batch_id
FROM core.tax_declaration_batch
WHERE periods_to >= (SELECT date_trunc('year', min(period_end)) - interval '1 year'
                     FROM mart.reporting_period);

-- Every reporting period starts on 1 January (periods/reporting_period.sql), so a tax period lies
-- within P exactly when it starts in P's year and ends by P's end. Each declaration is summed
-- into the first period of its year this refresh computes that it lies within (month_period:
-- one row per cooperative and period), and the sums are cumulated from January (a window over
-- the same order, so the declarations are sorted once): the row of the latest period on or
-- before P's end holds what P counts — P's own row when the cooperative filed for it; `span`
-- lists the periods each row holds for. A period thus costs one row per cooperative, not one per
-- declaration it counts (a December's would count the twelve months and four quarters again).
--   * A tax period ends on a month's last day (htx.feeds.tax_declarations,
--     include/sql/bulk/tax_declarations_values.sql): declarations are matched on their stored
--     period_end, not on date_trunc of each one (a time-zone conversion per row, and an estimate
--     the planner cannot make).
--   * Codes are sorted by their bytes (COLLATE "C": the same groups, at half the cost of the
--     database's collation); the column keeps the database's.
--   * The registry's cooperatives are matched by their operating spans (htx_operating_span,
--     010_registry_as_of.sql): a hash of their states, not of every HTX of every period.
--   * Written period by period (the members' BRIN index): period_end names the period.
CREATE TEMPORARY TABLE tax_active ON COMMIT DROP AS
WITH month_period AS (   -- each month end of the periods' years, and the first period holding it
    SELECT y.year_start, m.month_end, min(p.period_end) AS period_end
    FROM (SELECT DISTINCT period_start AS year_start FROM mart.reporting_period) AS y
    CROSS JOIN LATERAL (SELECT (y.year_start + make_interval(months => n))::date - 1
                        FROM generate_series(1, 12) AS n) AS m (month_end)
    JOIN mart.reporting_period AS p
      ON p.period_start = y.year_start AND p.period_end >= m.month_end
    GROUP BY 1, 2
), year_to_date AS (
    SELECT (d.parent_code COLLATE "C") COLLATE "default" AS parent_code, m.period_end,
           sum(sum(d.revenue_vnd)) OVER running AS revenue_vnd,
           coalesce(lead(m.period_end) OVER running, 'infinity') AS next_end
    FROM core.tax_declaration_latest AS d
    JOIN month_period AS m
      ON m.month_end = d.period_end AND d.period_start >= m.year_start
    WHERE d.batch_id = ANY (ARRAY(SELECT batch_id FROM tax_batch_counted))
      AND d.form_code = '01/GTGT'
    GROUP BY d.parent_code COLLATE "C", m.year_start, m.period_end
    WINDOW running AS (PARTITION BY d.parent_code COLLATE "C", m.year_start ORDER BY m.period_end)
), span AS MATERIALIZED (   -- per period end of a year and later one (or none): the periods between
    SELECT b.period_end AS from_end, n.period_end AS next_end,
           p.period_start, p.period_end, p.months
    FROM mart.reporting_period AS b
    JOIN (SELECT period_start, period_end FROM mart.reporting_period
          UNION ALL
          SELECT DISTINCT period_start, 'infinity'::date FROM mart.reporting_period) AS n
      ON n.period_start = b.period_start AND n.period_end > b.period_end
    JOIN mart.reporting_period AS p
      ON p.period_start = b.period_start
     AND p.period_end >= b.period_end AND p.period_end < n.period_end
), operating AS MATERIALIZED (   -- hashed, not looked up by index row by row
    SELECT * FROM htx_operating_span
)
SELECT s.period_start, s.period_end, s.months, v.parent_code, v.revenue_vnd
FROM year_to_date AS v
JOIN span AS s ON s.from_end = v.period_end AND s.next_end = v.next_end
JOIN operating AS o
  ON o.entity_code = v.parent_code
 AND o.operating_from <= s.period_end AND (o.valid_to IS NULL OR o.valid_to > s.period_end)
ORDER BY s.period_end;

-- The filers' profit per year first (≈ one row per filer), then the registry's cooperatives of
-- each period among them (their operating spans, as above): not every HTX of every period.
CREATE TEMPORARY TABLE tax_cit ON COMMIT DROP AS
WITH profit_year AS (    -- the last full calendar year that has ended by the end of P
    SELECT period_start, period_end,
           make_date(extract(year FROM period_end + 1)::int - 1, 1, 1) AS year_start
    FROM mart.reporting_period
), filed AS MATERIALIZED (
    SELECT d.period_start AS year_start, d.parent_code, sum(d.profit_before_tax_vnd) AS profit_vnd
    FROM core.tax_declaration_latest AS d
    WHERE d.batch_id = ANY (ARRAY(SELECT batch_id FROM tax_batch_counted))
      AND d.form_code = '03/TNDN'
      AND d.period_kind = 'year'
      AND d.period_start IN (SELECT year_start FROM profit_year)
    GROUP BY 1, 2
), operating AS MATERIALIZED (
    SELECT * FROM htx_operating_span
)
SELECT y.period_start, y.period_end, f.parent_code, f.profit_vnd
FROM profit_year AS y
JOIN filed AS f USING (year_start)
JOIN operating AS o
  ON o.entity_code = f.parent_code
 AND o.operating_from <= y.period_end AND (o.valid_to IS NULL OR o.valid_to > y.period_end)
ORDER BY y.period_end;

-- The tax model's anti-join (200_htx_tax.sql) hashes tax_active, and so keeps the registry's
-- period order, only when the planner knows the codes' spread; no other statistic is read
-- (tax_cit is only copied), and a full ANALYZE of both took 0.2 s (after a monthly file) to
-- 0.5 s (a full refresh) at 10⁶ declarations.
ANALYZE tax_active (parent_code);
