-- In-database ingest of large CSV deliveries (htx.bulk, issue 7): PostgreSQL COPYs the landed file
-- as text and these functions give its fields exactly the meaning the Python parsers give them,
-- so a file reads the same whichever path loads it (tests/test_bulk_equivalence.py proves it).

-- A delivered CSV field as the parsers read it: NFC, surrounding whitespace removed (Python's
-- str.strip() set: Unicode spaces included), empty → NULL. ASCII needs no normalisation, and
-- skipping normalize() for it is most of this function's speed.
CREATE FUNCTION staging.csv_text(field text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN nullif(btrim(CASE WHEN octet_length(field) = char_length(field) THEN field
                         ELSE normalize(field, NFC) END,
                    U&' \0009\000A\000B\000C\000D\001C\001D\001E\001F\0085\00A0\1680\2000\2001\2002\2003\2004\2005\2006\2007\2008\2009\200A\2028\2029\202F\205F\3000'),
              '');

-- Inner whitespace runs → one space (Python's " ".join(text.split())), for names.
CREATE FUNCTION staging.csv_single_spaced(field text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE
    WHEN field IS NULL THEN NULL
    WHEN field ~ U&'[\0009\000A\000B\000C\000D\001C\001D\001E\001F\0085\00A0\1680\2000-\200A\2028\2029\202F\205F\3000]| {2}'
        THEN regexp_replace(field, U&'[ \0009\000A\000B\000C\000D\001C\001D\001E\001F\0085\00A0\1680\2000-\200A\2028\2029\202F\205F\3000]+', ' ', 'g')
    ELSE field END;

-- A VND integer in Vietnamese format (`1.234.567`, `-5.000`, or plain digits) → bigint; NULL
-- when the text is not one (the caller records the failure) or does not fit a bigint. The field
-- comes as delivered: the common case (no surrounding spaces) costs one regex, the rest is
-- cleaned first (staging.csv_text).
CREATE FUNCTION staging.vnd_digits_to_bigint(digits text) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN octet_length(digits) < 19
                 OR digits::numeric BETWEEN -9223372036854775807 AND 9223372036854775807
            THEN digits::bigint END;

CREATE FUNCTION staging.vnd_integer(field text) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE
    WHEN field ~ '^-?(?:[0-9]{1,3}(?:\.[0-9]{3})+|[0-9]+)$'
        THEN staging.vnd_digits_to_bigint(replace(field, '.', ''))
    WHEN field IS NULL THEN NULL
    WHEN staging.csv_text(field) ~ '^-?(?:[0-9]{1,3}(?:\.[0-9]{3})+|[0-9]+)$'
        THEN staging.vnd_digits_to_bigint(replace(staging.csv_text(field), '.', ''))
    END;

-- python-stdnum's vn.mst.is_valid for a code already shaped NNNNNNNNNN or NNNNNNNNNN-NNN:
-- digits 3–9 not all zero, branch not 000, and the check digit 10 − (Σ wᵢ·dᵢ mod 11) (a
-- remainder of 0 gives "10", which no digit equals).
CREATE FUNCTION core.mst_is_valid(code text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN substr(code, 3, 7) <> '0000000'
   AND (length(code) = 10 OR right(code, 3) <> '000')
   AND (10 - (31 * substr(code, 1, 1)::int + 29 * substr(code, 2, 1)::int
              + 23 * substr(code, 3, 1)::int + 19 * substr(code, 4, 1)::int
              + 17 * substr(code, 5, 1)::int + 13 * substr(code, 6, 1)::int
              + 7 * substr(code, 7, 1)::int + 5 * substr(code, 8, 1)::int
              + 3 * substr(code, 9, 1)::int) % 11)::text = substr(code, 10, 1);

-- One failed rule of one row, shaped like htx.feeds.common.Failure.as_json().
CREATE FUNCTION staging.failure(field text, rule text, value text, message text) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN jsonb_build_object('field', field, 'rule', rule, 'value', value, 'message', message);

-- core.tax_declaration at national scale (10⁶–10⁷ rows a year): every index is paid on each
-- loaded row. Measured loading 10⁶ rows on 2 cores: 2.5 s with no index, 3.1 s with the key,
-- 6.8 s with parent_code too, 12.6 s with all four. Kept: the key (merge idempotency, lineage).
-- Dropped: source_file (the merge finds a file's earlier rows through their batches), the
-- supersession index and parent_code (the marts read every declaration: hash joins and a sort
-- beat 10⁶ index probes; one taxpayer's declarations are a sequential scan away).
DROP INDEX core.tax_declaration_source_file_idx;
DROP INDEX core.tax_declaration_tax_code_form_code_period_kind_period_start_idx;
DROP INDEX core.tax_declaration_parent_code_idx;

-- record_hash goes from declarations: nothing reads it (declarations are replaced by file, not
-- compared row by row as registry states are), yet it cost 64 bytes a row and, computed in SQL,
-- more time than reading the file. Lineage (batch, object, row) is what traces a row.
DROP VIEW core.tax_declaration_unmatched, core.tax_declaration_latest;
ALTER TABLE core.tax_declaration DROP COLUMN record_hash;
ALTER TABLE staging.tax_declarations DROP COLUMN record_hash;

-- (as in 0006)
CREATE VIEW core.tax_declaration_latest AS
SELECT DISTINCT ON (tax_code, form_code, period_kind, period_start) *
FROM core.tax_declaration
ORDER BY tax_code, form_code, period_kind, period_start,
         revision DESC, filed_on DESC, batch_id DESC, source_object DESC, source_row DESC;

CREATE VIEW core.tax_declaration_unmatched AS
SELECT d.*
FROM core.tax_declaration AS d
WHERE NOT EXISTS (SELECT 1 FROM core.registration_state AS s WHERE s.entity_code = d.parent_code);

SELECT audit.grant_core_to_analysts();
