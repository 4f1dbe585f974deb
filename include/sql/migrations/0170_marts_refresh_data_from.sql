-- What a refresh after feed runs compares with the last one (issue 15, htx.marts_incremental):
-- the first day of the data it was computed from. The year-end estimates of a period have last
-- year's values only when last year is not before the data's first year
-- (include/sql/marts/001_year_end_estimate_basis.sql), so when that year moves every model's
-- estimates may change: the refresh then recomputes every model and period. NULL (refreshes
-- before this migration): the next refresh is whole.
ALTER TABLE mart.refresh_log ADD COLUMN data_from date;
COMMENT ON COLUMN mart.refresh_log.data_from IS
    'Ngày sớm nhất của dữ liệu khi làm mới (đăng ký, tờ khai, cho vay, quỹ tín dụng) — the '
    'first business date of the data the refresh was computed from';
