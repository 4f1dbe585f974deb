-- The tax declarations the tax model (200_htx_tax.sql) counts, worked out once per refresh in
-- temporary tables:
--   tax_active — per period and cooperative of HTX_TOTAL (registry_as_of): its 01/GTGT
--                declarations whose tax period lies within the period, and their revenue;
--   tax_cit    — per period and cooperative of HTX_TOTAL: its 03/TNDN for the last full
--                calendar year that has ended by the end of the period, and its profit.
-- Declarations count in their latest version: core.tax_declaration_latest, the one place that
-- rule is written (rows the tax merge flags per batch: read once per form, never sorted). A
-- branch's declarations (NNNNNNNNNN-NNN) count for its parent; codes unknown to the registry,
-- and taxpayers not in HTX_TOTAL as of the period end, never count.

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
-- one per cooperative and period, a hash aggregate), then the sums are cumulated from January
-- (a window): the row of the latest period on or before P's end holds what P counts (it is P's
-- own row when the cooperative filed for it). A period thus costs one row per cooperative, not
-- one per declaration it counts (a December's would count the twelve months and four quarters
-- again), and nothing of the size of the declarations is sorted.
CREATE TEMPORARY TABLE tax_active ON COMMIT DROP AS
WITH month_period AS (   -- each month of the periods' years: the first period ending in or after it
    SELECT y.year_start, m.month_start::date AS month_start, min(p.period_end) AS period_end
    FROM (SELECT DISTINCT period_start AS year_start FROM mart.reporting_period) AS y
    CROSS JOIN generate_series(y.year_start, y.year_start + interval '11 months',
                               interval '1 month') AS m (month_start)
    JOIN mart.reporting_period AS p
      ON p.period_start = y.year_start AND p.period_end >= m.month_start
    GROUP BY 1, 2
), by_period AS MATERIALIZED (
    SELECT d.parent_code, m.year_start, m.period_end, sum(d.revenue_vnd) AS revenue_vnd
    FROM core.tax_declaration_latest AS d
    JOIN month_period AS m
      ON m.year_start = date_trunc('year', d.period_start)::date
     AND m.month_start = date_trunc('month', d.period_end)::date
    WHERE d.batch_id = ANY (ARRAY(SELECT batch_id FROM tax_batch_counted))
      AND d.form_code = '01/GTGT'
    GROUP BY 1, 2, 3
), year_to_date AS (
    SELECT parent_code, year_start, period_end,
           sum(revenue_vnd) OVER running AS revenue_vnd,
           coalesce(lead(period_end) OVER running, 'infinity') AS next_end
    FROM by_period
    WINDOW running AS (PARTITION BY parent_code, year_start ORDER BY period_end)
), in_period AS MATERIALIZED (   -- each period's row per cooperative, before the registry's
    SELECT p.period_start, p.period_end, p.months, v.parent_code, v.revenue_vnd
    FROM mart.reporting_period AS p
    JOIN year_to_date AS v
      ON v.year_start = p.period_start
     AND v.period_end <= p.period_end AND p.period_end < v.next_end
)
SELECT v.period_start, v.period_end, v.months, v.parent_code, v.revenue_vnd
FROM in_period AS v
JOIN registry_as_of AS o
  ON o.period_start = v.period_start AND o.period_end = v.period_end
 AND o.entity_code = v.parent_code
 AND o.entity_type = 'HTX' AND o.is_operating
ORDER BY v.period_end, v.period_start;   -- period by period (the members' BRIN index)

-- The filers' profit per year first (≈ one row per filer), then the registry's cooperatives of
-- each period among them: not every HTX of every period.
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
)
SELECT y.period_start, y.period_end, f.parent_code, f.profit_vnd
FROM profit_year AS y
JOIN filed AS f USING (year_start)
JOIN registry_as_of AS o
  ON o.period_start = y.period_start AND o.period_end = y.period_end
 AND o.entity_code = f.parent_code
 AND o.entity_type = 'HTX' AND o.is_operating
ORDER BY y.period_end, y.period_start;

ANALYZE tax_active;
ANALYZE tax_cit;
