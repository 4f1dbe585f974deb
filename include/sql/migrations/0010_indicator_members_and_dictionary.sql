-- Traceability of the plan's indicators, and the data dictionary of the marts: every mart table
-- and column carries a comment in Vietnamese and English (`Tiếng Việt — English`), from which
-- `python -m htx dictionary` writes docs/data_dictionary.md.

-- The entities behind each indicator value, filled by the same refresh as mart.plan_indicator
-- (include/sql/marts/950_members_*.sql). Shares and ratios have no rows: they are quotients of
-- indicators listed here (HTX_SECTOR_SHARE = HTX_BY_SECTOR ÷ HTX_TOTAL …), and LENDING_FUND_SIZE
-- is the trust fund's own figure.
CREATE TABLE mart.plan_indicator_members (
    indicator_code  text    NOT NULL,
    breakdown       text    NOT NULL DEFAULT '',
    period_start    date    NOT NULL,
    period_end      date    NOT NULL,
    entity_code     text    NOT NULL,
    contribution    numeric NOT NULL,
    weight          numeric
);
-- One row per indicator × breakdown × period × entity, checked by the tests rather than by a
-- unique index: on a province's history (≈ 900,000 rows) the index tripled the refresh time.
CREATE INDEX ON mart.plan_indicator_members (indicator_code, period_end, period_start);

COMMENT ON SCHEMA mart IS
    'Dữ liệu phục vụ phân tích và báo cáo kế hoạch — analyst-facing marts of the plan';

COMMENT ON TABLE mart.plan_indicator_members IS
    'Các đơn vị (HTX, LHHTX, THT, quỹ, bên vay) tạo nên từng giá trị chỉ tiêu; đếm hoặc cộng '
    'lại ra đúng giá trị — the entities behind each indicator value: a count has one row per '
    'entity counted, a sum one row per entity summed (sum of contribution = value), a mean one '
    'row per entity averaged (mean of contribution, weighted by weight when set = value). '
    'Shares and ratios have none.';
COMMENT ON COLUMN mart.plan_indicator_members.indicator_code IS
    'Mã chỉ tiêu (như mart.plan_indicator) — indicator code, as in mart.plan_indicator';
COMMENT ON COLUMN mart.plan_indicator_members.breakdown IS
    'Phân tổ: rỗng là tổng số, còn lại dạng khóa=giá_trị — breakdown: empty for the total, '
    'else key=value';
COMMENT ON COLUMN mart.plan_indicator_members.period_start IS
    'Ngày đầu kỳ báo cáo — first day of the reporting period';
COMMENT ON COLUMN mart.plan_indicator_members.period_end IS
    'Ngày cuối kỳ báo cáo — last day of the reporting period';
COMMENT ON COLUMN mart.plan_indicator_members.entity_code IS
    'Mã số của đơn vị (mã số HTX/LHHTX/THT, mã số thuế của quỹ hoặc HTX vay vốn) — entity code: '
    'registry code, or the tax code (MST) of the credit fund or borrowing cooperative';
COMMENT ON COLUMN mart.plan_indicator_members.contribution IS
    'Phần đóng góp vào giá trị chỉ tiêu, cùng đơn vị: 1 với chỉ tiêu đếm, số liệu của đơn vị '
    'với chỉ tiêu tổng hoặc bình quân — the entity''s part of the value, in the indicator''s '
    'unit: 1 for a count, its own figure for a sum or a mean (HTX_AVG_REVENUE: its revenue of '
    'the period scaled to a year)';
COMMENT ON COLUMN mart.plan_indicator_members.weight IS
    'Quyền số của bình quân gia quyền (số lao động), rỗng nếu không có — weight of a weighted '
    'mean (workers, employees); null otherwise';

COMMENT ON TABLE mart.plan_indicator IS
    'Chỉ tiêu kế hoạch phát triển kinh tế tập thể: một dòng cho mỗi chỉ tiêu × phân tổ × kỳ — the '
    'plan''s indicators, one row per indicator × breakdown × period; the public interface read by '
    'analysts, exports and acceptance checks';
