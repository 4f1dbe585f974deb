-- Grain: one row per reporting period (always 1 January → a month end; the December one is the
-- full year). Which periods a plan needs, bounded so the refresh does not grow with history:
--   * the latest two years with data — the plan year and the year before, for "cùng kỳ"
--     (same period last year) comparisons: every year-to-date period, 1 January → each month end
--     up to the month of the latest data;
--   * each earlier year inside the window: its full year only (1 January → 31 December);
--   * the window is the `htx.reporting_years` years ending with the latest year with data
--     (environment variable HTX_REPORTING_YEARS, read by htx.marts and set for this transaction;
--     default 10, at least 2); no period starts before the earliest year with data.
-- National data registered since 1997 and reaching December 2024 gives 12 + 12 + 8 = 32 periods
-- (2015–2022 full years, 2023 and 2024 month by month), not the 336 of every month since 1997.
-- "Latest data" is the newest business date a core table holds (registry changes in Vietnam's
-- time zone, tax filing dates, lending report dates, credit-fund quarter ends). Annual reports
-- carry only a year, which says nothing about the months the data reaches.
DELETE FROM mart.reporting_period;

-- The business dates the data reach (also read by 001_year_end_estimate_basis.sql).
CREATE TEMPORARY TABLE data_span ON COMMIT DROP AS
SELECT min(first_day) AS first_day, max(last_day) AS last_day
FROM (
    SELECT min(registered_on) AS first_day,
           max((updated_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date) AS last_day
    FROM core.registration_state
    UNION ALL
    SELECT min(filed_from), max(filed_to)   -- kept per batch (migration 0120), not read per row
    FROM core.tax_declaration_batch AS b
    CROSS JOIN LATERAL (SELECT FROM core.tax_declaration AS d    -- a batch core holds: one row
                        WHERE d.batch_id = b.batch_id LIMIT 1) AS held   -- of its partition
    UNION ALL
    SELECT min(report_date), max(report_date) FROM core.lending_contract
    UNION ALL
    SELECT min(period_end), max(period_end) FROM core.credit_fund_report
) AS per_source;

WITH bounds AS (
    SELECT last_day,
           extract(year FROM last_day)::int AS last_year,
           greatest(extract(year FROM first_day)::int,
                    extract(year FROM last_day)::int
                        - current_setting('htx.reporting_years')::int + 1) AS first_year
    FROM data_span
), months AS (
    SELECT make_date(year, month, 1) AS month_start, year, month
    FROM bounds,
         generate_series(first_year, last_year) AS year,
         generate_series(1, 12) AS month
    WHERE make_date(year, month, 1) <= last_day
      AND (year >= last_year - 1 OR month = 12)   -- earlier years: the full year only
)
INSERT INTO mart.reporting_period (period_start, period_end, months)
SELECT make_date(year, 1, 1), (month_start + interval '1 month - 1 day')::date, month
FROM months;
