-- Feed 2 in the database (htx.bulk), before the typed rows (tax_declarations.sql): every field is
-- converted once per distinct value, not once per row — most of the typing's speed. The COPYed
-- text rows (pg_temp.bulk_raw) give the distinct taxpayers (code, name) and filings
-- (form, period, date, revision); each is typed into a small temporary table, as
-- htx.feeds.tax_declarations.parse_fields types it (tests/test_bulk_equivalence.py holds the two
-- to the same result). A NULL field and an empty one convert alike, so keys are coalesced to ''.
-- Also: which blocks of 4,096 rows hold only plain amounts (`-?1.234.567`, `-?1234567`), which the
-- typed rows then convert with a cast, not a regular expression per field.
-- Parameters: m_<column>, the parser's failure message for each field it converts.

-- Two hash aggregates, one per kind of value (htx.bulk runs this with sorting disabled), not one
-- GROUPING SETS: PostgreSQL estimates a group per ten rows for keys of several columns and, when
-- that estimate outgrows the hash memory (from ≈ 10^7 rows), hashes only the filings and sorts
-- every row by taxpayer (≈ 1 GB of temporary files at 10^7 rows, 26 s against 12 s). The real
-- distinct values are tens of thousands; a hash aggregate holds them in work_mem ×
-- hash_mem_multiplier and spills to disk beyond it, so its memory stays bounded whatever the file.
CREATE TEMP TABLE bulk_distinct ON COMMIT DROP AS
SELECT true AS of_taxpayer, coalesce(tax_code, '') AS code_k, coalesce(taxpayer_name, '') AS name_k,
       NULL::text AS form_k, NULL::text AS period_k, NULL::text AS filed_k, NULL::text AS revision_k
FROM pg_temp.bulk_raw
GROUP BY 2, 3
UNION ALL
SELECT false, NULL, NULL, coalesce(form_code, ''), coalesce(period_raw, ''), coalesce(filed_on, ''),
       coalesce(revision, '')
FROM pg_temp.bulk_raw
GROUP BY 4, 5, 6, 7;

-- code_id numbers the typed tax codes (the declarations' key, with period_id, as small integers).
-- `unexpected` (in both tables of distinct values): the bits of the suite's rules over their
-- columns, which htx.bulk sets once per distinct value instead of once per row.
CREATE TEMP TABLE bulk_taxpayer ON COMMIT DROP AS
SELECT code_k, name_k, tax_code, parent_code, tax_code_check_digit_ok, taxpayer_name,
       dense_rank() OVER (ORDER BY tax_code) AS code_id, 0::bigint AS unexpected
FROM (SELECT code_k, name_k, tax_code,
             CASE WHEN shaped THEN left(tax_code, 10) END AS parent_code,
             CASE WHEN shaped THEN core.mst_is_valid(tax_code) END AS tax_code_check_digit_ok,
             staging.csv_single_spaced(staging.csv_text(name_k)) AS taxpayer_name
      FROM (SELECT code_k, name_k, tax_code, tax_code ~ '^[0-9]{10}(?:-[0-9]{3})?$' AS shaped
            FROM (SELECT code_k, name_k, staging.csv_text(code_k) AS tax_code
                  FROM pg_temp.bulk_distinct WHERE of_taxpayer) AS d) AS s) AS t;

-- period_id numbers (form, kind, first day); version_rank orders (Lần nộp, Ngày nộp): with the row
-- number, a declaration's versions in a file order by one bigint.
CREATE TEMP TABLE bulk_filing ON COMMIT DROP AS
SELECT *, dense_rank() OVER (ORDER BY form_code, period_kind, period_start) AS period_id,
       dense_rank() OVER (ORDER BY revision, filed_on) AS version_rank, 0::bigint AS unexpected,
       CASE WHEN period_kind IS NULL THEN NULL
            WHEN form_code = '01/GTGT' THEN period_kind IN ('month', 'quarter')
            WHEN form_code = '03/TNDN' THEN period_kind = 'year' END AS period_fits_form,
       -- conversion failures of these fields, in parse_fields' order (NULL: none)
       array_remove(ARRAY[
           CASE WHEN period_raw IS NOT NULL AND period_kind IS NULL THEN staging.failure(
               'period_raw', 'is_tax_period', period_raw, %(m_period_raw)s) END,
           CASE WHEN revision_text IS NOT NULL AND revision IS NULL THEN staging.failure(
               'revision', 'is_integer', revision_text, %(m_revision)s) END,
           CASE WHEN filed_text IS NOT NULL AND filed_on IS NULL THEN staging.failure(
               'filed_on', 'is_date', filed_text, %(m_filed_on)s) END], NULL) AS failures
FROM (
    SELECT form_k, period_k, filed_k, revision_k, upper(staging.csv_text(form_k)) AS form_code,
           period_raw, kind AS period_kind, first_day AS period_start,
           (first_day + CASE kind WHEN 'month' THEN interval '1 month'
                                  WHEN 'quarter' THEN interval '3 months'
                                  ELSE interval '1 year' END - interval '1 day')::date AS period_end,
           CASE WHEN revision_text ~ '^-?[0-9]+$' AND pg_input_is_valid(revision_text, 'integer')
                     AND revision_text::numeric <> -2147483648
                THEN revision_text::int END AS revision,
           -- dd/mm/yyyy (one- or two-digit day and month), a real calendar date
           CASE WHEN filed_text ~ '^[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}$'
                     AND split_part(filed_text, '/', 3)::int >= 1
                     AND pg_input_is_valid(concat_ws('-', split_part(filed_text, '/', 3),
                                                     split_part(filed_text, '/', 2),
                                                     split_part(filed_text, '/', 1)), 'date')
                THEN make_date(split_part(filed_text, '/', 3)::int,
                               split_part(filed_text, '/', 2)::int,
                               split_part(filed_text, '/', 1)::int)
           END AS filed_on,
           revision_text, filed_text
    FROM (  -- MM/YYYY, Qn/YYYY, YYYY with their first day
        SELECT *, CASE kind WHEN 'month' THEN make_date(year, part, 1)
                            WHEN 'quarter' THEN make_date(year, 3 * part - 2, 1)
                            WHEN 'year' THEN make_date(year, 1, 1) END AS first_day
        FROM (
            SELECT form_k, period_k, filed_k, revision_k, period_raw, revision_text, filed_text,
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
                        WHEN period_raw ~ '^([0-9]{1,2}|[Qq][1-4])/[0-9]{4}$'
                            THEN split_part(period_raw, '/', 2)::int
                   END AS year
            FROM (SELECT form_k, period_k, filed_k, revision_k,
                         staging.csv_text(period_k) AS period_raw,
                         staging.csv_text(revision_k) AS revision_text,
                         staging.csv_text(filed_k) AS filed_text
                  FROM pg_temp.bulk_distinct WHERE NOT of_taxpayer) AS d
        ) AS shapes
    ) AS starts
) AS typed;

-- Blocks with an amount a cast could misread: typed field by field (staging.vnd_integer).
CREATE TEMP TABLE bulk_unplain_block ON COMMIT DROP AS
SELECT source_row / 4096 AS block
FROM pg_temp.bulk_raw
GROUP BY 1
HAVING NOT coalesce(string_agg(concat(revenue_vnd || E'\n', profit_before_tax_vnd || E'\n',
                                      tax_payable_vnd || E'\n'), '')
                    ~ '^(?:-?(?:[0-9]{1,3}(?:\.[0-9]{3})+|[0-9]+)\n)*$', true);

ANALYZE pg_temp.bulk_taxpayer;
ANALYZE pg_temp.bulk_filing;
