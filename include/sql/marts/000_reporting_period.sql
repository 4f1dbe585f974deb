-- Grain: one row per reporting period. Every year-to-date period (1 January → each month end up
-- to the month of the latest data) of every year with data; the December one is the full year.
-- "Latest data" is the newest business date a core table holds (registry changes in Vietnam's
-- time zone, tax filing dates, lending report dates, credit-fund quarter ends). Annual reports
-- carry only a year, which says nothing about the months the data reaches.
DELETE FROM mart.reporting_period;

WITH data_dates AS (
    SELECT min(first_day) AS first_day, max(last_day) AS last_day
    FROM (
        SELECT min(registered_on) AS first_day,
               max((updated_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date) AS last_day
        FROM core.registration_state
        UNION ALL
        SELECT min(filed_on), max(filed_on) FROM core.tax_declaration
        UNION ALL
        SELECT min(report_date), max(report_date) FROM core.lending_contract
        UNION ALL
        SELECT min(period_end), max(period_end) FROM core.credit_fund_report
    ) AS per_source
), months AS (
    SELECT make_date(year, month, 1) AS month_start, year, month
    FROM data_dates,
         generate_series(extract(year FROM first_day)::int, extract(year FROM last_day)::int) AS year,
         generate_series(1, 12) AS month
    WHERE make_date(year, month, 1) <= last_day
)
INSERT INTO mart.reporting_period (period_start, period_end, months)
SELECT make_date(year, 1, 1), (month_start + interval '1 month - 1 day')::date, month
FROM months;
