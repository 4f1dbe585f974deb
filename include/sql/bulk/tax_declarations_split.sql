-- Feed 2 in the database (htx.bulk): which session types a row — its tax code as the typed rows
-- hold it (staging.csv_text, as tax_declarations_values.sql types it), hashed. Every version of a
-- declaration has the same one, so each session chooses the latest versions among its own rows.
-- An expression over the COPYed text columns, evaluated as COPY reads each row: an ASCII code
-- without a space or control character at either end is its own csv_text (nothing to normalise
-- or trim), found without it (csv_text on every row cost 0.7 s of CPU per million rows and
-- session, this 0.2 s).
CASE WHEN octet_length(tax_code) = char_length(tax_code) AND ascii(tax_code) > 32
          AND ascii(right(tax_code, 1)) > 32
     THEN tax_code ELSE staging.csv_text(tax_code) END
