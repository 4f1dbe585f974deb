-- Marts, members first (issue 13): each model writes the entities behind its indicators
-- (mart.plan_indicator_members), and one generic step (include/sql/marts/700–800) derives the
-- counts, sums and means of mart.plan_indicator from them, as mart.indicator_aggregation
-- declares; every refresh then checks that each such value is that aggregate of its members.

CREATE TABLE mart.indicator_aggregation (
    indicator_code  text PRIMARY KEY,
    aggregation     text NOT NULL CHECK (aggregation IN ('count', 'sum', 'mean', 'weighted_mean')),
    unit            text NOT NULL CHECK (unit IN ('count', 'percent', 'trieu_dong', 'nguoi'))
);
INSERT INTO mart.indicator_aggregation (indicator_code, aggregation, unit) VALUES
    ('HTX_TOTAL',                     'count',         'count'),
    ('HTX_BY_SECTOR',                 'count',         'count'),
    ('HTX_NEW',                       'count',         'count'),
    ('HTX_DISSOLVED',                 'count',         'count'),
    ('HTX_CHARTER_CAPITAL',           'sum',           'trieu_dong'),
    ('HTX_MEMBERS',                   'sum',           'nguoi'),
    ('HTX_TAX_ACTIVE',                'count',         'count'),
    ('HTX_NOT_ACTIVE',                'count',         'count'),
    ('HTX_AVG_REVENUE',               'mean',          'trieu_dong'),
    ('HTX_AVG_PROFIT',                'mean',          'trieu_dong'),
    ('HTX_WORKERS',                   'sum',           'nguoi'),
    ('HTX_MEMBER_WORKERS',            'sum',           'nguoi'),
    ('HTX_AVG_INCOME',                'weighted_mean', 'trieu_dong'),
    ('HTX_MANAGERS',                  'sum',           'nguoi'),
    ('HTX_MANAGERS_VOCATIONAL',       'sum',           'nguoi'),
    ('HTX_MANAGERS_COLLEGE_PLUS',     'sum',           'nguoi'),
    ('LHHTX_TOTAL',                   'count',         'count'),
    ('LHHTX_CHARTER_CAPITAL',         'sum',           'trieu_dong'),
    ('LHHTX_MEMBER_COOPS',            'sum',           'count'),
    ('THT_TOTAL',                     'count',         'count'),
    ('THT_MEMBERS',                   'sum',           'nguoi'),
    ('QTDND_TOTAL',                   'count',         'count'),
    ('QTDND_MEMBERS',                 'sum',           'nguoi'),
    ('QTDND_EMPLOYEES',               'sum',           'nguoi'),
    ('QTDND_TOTAL_CAPITAL',           'sum',           'trieu_dong'),
    ('QTDND_EQUITY',                  'sum',           'trieu_dong'),
    ('QTDND_DEPOSITS',                'sum',           'trieu_dong'),
    ('QTDND_LOANS',                   'sum',           'trieu_dong'),
    ('QTDND_AVG_REVENUE',             'mean',          'trieu_dong'),
    ('QTDND_AVG_PROFIT',              'mean',          'trieu_dong'),
    ('QTDND_AVG_EMPLOYEE_INCOME',     'weighted_mean', 'trieu_dong'),
    ('LENDING_CONTRACTS',             'sum',           'count'),
    ('LENDING_DISBURSED',             'sum',           'trieu_dong'),
    ('LENDING_OUTSTANDING',           'sum',           'trieu_dong'),
    ('LENDING_BORROWERS_OUTSTANDING', 'count',         'count');
-- Declared with the code that reads it, like the migration ledger: not the loader's to change.
REVOKE INSERT, UPDATE, DELETE ON mart.indicator_aggregation FROM htx_loader;

COMMENT ON TABLE mart.indicator_aggregation IS
    'Cách mỗi chỉ tiêu được tính từ các đơn vị tạo nên nó (mart.plan_indicator_members): đếm, '
    'cộng, bình quân hoặc bình quân gia quyền — how each indicator is derived from its members: '
    'count, sum, mean or weighted mean; one row per indicator, keyed by indicator_code. Shares, '
    'ratios and the lending fund''s own size are not listed: they have no members.';
