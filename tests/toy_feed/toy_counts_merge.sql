-- The toy feed's merge: a re-sent file replaces the rows earlier batches loaded from it.
DELETE FROM core.toy_count AS held
USING audit.load_batch AS b
WHERE b.batch_id = %(batch_id)s AND held.source_file = b.source_object AND held.batch_id < b.batch_id;

INSERT INTO core.toy_count (code, amount, batch_id, source_object, source_row, source_file)
SELECT s.code, s.amount, s.batch_id, s.source_object, s.source_row, b.source_object
FROM staging.toy_counts AS s
JOIN audit.load_batch AS b USING (batch_id)
WHERE s.batch_id = %(batch_id)s
ON CONFLICT (batch_id, source_object, source_row) DO NOTHING;
