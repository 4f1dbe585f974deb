-- Merge one staged annual-report file (one batch) into core.annual_report.
-- Parameters: %(batch_id)s. Runs inside the caller's transaction; re-running it changes nothing.
--
-- 1. A re-sent file replaces every row earlier batches loaded from the same file: a cooperative
--    missing from the corrected file (or quarantined in it) no longer has that file's report.
DELETE FROM core.annual_report AS held
USING audit.load_batch AS b
WHERE b.batch_id = %(batch_id)s
  AND held.source_file = b.source_object
  AND held.batch_id < b.batch_id;

-- 2. The batch's rows, with the file they came from. Which row counts per cooperative and year is
--    the view's rule (core.annual_report_latest).
INSERT INTO core.annual_report (
    entity_code, report_year, members, workers, member_workers, avg_income_per_worker_vnd,
    managers, managers_vocational, managers_college_plus, batch_id, source_object, source_row,
    source_file)
SELECT s.entity_code, s.report_year, s.members, s.workers, s.member_workers,
       s.avg_income_per_worker_vnd, s.managers, s.managers_vocational, s.managers_college_plus,
       s.batch_id, s.source_object, s.source_row, b.source_object
FROM staging.annual_reports AS s
JOIN audit.load_batch AS b USING (batch_id)
WHERE s.batch_id = %(batch_id)s
ON CONFLICT (batch_id, source_object, source_row) DO NOTHING;
