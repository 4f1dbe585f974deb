-- Merge one staged batch — one delivered tax file — into core.tax_declaration.
-- Parameters: %(batch_id)s. Runs inside the caller's transaction; re-running it changes nothing.
-- The file's path under the landing root (tax/to_khai_YYYYMM.csv) is the batch's source_object in
-- audit.load_batch; batches are numbered in delivery order.
--
-- 1. A re-sent month replaces its predecessor: rows of the same file from earlier batches go,
--    and so do this batch's own rows if it was merged before (a re-merge replaces them), so the
--    insert below never meets its key and needs no ON CONFLICT (which doubled its time at 10⁶
--    rows). Found through the batches: the key's leading batch_id serves this, no extra index.
DELETE FROM core.tax_declaration AS held
USING audit.load_batch AS this, audit.load_batch AS earlier
WHERE this.batch_id = %(batch_id)s
  AND earlier.feed = this.feed
  AND earlier.source_object = this.source_object
  AND earlier.batch_id <= this.batch_id
  AND held.batch_id = earlier.batch_id;

-- 2. The batch's rows — unless a newer delivery of the same file is already merged: a late
--    re-run of an old delivery must not bring back what its successor replaced.
INSERT INTO core.tax_declaration (
    tax_code, parent_code, taxpayer_name, form_code, period_raw, period_kind, period_start,
    period_end, revision, filed_on, revenue_vnd, profit_before_tax_vnd, tax_payable_vnd,
    batch_id, source_object, source_file, source_row)
SELECT s.tax_code, s.parent_code, s.taxpayer_name, s.form_code, s.period_raw, s.period_kind,
       s.period_start, s.period_end, s.revision, s.filed_on, s.revenue_vnd,
       s.profit_before_tax_vnd, s.tax_payable_vnd, s.batch_id, s.source_object,
       this.source_object, s.source_row
FROM staging.tax_declarations AS s
JOIN audit.load_batch AS this ON this.batch_id = s.batch_id
WHERE s.batch_id = %(batch_id)s
  AND NOT EXISTS (
        SELECT 1 FROM audit.load_batch AS newer
        WHERE newer.feed = this.feed
          AND newer.source_object = this.source_object
          AND newer.batch_id > this.batch_id
          AND newer.status IN ('merged', 'published'));
