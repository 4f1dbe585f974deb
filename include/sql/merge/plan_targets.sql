-- Merge one staged batch — one delivered version of a year's target annex — into core.plan_target.
-- Parameters: %(batch_id)s. Runs inside the caller's transaction; re-running it changes nothing.
-- The file's path under the landing root (plan_targets/chi_tieu_YYYY.xlsx) is the batch's
-- audit.load_batch.source_object; it becomes each row's source_file.
--
-- Unlike the other file drops, nothing is replaced: a re-sent annex (the plan adjusted during the
-- year) is a new version whose rows join the earlier versions'. Which version is in force — the
-- latest delivered of each year — is core.plan_target_annex's rule, read by mart.plan_target.
INSERT INTO core.plan_target (
    source_file, plan_year, plan_document_no, plan_document_date, stt, indicator_name, unit_label,
    indicator_code, breakdown, target, batch_id, source_object, source_row)
SELECT batch.source_object, s.plan_year, s.plan_document_no, s.plan_document_date, s.stt,
       s.indicator_name, s.unit_label, s.indicator_code, s.breakdown, s.target, s.batch_id,
       s.source_object, s.source_row
FROM staging.plan_targets AS s
JOIN audit.load_batch AS batch ON batch.batch_id = s.batch_id
WHERE s.batch_id = %(batch_id)s
ON CONFLICT (batch_id, source_object, source_row) DO NOTHING;
