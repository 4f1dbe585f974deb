-- Issue 14, the marts' part: each indicator declared once, `locality=` breakdowns across the 2025
-- reform, and year-end estimates (../shared/indicators.md).

-- 1. One declaration per indicator. mart.indicator_aggregation (0030, the marts) and
-- core.ref_indicator (0041, the plan-targets feed) both declared each indicator's unit. The
-- catalogue, include/reference/indicators.csv → core.ref_indicator (reloaded by `htx migrate`),
-- now also says how the marts derive each indicator from its members and how its year end is
-- estimated; mart.indicator_aggregation becomes a view of it, for the marts and for analysts.
ALTER TABLE core.ref_indicator
    ADD COLUMN aggregation text
        CHECK (aggregation IN ('count', 'sum', 'mean', 'weighted_mean')),
        -- NULL: a share, a ratio or the lending fund's own size (no members)
    ADD COLUMN year_end_estimate text
        CHECK (year_end_estimate IN ('counted_in_period', 'as_of_period_end')),
        -- NULL: no year-end estimate
    -- An estimate adds and scales values: of counts and sums only (a mean is no such figure).
    ADD CONSTRAINT ref_indicator_estimate_of_a_count_or_sum
        CHECK (year_end_estimate IS NULL OR aggregation IN ('count', 'sum'));

DROP TABLE mart.indicator_aggregation;
CREATE VIEW mart.indicator_aggregation AS
SELECT indicator_code, aggregation, unit
FROM core.ref_indicator
WHERE aggregation IS NOT NULL;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON mart.indicator_aggregation FROM htx_loader;

COMMENT ON VIEW mart.indicator_aggregation IS
    'Cách mỗi chỉ tiêu được tính từ các đơn vị tạo nên nó (mart.plan_indicator_members): đếm, '
    'cộng, bình quân hoặc bình quân gia quyền; theo danh mục chỉ tiêu '
    '(include/reference/indicators.csv) — how each indicator is derived from its members: count, '
    'sum, mean or weighted mean; one row per indicator, keyed by indicator_code, from the '
    'indicator catalogue (include/reference/indicators.csv, core.ref_indicator), where each '
    'indicator is declared once. Shares, ratios and the lending fund''s own size are not listed: '
    'they have no members.';
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

-- 2. Year-end estimates ("ước thực hiện cả năm") on the public interface.
ALTER TABLE mart.plan_indicator
    ADD COLUMN estimate_full_year numeric,
    ADD COLUMN estimate_attainment_pct numeric;

COMMENT ON COLUMN mart.plan_indicator.estimate_full_year IS
    'Ước thực hiện cả năm, cho kỳ lũy kế kết thúc trước 31/12: chỉ tiêu tính trong kỳ '
    '(HTX_NEW, HTX_DISSOLVED) = giá trị × cả năm trước ÷ cùng kỳ năm trước (nếu cùng kỳ > 0, '
    'nếu không = giá trị × 12 ÷ số tháng); chỉ tiêu tại thời điểm (HTX_TOTAL, HTX_BY_SECTOR, '
    'THT_TOTAL, LHHTX_TOTAL, HTX_MEMBERS, HTX_CHARTER_CAPITAL) = giá trị + (cả năm trước − cùng '
    'kỳ năm trước); chỉ cho tổng số và phân tổ sector=; không làm tròn — year-end estimate of a '
    'year-to-date period ending before 31 December: counted in the period: value × previous '
    'full year ÷ previous same period when that is above 0, else value × 12 ÷ months; as of the '
    'period end: value + (previous full year − previous same period), empty when either is '
    'missing; totals and sector= breakdowns only (empty for locality= and every other '
    'indicator); never rounded (../shared/indicators.md)';
COMMENT ON COLUMN mart.plan_indicator.estimate_attainment_pct IS
    'Ước tỷ lệ thực hiện cả năm so với kế hoạch = ước thực hiện cả năm ÷ kế hoạch × 100 — '
    'estimated attainment: estimate_full_year ÷ target × 100, where both exist';
COMMENT ON COLUMN mart.plan_indicator.breakdown IS
    'Phân tổ: rỗng là tổng số, còn lại dạng khóa=giá_trị: sector=nong_nghiep (lĩnh vực), '
    'locality=<mã ĐVHC> (địa bàn theo bản đồ hành chính có hiệu lực vào ngày cuối kỳ: 3 chữ số '
    'đến 30/06/2025, 5 chữ số từ 01/07/2025) hoặc locality=khong_xac_dinh (chưa xác định được '
    'địa bàn) — breakdown: empty for the total, else key=value: sector=nong_nghiep, '
    'locality=<GSO code> in the administrative map in force at the period end (3 digits until '
    '30/06/2025, 5 digits from 01/07/2025) or locality=khong_xac_dinh (no locality by the '
    'catalogue''s rules); every unit of that map is reported, so the breakdown sums to the total';

-- 3. The units `locality=` names, with their names (the exports read mart only).
CREATE VIEW mart.locality_unit AS
SELECT m.map_version, m.valid_from, m.valid_to, u.level, u.unit_code, u.name, u.kind,
       predecessor.old_district_codes
FROM core.ref_admin_map AS m
JOIN core.ref_admin_unit AS u ON u.map_version = m.map_version AND u.level = m.locality_level
LEFT JOIN LATERAL (   -- a unit of a later map: the districts its old communes lay in
    SELECT array_agg(DISTINCT old.district_code ORDER BY old.district_code) AS old_district_codes
    FROM core.ref_admin_map AS before
    JOIN core.ref_admin_crosswalk AS x ON x.new_unit_code = u.unit_code
    JOIN core.ref_admin_unit AS old
      ON old.map_version = before.map_version AND old.level = 'commune'
     AND old.unit_code = x.old_commune_code
    WHERE before.valid_to = m.valid_from - 1
) AS predecessor ON m.valid_from IS NOT NULL;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON mart.locality_unit FROM htx_loader;

