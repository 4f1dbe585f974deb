-- Merge one staged batch — one delivered lending file — into core.lending_contract.
-- Parameters: %(batch_id)s. Runs inside the caller's transaction; re-running it changes nothing.
-- The file's path under the landing root (lending/vbsp_YYYYMM.xlsx) is the batch's
-- audit.load_batch.source_object; it becomes each row's source_file.
--
-- 1. A file re-sent under the same name is the bank's corrected snapshot: the rows an earlier
--    delivery of that file left in core are replaced (files of other months are untouched).
DELETE FROM core.lending_contract AS held
USING audit.load_batch AS batch
WHERE batch.batch_id = %(batch_id)s
  AND held.source_file = batch.source_object
  AND held.batch_id <> batch.batch_id;

-- 2. The batch's rows, each once.
INSERT INTO core.lending_contract (
    source_file, report_date, fund_size_trieu, file_detail_rows, file_disbursed_total_trieu,
    file_outstanding_total_trieu, stt, htx_code, htx_name, contract_no, disbursed_on,
    disbursed_trieu, outstanding_trieu, debt_group, due_on, batch_id, source_object, source_row)
SELECT batch.source_object, s.report_date, s.fund_size_trieu, s.file_detail_rows,
       s.file_disbursed_total_trieu, s.file_outstanding_total_trieu, s.stt, s.htx_code,
       s.htx_name, s.contract_no, s.disbursed_on, s.disbursed_trieu, s.outstanding_trieu,
       s.debt_group, s.due_on, s.batch_id, s.source_object, s.source_row
FROM staging.support_lending AS s
JOIN audit.load_batch AS batch ON batch.batch_id = s.batch_id
WHERE s.batch_id = %(batch_id)s
ON CONFLICT (batch_id, source_object, source_row) DO NOTHING;
