-- Feed 2 in the database (htx.bulk): the COPYed text rows of one tax file (pg_temp.bulk_raw, one
-- text column per contract column, source_row = the spreadsheet row, header = 1) → typed rows,
-- the suite's derived checks and the parse failures (a SELECT: htx.bulk adds the suite's verdict).
-- Each row takes its taxpayer's and its filing's conversions from the tables of distinct values
-- (tax_declarations_values.sql: two hash joins) and converts its three amounts, with a cast in
-- blocks of plain amounts. It reads every field exactly as htx.feeds.tax_declarations.parse_fields
-- does; tests/test_bulk_equivalence.py holds the two to the same result. The OFFSET 0 fence keeps
-- PostgreSQL from copying a conversion into every expression that uses it.
-- Also, for the staging (tax_declarations_stage.sql): key_id, one bigint per declaration (tax
-- code; form, tax period), numbered densely: below 2^32 for any real file, where PostgreSQL's
-- bigint hash is as good as an integer's (`code_id << 31 | period_id` hashed to the few values
-- the XOR of its halves takes, which stalls a hash aggregate); version, one per row, larger for
-- a later version in the file;
-- for htx.bulk, distinct_unexpected: the verdict of the rules over the taxpayer's and the
-- filing's columns, which it took from their tables of distinct values.
-- Parameters: m_<column>, the parser's failure message for each field it converts.
WITH typed AS (
    SELECT r.source_row, t.tax_code, t.parent_code, t.taxpayer_name, f.form_code, f.period_raw,
           f.period_kind, f.period_start, f.period_end, f.revision, f.filed_on,
           CASE WHEN r.revenue_vnd IS NULL THEN NULL
                WHEN r.plain AND octet_length(r.revenue_vnd) < 19
                    THEN replace(r.revenue_vnd, '.', '')::bigint
                ELSE staging.vnd_integer(r.revenue_vnd) END AS revenue_vnd,
           CASE WHEN r.profit_before_tax_vnd IS NULL THEN NULL
                WHEN r.plain AND octet_length(r.profit_before_tax_vnd) < 19
                    THEN replace(r.profit_before_tax_vnd, '.', '')::bigint
                ELSE staging.vnd_integer(r.profit_before_tax_vnd) END AS profit_before_tax_vnd,
           CASE WHEN r.tax_payable_vnd IS NULL THEN NULL
                WHEN r.plain AND octet_length(r.tax_payable_vnd) < 19
                    THEN replace(r.tax_payable_vnd, '.', '')::bigint
                ELSE staging.vnd_integer(r.tax_payable_vnd) END AS tax_payable_vnd,
           t.tax_code_check_digit_ok, f.period_fits_form, f.failures AS filing_failures,
           (t.code_id - 1)::bigint * (SELECT max(period_id) FROM pg_temp.bulk_filing)
               + f.period_id AS key_id,
           f.version_rank::bigint << 31 | r.source_row AS version,
           t.unexpected | f.unexpected AS distinct_unexpected,
           -- the amounts as delivered, for failure messages and empty rows
           r.revenue_vnd AS revenue_raw, r.profit_before_tax_vnd AS profit_raw,
           r.tax_payable_vnd AS payable_raw,
           num_nonnulls(t.tax_code, t.taxpayer_name, f.form_code, f.period_raw, f.revision_text,
                        f.filed_text) > 0 AS has_text
    FROM (SELECT r.*, r.source_row / 4096 <> ALL(ARRAY(SELECT block FROM pg_temp.bulk_unplain_block))
                      AS plain
          FROM pg_temp.bulk_raw AS r) AS r
    JOIN pg_temp.bulk_taxpayer AS t
      ON t.code_k = coalesce(r.tax_code, '') AND t.name_k = coalesce(r.taxpayer_name, '')
    JOIN pg_temp.bulk_filing AS f
      ON f.form_k = coalesce(r.form_code, '') AND f.period_k = coalesce(r.period_raw, '')
     AND f.filed_k = coalesce(r.filed_on, '') AND f.revision_k = coalesce(r.revision, '')
    OFFSET 0  -- a fence: each conversion runs once a row, not once per later reference
),
failed AS (  -- which amounts failed: a text was there and did not convert
    SELECT typed.*,
           revenue_vnd IS NULL AND staging.csv_text(revenue_raw) IS NOT NULL AS revenue_failed,
           profit_before_tax_vnd IS NULL AND staging.csv_text(profit_raw) IS NOT NULL AS profit_failed,
           tax_payable_vnd IS NULL AND staging.csv_text(payable_raw) IS NOT NULL AS payable_failed
    FROM typed
    -- all-empty rows (;;;;;;;;) are skipped, as blank lines are
    WHERE has_text OR revenue_vnd IS NOT NULL OR profit_before_tax_vnd IS NOT NULL
       OR tax_payable_vnd IS NOT NULL
       OR num_nonnulls(staging.csv_text(revenue_raw), staging.csv_text(profit_raw),
                       staging.csv_text(payable_raw)) > 0
    OFFSET 0
)
SELECT source_row, tax_code, parent_code, taxpayer_name, form_code, period_raw, period_kind,
       period_start, period_end, revision, filed_on, revenue_vnd, profit_before_tax_vnd,
       tax_payable_vnd, tax_code_check_digit_ok, period_fits_form,
       -- the suite's derived checks (NULL = not applicable), as parse_fields derives them
       CASE WHEN form_code = '01/GTGT' THEN revenue_vnd IS NOT NULL END AS revenue_present_on_vat,
       CASE WHEN form_code = '03/TNDN' THEN profit_before_tax_vnd IS NOT NULL END AS profit_present_on_cit,
       CASE WHEN form_code = '01/GTGT' THEN profit_before_tax_vnd IS NULL END AS profit_absent_on_vat,
       -- conversion failures, in parse_fields' order; NULL when the row converted
       CASE WHEN cardinality(filing_failures) > 0 OR revenue_failed OR profit_failed
              OR payable_failed
            THEN to_jsonb(filing_failures || array_remove(ARRAY[
                CASE WHEN revenue_failed THEN staging.failure(
                    'revenue_vnd', 'is_vnd_integer', staging.csv_text(revenue_raw), %(m_revenue_vnd)s) END,
                CASE WHEN profit_failed THEN staging.failure(
                    'profit_before_tax_vnd', 'is_vnd_integer', staging.csv_text(profit_raw),
                    %(m_profit_before_tax_vnd)s) END,
                CASE WHEN payable_failed THEN staging.failure(
                    'tax_payable_vnd', 'is_vnd_integer', staging.csv_text(payable_raw),
                    %(m_tax_payable_vnd)s) END
            ], NULL)) END AS parse_failures,
       key_id, version, distinct_unexpected
FROM failed