COMMENT ON VIEW mart.locality_unit IS
    'Các đơn vị hành chính mà phân tổ locality= dùng, theo từng bản đồ: 13 đơn vị cấp huyện '
    'đến 30/06/2025, 54 đơn vị cấp xã từ 01/07/2025 (Nghị quyết 1679/NQ-UBTVQH15) — the units '
    'locality= breakdowns name under each administrative map (core.ref_admin_map), one row per '
    'map × unit (the key)';
COMMENT ON COLUMN mart.locality_unit.map_version IS
    'Bản đồ hành chính: 2024 (trước cải cách), 2025 (từ 01/07/2025) — the map: 2024 (before the '
    'reform), 2025 (from 1 July 2025)';
COMMENT ON COLUMN mart.locality_unit.valid_from IS
    'Ngày bản đồ bắt đầu có hiệu lực (rỗng: trước mọi dữ liệu) — first day the map is in force '
    '(empty: before any data)';
COMMENT ON COLUMN mart.locality_unit.valid_to IS
    'Ngày cuối bản đồ có hiệu lực (rỗng: đang có hiệu lực) — last day the map is in force '
    '(empty: still in force)';
COMMENT ON COLUMN mart.locality_unit.level IS
    'Cấp đơn vị: district (cấp huyện), commune (cấp xã) — level: district or commune';
COMMENT ON COLUMN mart.locality_unit.unit_code IS
    'Mã ĐVHC của Tổng cục Thống kê, như trong locality=<mã>; một mã chỉ các nơi khác nhau trên '
    'hai bản đồ — GSO code, as in locality=<code>; a code names different places on the two maps';
COMMENT ON COLUMN mart.locality_unit.name IS
    'Tên đơn vị, không kèm loại (Hà Tu) — the unit''s name without its kind word';
COMMENT ON COLUMN mart.locality_unit.kind IS
    'Loại đơn vị: thanh_pho, thi_xa, huyen, phuong, xa, thi_tran, dac_khu — kind of unit';
COMMENT ON COLUMN mart.locality_unit.old_district_codes IS
    'Với đơn vị của bản đồ sau: các đơn vị cấp huyện cũ có xã, phường, thị trấn nhập (toàn bộ '
    'hoặc một phần) vào đơn vị này, theo bảng chuyển đổi; rỗng với bản đồ đầu — for a unit of a '
    'later map: the district-level units of the map before whose communes went (whole or part) '
    'into it, by the crosswalk; more than one for a unit spanning old districts; empty on the '
    'first map';

-- 4. Each locality indicator's members on both maps, for comparing a report on the new map with
-- last year's on the old one (the exports' old-district table): written by the refresh
-- (include/sql/marts/100_registry.sql) from the same members as the breakdowns.
CREATE TABLE mart.locality_across_reform (
    indicator_code     text    NOT NULL,
    period_start       date    NOT NULL,
    period_end         date    NOT NULL,
    old_district_code  text,
    new_unit_code      text,
    entities           integer NOT NULL CHECK (entities > 0)
);
CREATE UNIQUE INDEX locality_across_reform_key ON mart.locality_across_reform
    (indicator_code, period_start, period_end, coalesce(old_district_code, ''),
     coalesce(new_unit_code, ''));

COMMENT ON TABLE mart.locality_across_reform IS
    'Đối chiếu địa bàn cũ – mới: các đơn vị tạo nên tổng số của mỗi chỉ tiêu có phân tổ địa bàn '
    '(HTX_TOTAL, HTX_NEW, THT_TOTAL), đếm theo vị trí trên cả hai bản đồ hành chính vào ngày cuối '
    'kỳ — the members of each locality indicator''s total counted by their place on both '
    'administrative maps as of the period end (the state as of then, placed by the catalogue''s '
    'rules); one row per indicator × period × old district × new unit (the key); the rows of a '
    'period add up to the total, which every refresh checks';
COMMENT ON COLUMN mart.locality_across_reform.indicator_code IS
    'Mã chỉ tiêu — indicator code';
COMMENT ON COLUMN mart.locality_across_reform.period_start IS
    'Ngày đầu kỳ báo cáo — first day of the reporting period';
COMMENT ON COLUMN mart.locality_across_reform.period_end IS
    'Ngày cuối kỳ báo cáo — last day of the reporting period';
COMMENT ON COLUMN mart.locality_across_reform.old_district_code IS
    'Đơn vị cấp huyện cũ (3 chữ số); rỗng khi không xác định được (ví dụ: đơn vị mới trải trên '
    'hai huyện cũ) — district-level unit of the pre-reform map; empty when none can be told '
    '(e.g. a post-reform state naming a new unit that spans two old districts)';
COMMENT ON COLUMN mart.locality_across_reform.new_unit_code IS
    'Đơn vị hành chính mới (5 chữ số); rỗng khi không xác định được (ví dụ: xã cũ bị chia tách) '
    '— commune-level unit of the 2025 map; empty when none can be told (e.g. a split commune)';
COMMENT ON COLUMN mart.locality_across_reform.entities IS
    'Số đơn vị — number of entities';

-- The catalogue's new columns, to analysts like the rest of core's non-personal columns.
SELECT audit.grant_core_to_analysts();
