-- Feed 2 in the database (htx.bulk): the COPYed text rows of one tax file (pg_temp.bulk_raw, one
-- text column per contract column, source_row = the spreadsheet row, header = 1) → typed rows,
-- the suite's derived checks and the parse failures (a SELECT: htx.bulk adds the suite's verdict). It reads every field
-- exactly as htx.feeds.tax_declarations.parse_fields does; tests/test_bulk_equivalence.py holds
-- the two to the same result. Low-cardinality fields (periods, dates, revisions, tax codes) are
-- converted once per distinct value, not once per row: most of this statement's speed. The
-- OFFSET 0 fences keep PostgreSQL from copying a conversion into every expression that uses it.
-- Parameters: m_<column>, the parser's failure message for each field it converts.
WITH codes AS (
    SELECT raw, tax_code,
           CASE WHEN shaped THEN left(tax_code, 10) END AS parent_code,
           CASE WHEN shaped THEN core.mst_is_valid(tax_code) END AS check_digit_ok
    FROM (SELECT raw, tax_code, tax_code ~ '^[0-9]{10}(?:-[0-9]{3})?$' AS shaped
          FROM (SELECT tax_code AS raw, staging.csv_text(tax_code) AS tax_code
                FROM pg_temp.bulk_raw GROUP BY tax_code) AS distinct_codes) AS shapes
),
names AS (
    SELECT taxpayer_name AS raw, staging.csv_single_spaced(staging.csv_text(taxpayer_name)) AS name
    FROM pg_temp.bulk_raw GROUP BY taxpayer_name
),
forms AS (
    SELECT form_code AS raw, upper(staging.csv_text(form_code)) AS form_code
    FROM pg_temp.bulk_raw GROUP BY form_code
),
periods AS (  -- MM/YYYY, Qn/YYYY, YYYY with their first and last day
    SELECT raw, period_raw, kind, first_day,
           (first_day + CASE kind WHEN 'month' THEN interval '1 month'
                                  WHEN 'quarter' THEN interval '3 months'
                                  ELSE interval '1 year' END - interval '1 day')::date AS last_day
    FROM (
        SELECT raw, period_raw, kind,
               CASE kind WHEN 'month' THEN make_date(year, part, 1)
                         WHEN 'quarter' THEN make_date(year, 3 * part - 2, 1)
                         WHEN 'year' THEN make_date(year, 1, 1) END AS first_day
        FROM (
            SELECT raw, period_raw,
                   CASE WHEN period_raw ~ '^[0-9]{1,2}/[0-9]{4}$'
                             AND split_part(period_raw, '/', 1)::int BETWEEN 1 AND 12
                             AND split_part(period_raw, '/', 2)::int >= 1 THEN 'month'
                        WHEN period_raw ~ '^[Qq][1-4]/[0-9]{4}$'
                             AND split_part(period_raw, '/', 2)::int >= 1 THEN 'quarter'
                        WHEN period_raw ~ '^[0-9]{4}$' AND period_raw::int >= 1 THEN 'year'
                   END AS kind,
                   CASE WHEN period_raw ~ '^[0-9]{1,2}/[0-9]{4}$' THEN split_part(period_raw, '/', 1)::int
                        WHEN period_raw ~ '^[Qq][1-4]/[0-9]{4}$' THEN substr(period_raw, 2, 1)::int
                   END AS part,
                   CASE WHEN period_raw ~ '^[0-9]{4}$' THEN period_raw::int
                        WHEN period_raw ~ '^([0-9]{1,2}|[Qq][1-4])/[0-9]{4}$' THEN split_part(period_raw, '/', 2)::int
                   END AS year
            FROM (SELECT period_raw AS raw, staging.csv_text(period_raw) AS period_raw
                  FROM pg_temp.bulk_raw GROUP BY period_raw) AS distinct_periods
        ) AS shapes
    ) AS starts
),
dates AS (  -- dd/mm/yyyy (one- or two-digit day and month), a real calendar date
    SELECT raw, filed_on,
           CASE WHEN filed_on ~ '^[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}$'
                     AND split_part(filed_on, '/', 3)::int >= 1
                     AND pg_input_is_valid(concat_ws('-', split_part(filed_on, '/', 3),
                                                     split_part(filed_on, '/', 2),
                                                     split_part(filed_on, '/', 1)), 'date')
                THEN make_date(split_part(filed_on, '/', 3)::int, split_part(filed_on, '/', 2)::int,
                               split_part(filed_on, '/', 1)::int)
           END AS filed_date
    FROM (SELECT filed_on AS raw, staging.csv_text(filed_on) AS filed_on
          FROM pg_temp.bulk_raw GROUP BY filed_on) AS distinct_dates
),
revisions AS (  -- a whole number that fits an integer
    SELECT raw, revision,
           CASE WHEN revision ~ '^-?[0-9]+$' AND pg_input_is_valid(revision, 'integer')
                     AND revision::numeric <> -2147483648
                THEN revision::int END AS revision_number
    FROM (SELECT revision AS raw, staging.csv_text(revision) AS revision
          FROM pg_temp.bulk_raw GROUP BY revision) AS distinct_revisions
),
typed AS (
    SELECT r.source_row, c.tax_code, c.parent_code, n.name AS taxpayer_name, f.form_code,
           p.period_raw, p.kind AS period_kind, p.first_day AS period_start,
           p.last_day AS period_end, v.revision_number AS revision, d.filed_date AS filed_on,
           staging.vnd_integer(r.revenue_vnd) AS revenue_vnd,
           staging.vnd_integer(r.profit_before_tax_vnd) AS profit_before_tax_vnd,
           staging.vnd_integer(r.tax_payable_vnd) AS tax_payable_vnd,
           c.check_digit_ok,
           -- the texts as delivered, for failure messages and empty rows
           v.revision AS revision_text, d.filed_on AS filed_text,
           r.revenue_vnd AS revenue_raw, r.profit_before_tax_vnd AS profit_raw,
           r.tax_payable_vnd AS payable_raw
    FROM pg_temp.bulk_raw AS r
    LEFT JOIN codes AS c ON c.raw = r.tax_code
    LEFT JOIN names AS n ON n.raw = r.taxpayer_name
    LEFT JOIN forms AS f ON f.raw = r.form_code
    LEFT JOIN periods AS p ON p.raw = r.period_raw
    LEFT JOIN dates AS d ON d.raw = r.filed_on
    LEFT JOIN revisions AS v ON v.raw = r.revision
    OFFSET 0  -- a fence: each conversion runs once a row, not once per later reference
),
failed AS (  -- which conversions failed: a text was there and did not convert
    SELECT typed.*,
           period_raw IS NOT NULL AND period_kind IS NULL AS period_failed,
           revision_text IS NOT NULL AND revision IS NULL AS revision_failed,
           filed_text IS NOT NULL AND filed_on IS NULL AS filed_failed,
           revenue_vnd IS NULL AND staging.csv_text(revenue_raw) IS NOT NULL AS revenue_failed,
           profit_before_tax_vnd IS NULL AND staging.csv_text(profit_raw) IS NOT NULL AS profit_failed,
           tax_payable_vnd IS NULL AND staging.csv_text(payable_raw) IS NOT NULL AS payable_failed
    FROM typed
    -- all-empty rows (;;;;;;;;) are skipped, as blank lines are
    WHERE num_nonnulls(tax_code, taxpayer_name, form_code, period_raw, revision_text, filed_text,
                       revenue_vnd, profit_before_tax_vnd, tax_payable_vnd) > 0
       OR num_nonnulls(staging.csv_text(revenue_raw), staging.csv_text(profit_raw),
                       staging.csv_text(payable_raw)) > 0
    OFFSET 0
)
SELECT source_row, tax_code, parent_code, taxpayer_name, form_code, period_raw, period_kind,
       period_start, period_end, revision, filed_on, revenue_vnd, profit_before_tax_vnd,
       tax_payable_vnd,
       -- the suite's derived checks (NULL = not applicable), as parse_fields derives them
       check_digit_ok AS tax_code_check_digit_ok,
       CASE WHEN period_kind IS NULL THEN NULL
            WHEN form_code = '01/GTGT' THEN period_kind IN ('month', 'quarter')
            WHEN form_code = '03/TNDN' THEN period_kind = 'year' END AS period_fits_form,
       CASE WHEN form_code = '01/GTGT' THEN revenue_vnd IS NOT NULL END AS revenue_present_on_vat,
       CASE WHEN form_code = '03/TNDN' THEN profit_before_tax_vnd IS NOT NULL END AS profit_present_on_cit,
       CASE WHEN form_code = '01/GTGT' THEN profit_before_tax_vnd IS NULL END AS profit_absent_on_vat,
       -- conversion failures, in parse_fields' order; NULL when the row converted
       CASE WHEN period_failed OR revision_failed OR filed_failed OR revenue_failed
              OR profit_failed OR payable_failed
            THEN to_jsonb(array_remove(ARRAY[
                CASE WHEN period_failed THEN staging.failure(
                    'period_raw', 'is_tax_period', period_raw, %(m_period_raw)s) END,
                CASE WHEN revision_failed THEN staging.failure(
                    'revision', 'is_integer', revision_text, %(m_revision)s) END,
                CASE WHEN filed_failed THEN staging.failure(
                    'filed_on', 'is_date', filed_text, %(m_filed_on)s) END,
                CASE WHEN revenue_failed THEN staging.failure(
                    'revenue_vnd', 'is_vnd_integer', staging.csv_text(revenue_raw), %(m_revenue_vnd)s) END,
                CASE WHEN profit_failed THEN staging.failure(
                    'profit_before_tax_vnd', 'is_vnd_integer', staging.csv_text(profit_raw),
                    %(m_profit_before_tax_vnd)s) END,
                CASE WHEN payable_failed THEN staging.failure(
                    'tax_payable_vnd', 'is_vnd_integer', staging.csv_text(payable_raw),
                    %(m_tax_payable_vnd)s) END
            ], NULL)) END AS parse_failures
FROM failed
