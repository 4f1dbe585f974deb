-- Settling declarations (core.tax_declaration_settle, migration 0070) read every tax row of the
-- batches involved to move a few thousand flags: after a monthly file of 31,015 rows, the
-- UPDATE hashed all 10^6 rows of a 10^6-row batch (1.1 s of a 2.1 s merge) and all 10^7 of a
-- 10^7-row one (≈ 10 s). A row matches a contender only if its flag is the contender's, and
-- every batch's partition is split by is_latest: the flags are now moved in two UPDATEs, one
-- per value of is_latest, each planned on its side of the split only (the latest rows of the
-- batches involved; their other rows only when a declaration is settled from all of its rows,
-- as after a re-sent file), and the contenders — a few thousand, which the planner otherwise
-- took for a hundred thousand — are analysed first, so that they are hashed, not the batches'
-- rows.
-- Same result as before: tests/test_tax_declarations_merge.py and test_marts_incremental.py.

CREATE OR REPLACE FUNCTION core.tax_declaration_settle() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_temp.tax_declaration_unsettled) THEN
        RETURN;
    END IF;
    CREATE TEMP TABLE tax_declaration_keys ON COMMIT DROP AS
    SELECT tax_code, form_code, period_kind, period_start, bool_or(all_rows) AS all_rows
    FROM pg_temp.tax_declaration_unsettled GROUP BY 1, 2, 3, 4;
    ANALYZE pg_temp.tax_declaration_keys;
    CREATE TEMP TABLE tax_declaration_contenders ON COMMIT DROP AS
    SELECT batch_id, source_object, source_row, is_latest,
           row_number() OVER (PARTITION BY tax_code, form_code, period_kind, period_start
                              ORDER BY revision DESC, filed_on DESC, batch_id DESC,
                                       source_object DESC, source_row DESC) = 1 AS best
    FROM (SELECT d.* FROM pg_temp.tax_declaration_keys AS k
          JOIN core.tax_declaration AS d USING (tax_code, form_code, period_kind, period_start)
          WHERE d.is_latest
          UNION ALL
          SELECT d.* FROM pg_temp.tax_declaration_keys AS k
          JOIN core.tax_declaration AS d USING (tax_code, form_code, period_kind, period_start)
          WHERE NOT d.is_latest AND k.all_rows) AS d;
    DELETE FROM pg_temp.tax_declaration_contenders WHERE is_latest = best;   -- already right
    ANALYZE pg_temp.tax_declaration_contenders;
    -- Latest rows that lose it: only the latest side of each batch is read.
    UPDATE core.tax_declaration AS d SET is_latest = false
    FROM pg_temp.tax_declaration_contenders AS c
    WHERE d.is_latest AND c.is_latest
      AND d.batch_id = ANY(ARRAY(SELECT DISTINCT batch_id FROM pg_temp.tax_declaration_contenders
                                 WHERE is_latest))
      AND d.batch_id = c.batch_id AND d.source_object = c.source_object
      AND d.source_row = c.source_row;
    -- Other rows that take it (a declaration settled from all of its rows): only the other side.
    UPDATE core.tax_declaration AS d SET is_latest = true
    FROM pg_temp.tax_declaration_contenders AS c
    WHERE NOT d.is_latest AND NOT c.is_latest
      AND d.batch_id = ANY(ARRAY(SELECT DISTINCT batch_id FROM pg_temp.tax_declaration_contenders
                                 WHERE NOT is_latest))
      AND d.batch_id = c.batch_id AND d.source_object = c.source_object
      AND d.source_row = c.source_row;
    DROP TABLE pg_temp.tax_declaration_keys, pg_temp.tax_declaration_contenders;
    DELETE FROM pg_temp.tax_declaration_unsettled;
END $$;