COMMENT ON COLUMN mart.plan_indicator.indicator_code IS
    'Mã chỉ tiêu trong danh mục chỉ tiêu của kế hoạch, ví dụ HTX_TOTAL — indicator code of the '
    'plan''s catalogue, e.g. HTX_TOTAL';
COMMENT ON COLUMN mart.plan_indicator.breakdown IS
    'Phân tổ: rỗng là tổng số, còn lại dạng khóa=giá_trị (sector=nong_nghiep) — breakdown: empty '
    'for the total, else key=value (sector=nong_nghiep)';
COMMENT ON COLUMN mart.plan_indicator.period_start IS
    'Ngày đầu kỳ (luôn là 01/01: kỳ lũy kế từ đầu năm) — first day of the period (1 January: '
    'year-to-date periods)';
COMMENT ON COLUMN mart.plan_indicator.period_end IS
    'Ngày cuối kỳ: cuối một tháng; 31/12 là cả năm — last day of the period: a month end; 31 '
    'December is the full year';
COMMENT ON COLUMN mart.plan_indicator.value IS
    'Giá trị chính xác, không làm tròn — exact value, never rounded in the warehouse';
COMMENT ON COLUMN mart.plan_indicator.unit IS
    'Đơn vị: count (số đơn vị), percent (%), trieu_dong (triệu đồng), nguoi (người) — unit: count, '
    'percent, trieu_dong (million VND), nguoi (persons)';
COMMENT ON COLUMN mart.plan_indicator.target IS
    'Chỉ tiêu kế hoạch năm (mart.plan_target), nếu có — the plan year''s target, when one exists';
COMMENT ON COLUMN mart.plan_indicator.attainment_pct IS
    'Tỷ lệ thực hiện so với kế hoạch = giá trị ÷ kế hoạch × 100 — attainment: value ÷ target × 100';

COMMENT ON TABLE mart.reporting_period IS
    'Các kỳ báo cáo: mỗi kỳ lũy kế từ 01/01 đến cuối từng tháng có dữ liệu — reporting periods: '
    'every year-to-date period from 1 January to each month end with data';
COMMENT ON COLUMN mart.reporting_period.period_start IS 'Ngày đầu kỳ — first day of the period';
COMMENT ON COLUMN mart.reporting_period.period_end IS 'Ngày cuối kỳ — last day of the period';
COMMENT ON COLUMN mart.reporting_period.months IS
    'Số tháng của kỳ (12 là cả năm) — months in the period (12: the full year)';

COMMENT ON TABLE mart.refresh_log IS
    'Nhật ký làm mới mart: một dòng mỗi lần chạy — one row per refresh of the marts';
COMMENT ON COLUMN mart.refresh_log.refreshed_at IS
    'Thời điểm làm mới (lúc bắt đầu giao dịch) — when the refresh ran (its transaction''s start)';
COMMENT ON COLUMN mart.refresh_log.periods IS 'Số kỳ báo cáo — reporting periods computed';
COMMENT ON COLUMN mart.refresh_log.indicator_rows IS
    'Số dòng chỉ tiêu đã tính — rows written to mart.plan_indicator';
COMMENT ON COLUMN mart.refresh_log.dag_run_id IS
    'Lần chạy Airflow đã làm mới (rỗng khi chạy tay) — the Airflow run that refreshed, if any';

COMMENT ON TABLE mart.plan_target IS
    'Chỉ tiêu kế hoạch theo năm (include/reference/plan_targets.csv) — plan targets per plan year';
COMMENT ON COLUMN mart.plan_target.plan_year IS 'Năm kế hoạch — plan year';
COMMENT ON COLUMN mart.plan_target.indicator_code IS 'Mã chỉ tiêu — indicator code';
COMMENT ON COLUMN mart.plan_target.breakdown IS
    'Phân tổ, rỗng là tổng số — breakdown, empty for the total';
COMMENT ON COLUMN mart.plan_target.target IS
    'Giá trị kế hoạch, cùng đơn vị với chỉ tiêu — target value, in the indicator''s unit';