COMMENT ON COLUMN mart.indicator_aggregation.indicator_code IS
    'Mã chỉ tiêu (như mart.plan_indicator) — indicator code, as in mart.plan_indicator';
COMMENT ON COLUMN mart.indicator_aggregation.aggregation IS
    'count: số đơn vị (mỗi đơn vị đóng góp 1), 0 nếu không có; sum: tổng phần đóng góp, 0 nếu '
    'không có; mean: bình quân phần đóng góp; weighted_mean: bình quân gia quyền theo weight; '
    'bình quân không có giá trị khi không có đơn vị nào — count: the number of members (each '
    'contributing 1), 0 with none; sum: the sum of contributions, 0 with none; mean: their mean; '
    'weighted_mean: their mean weighted by weight; a mean has no value without members';
COMMENT ON COLUMN mart.indicator_aggregation.unit IS
    'Đơn vị của giá trị chỉ tiêu (như mart.plan_indicator.unit) — unit of the value, as in '
    'mart.plan_indicator.unit';

-- mart.plan_indicator_members keeps its BRIN index (0015) and gets no unique index on its key:
-- measured on the national registry (5.5 million members, 2 cores), a b-tree on the key made
-- the members' insert 2.2 times as costly in CPU (3 to 7 times as slow on the clock), however its
-- columns were ordered and the rows sorted; after the refresh's DELETE each new key also meets
-- the deleted row of the same key, whose heap page must be read. The models write each entity
-- once per group by construction (one as-of state per entity and period, one row per taxpayer,
-- fund or borrower), and every refresh checks the values against their members.
ALTER TABLE mart.refresh_log ADD COLUMN refresh_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY;

-- Comments: each mart table's grain and key, and what 0010 said before the reporting periods
-- were bounded (0015) or the values derived from their members (this migration).
COMMENT ON TABLE mart.plan_indicator IS
    'Chỉ tiêu kế hoạch phát triển kinh tế tập thể: một dòng cho mỗi chỉ tiêu × phân tổ × kỳ — the '
    'plan''s indicators, one row per indicator × breakdown × period (the key); the public '
    'interface read by analysts, exports and acceptance checks. Counts, sums and means are the '
    'aggregate of their members (mart.plan_indicator_members, as mart.indicator_aggregation '
    'declares), which every refresh checks.';
COMMENT ON TABLE mart.plan_indicator_members IS
    'Các đơn vị (HTX, LHHTX, THT, quỹ, bên vay) tạo nên từng giá trị chỉ tiêu; đếm hoặc cộng '
    'lại ra đúng giá trị — the entities behind each indicator value, one row per indicator × '
    'breakdown × period × entity (its key, kept by the models that write it): a count has one '
    'row per entity counted, a sum one row per entity summed (sum of contribution = value), a '
    'mean one row per entity averaged (mean of contribution, weighted by weight when set = '
    'value), as mart.indicator_aggregation declares; every refresh checks it. Shares and ratios '
    'have none.';
COMMENT ON TABLE mart.reporting_period IS
    'Các kỳ báo cáo, đều từ 01/01: lũy kế đến cuối từng tháng có dữ liệu của hai năm gần nhất, và '
    'cả năm của các năm trước đó trong HTX_REPORTING_YEARS năm — reporting periods, all from 1 '
    'January: to each month end with data in the latest two years with data, and the full year '
    'of each earlier year within HTX_REPORTING_YEARS years (default 10); one row per period, '
    'keyed by its first and last day';
COMMENT ON TABLE mart.refresh_log IS
    'Nhật ký làm mới mart: một dòng mỗi lần chạy — one row per refresh of the marts, keyed by '
    'refresh_id';
COMMENT ON COLUMN mart.refresh_log.refresh_id IS
    'Số thứ tự lần làm mới — number of the refresh, in the order they ran';
COMMENT ON TABLE mart.plan_target IS
    'Chỉ tiêu kế hoạch theo năm (include/reference/plan_targets.csv) — plan targets, one row per '
    'plan year × indicator × breakdown (the key)';
