-- Feed 2 in the database (htx.bulk): which session types a row — its tax code as the typed rows
-- hold it (tax_declarations_values.sql), hashed. Every version of a declaration has the same one,
-- so each session chooses the latest versions among its own rows. An expression over the COPYed
-- text columns, evaluated as COPY reads each row.
staging.csv_text(tax_code)
