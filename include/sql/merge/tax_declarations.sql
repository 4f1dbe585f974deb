-- Merge one staged batch — one delivered tax file — into core.tax_declaration.
-- Parameters: %(batch_id)s. Runs inside the caller's transaction; re-running it changes nothing.
-- The file's path under the landing root (tax/to_khai_YYYYMM.csv) is the batch's source_object in
-- audit.load_batch; batches are numbered in delivery order. Each batch's rows are a partition of
-- core.tax_declaration (migration 0070): replacing rows is dropping a partition.

-- 1. The file's deliveries up to this one: a re-sent month replaces its predecessors, and a
--    batch staged again (replay, revalidation) replaces what it merged before; merged already, it
--    stays as it is. Unless a newer delivery of the file is already merged: then a late re-run of
--    this old one must not bring back what its successor replaced, and it adds nothing.
DROP TABLE IF EXISTS pg_temp.tax_declaration_merge;
CREATE TEMP TABLE tax_declaration_merge ON COMMIT DROP AS
SELECT earlier.batch_id, earlier.batch_id = this.batch_id AS is_this,
       earlier.batch_id < this.batch_id OR this.status = 'staged' AS replaced,
       this.status = 'staged' AND NOT EXISTS (
           SELECT 1 FROM audit.load_batch AS newer
           WHERE newer.feed = this.feed AND newer.source_object = this.source_object
             AND newer.batch_id > this.batch_id
             AND newer.status IN ('merged', 'published')) AS attach
FROM audit.load_batch AS this
JOIN audit.load_batch AS earlier
  ON earlier.feed = this.feed AND earlier.source_object = this.source_object
 AND earlier.batch_id <= this.batch_id
WHERE this.batch_id = %(batch_id)s;

-- 1b. What the marts need to know of the batch, recorded with its rows whatever merges it
--     (core.tax_declaration_batch, migration 0120): read from the staged rows before they move,
--     by a query of its own, which PostgreSQL may share among parallel workers (it never does
--     for the SELECT of an INSERT). Every row is read: a file's first and last filing dates may
--     be those of superseded versions.
DROP TABLE IF EXISTS pg_temp.tax_declaration_extent;
CREATE TEMP TABLE tax_declaration_extent ON COMMIT DROP AS
SELECT min(filed_on) AS filed_from, max(filed_on) AS filed_to, min(period_start) AS periods_from,
       max(period_start) AS periods_to
FROM staging.tax_declarations
WHERE batch_id = %(batch_id)s
  AND EXISTS (SELECT 1 FROM pg_temp.tax_declaration_merge WHERE is_this AND attach)
HAVING count(*) > 0;

INSERT INTO core.tax_declaration_batch (batch_id, filed_from, filed_to, periods_from, periods_to)
SELECT %(batch_id)s, filed_from, filed_to, periods_from, periods_to
FROM pg_temp.tax_declaration_extent
ON CONFLICT (batch_id) DO UPDATE
SET (filed_from, filed_to, periods_from, periods_to)
    = (excluded.filed_from, excluded.filed_to, excluded.periods_from, excluded.periods_to);

-- 2. Declarations whose latest version was in a replaced partition: settled again from all the
--    rows left (step 5).
SELECT core.tax_declaration_create_unsettled();
INSERT INTO pg_temp.tax_declaration_unsettled
SELECT DISTINCT tax_code, form_code, period_kind, period_start, true
FROM core.tax_declaration
WHERE batch_id = ANY(ARRAY(SELECT batch_id FROM pg_temp.tax_declaration_merge WHERE replaced))
  AND is_latest;

SELECT core.tax_declaration_drop_batch(batch_id)
FROM pg_temp.tax_declaration_merge WHERE replaced AND NOT (is_this AND attach);

-- 3. This batch's partition: the one its rows were typed into while staged, or a new one that
--    the parser's staged rows go into, each declaration's best row of the file flagged latest.
SELECT core.tax_declaration_attach_batch(batch_id)
FROM pg_temp.tax_declaration_merge WHERE is_this AND attach;

INSERT INTO core.tax_declaration (
    tax_code, parent_code, taxpayer_name, form_code, period_raw, period_kind, period_start,
    period_end, revision, filed_on, revenue_vnd, profit_before_tax_vnd, tax_payable_vnd,
    batch_id, source_object, source_file, source_row, is_latest)
SELECT s.tax_code, s.parent_code, s.taxpayer_name, s.form_code, s.period_raw, s.period_kind,
       s.period_start, s.period_end, s.revision, s.filed_on, s.revenue_vnd,
       s.profit_before_tax_vnd, s.tax_payable_vnd, s.batch_id, s.source_object,
       this.source_object, s.source_row,
       row_number() OVER (PARTITION BY s.tax_code, s.form_code, s.period_kind, s.period_start
                          ORDER BY s.revision DESC, s.filed_on DESC, s.source_object DESC,
                                   s.source_row DESC) = 1
FROM staging.tax_declarations AS s
JOIN audit.load_batch AS this ON this.batch_id = s.batch_id
WHERE s.batch_id = %(batch_id)s
  AND EXISTS (SELECT 1 FROM pg_temp.tax_declaration_merge WHERE is_this AND attach);

-- 4. Declarations this file's latest versions share with other files: the better of the two
--    stays latest (found by a join of the rows flagged latest only).
INSERT INTO pg_temp.tax_declaration_unsettled
SELECT DISTINCT tax_code, form_code, period_kind, period_start, false
FROM core.tax_declaration AS mine
JOIN core.tax_declaration AS other USING (tax_code, form_code, period_kind, period_start)
WHERE mine.batch_id = %(batch_id)s AND mine.is_latest
  AND other.batch_id <> %(batch_id)s AND other.is_latest
  AND EXISTS (SELECT 1 FROM pg_temp.tax_declaration_merge WHERE is_this AND attach);

-- 5. Exactly one latest row for every declaration named in steps 2 and 4.
SELECT core.tax_declaration_settle();
