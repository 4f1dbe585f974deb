-- The registry's members stored once per period × entity (issue 15, the full refresh under 30 s).
-- The registry model wrote, for each published period and each operating HTX, LHHTX and THT, one
-- member row per indicator it counts in or sums into — its type's total, the total again under
-- its locality, its sector's, its charter capital, its members: up to five rows carrying the same
-- entity and period, 5.3 of the 6.9 million members at national scale, written, summarized and
-- read back by every full refresh. They are now one row of mart.registry_member_period with
-- what those rows carried; mart.plan_indicator_members, as analysts, the exports and the lineage
-- read it, is a view giving the same rows as before: the other models' members
-- (mart.plan_indicator_member_rows, the table renamed) and these unpivoted
-- (mart.registry_indicator names each type's indicators). The member totals
-- (include/sql/marts/700_member_totals.sql) read the table, each row once.
--
-- The members stored until now are dropped rather than moved, and the mark that they are whole
-- with them (audit.marts_members_intact, migration 0160): the next refresh, incremental or not,
-- recomputes every period, as after a crash. Until then the members are empty.
ALTER TABLE mart.plan_indicator_members RENAME TO plan_indicator_member_rows;
ALTER INDEX mart.plan_indicator_members_brin RENAME TO plan_indicator_member_rows_brin;
TRUNCATE mart.plan_indicator_member_rows;
DELETE FROM audit.marts_members_intact;

-- Each entity type's indicators in the registry model: its total (by locality too where the
-- catalogue says so), its sector grouping, its charter capital (THT: none) and its members, as
-- the model declares them (include/sql/marts/100_registry.sql writes them here each time it runs).
CREATE TABLE mart.registry_indicator (
    entity_type   text PRIMARY KEY,
    total_code    text NOT NULL,
    sector_code   text NOT NULL,
    capital_code  text,
    members_code  text NOT NULL
);

-- Unlogged like the other members (migration 0160), emptied with them by a crash, which
-- audit.marts_members_intact then tells. Written in period order, then entity type (as the
-- registry as of each period is: 010_registry_as_of.sql), so a BRIN index finds a period's rows.
-- No foreign key to mart.registry_indicator: checked row by row, it took the write of the
-- national registry's 1.3 million rows from 1.4 to 7.5 s (2 cores); the model writes only the
-- types it has just declared there.
CREATE UNLOGGED TABLE mart.registry_member_period (
    period_start                date    NOT NULL,
    period_end                  date    NOT NULL,
    entity_code                 text    NOT NULL,
    entity_type                 text    NOT NULL,
    sector                      text,
    locality                    text,
    old_district_code           text,
    new_unit_code               text,
    charter_capital_trieu_dong  numeric,
    members                     numeric
);
CREATE INDEX registry_member_period_brin ON mart.registry_member_period
    USING brin (period_end, period_start, entity_type)
    WITH (pages_per_range = 16, autosummarize = on);

-- The members as they were, one row per indicator × breakdown × period × entity: the stored rows,
-- then each registry row as the rows it stands for (a figure that is unknown is not listed).
-- Each branch names its indicator as a column of mart.registry_indicator: a query of one
-- indicator reads the others' branches only if that small table names it there.
CREATE VIEW mart.plan_indicator_members AS
SELECT indicator_code, breakdown, period_start, period_end, entity_code, contribution, weight
FROM mart.plan_indicator_member_rows
UNION ALL
SELECT i.total_code, '', r.period_start, r.period_end, r.entity_code, 1::numeric, NULL::numeric
FROM mart.registry_member_period AS r JOIN mart.registry_indicator AS i USING (entity_type)
UNION ALL
SELECT i.total_code, 'locality=' || r.locality, r.period_start, r.period_end, r.entity_code, 1,
       NULL
FROM mart.registry_member_period AS r JOIN mart.registry_indicator AS i USING (entity_type)
WHERE r.locality IS NOT NULL
UNION ALL
SELECT i.sector_code, 'sector=' || r.sector, r.period_start, r.period_end, r.entity_code, 1, NULL
FROM mart.registry_member_period AS r JOIN mart.registry_indicator AS i USING (entity_type)
WHERE r.sector IS NOT NULL
UNION ALL
SELECT i.capital_code, '', r.period_start, r.period_end, r.entity_code,
       r.charter_capital_trieu_dong, NULL
FROM mart.registry_member_period AS r JOIN mart.registry_indicator AS i USING (entity_type)
WHERE r.charter_capital_trieu_dong IS NOT NULL AND i.capital_code IS NOT NULL
UNION ALL
SELECT i.members_code, '', r.period_start, r.period_end, r.entity_code, r.members, NULL
FROM mart.registry_member_period AS r JOIN mart.registry_indicator AS i USING (entity_type)
WHERE r.members IS NOT NULL;

-- The models insert their members into the view as before (include/sql/marts/*.sql): they are
-- stored rows (the registry model writes its per-entity figures to mart.registry_member_period
-- itself). A rule, not a trigger: an INSERT … SELECT of a million rows stays one statement.
CREATE RULE plan_indicator_members_insert AS ON INSERT TO mart.plan_indicator_members
DO INSTEAD INSERT INTO mart.plan_indicator_member_rows
    (indicator_code, breakdown, period_start, period_end, entity_code, contribution, weight)
VALUES (NEW.indicator_code, NEW.breakdown, NEW.period_start, NEW.period_end, NEW.entity_code,
        NEW.contribution, NEW.weight);
ALTER VIEW mart.plan_indicator_members ALTER COLUMN breakdown SET DEFAULT '';

-- The members' upkeep (include/sql/marts/upkeep/members_written.sql), as the tables' owner
-- (migrations 0120, 0150), now of both tables.
CREATE OR REPLACE FUNCTION mart.summarize_new_members() RETURNS integer
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
RETURN brin_summarize_new_values('mart.plan_indicator_member_rows_brin'::regclass)
     + brin_summarize_new_values('mart.registry_member_period_brin'::regclass);

CREATE OR REPLACE FUNCTION mart.analyze_members_once() RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    analyzed boolean := false;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_stats
                   WHERE schemaname = 'mart' AND tablename = 'plan_indicator_member_rows') THEN
        ANALYZE mart.plan_indicator_member_rows;
        analyzed := true;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_stats
                   WHERE schemaname = 'mart' AND tablename = 'registry_member_period') THEN
        ANALYZE mart.registry_member_period;
        analyzed := true;
    END IF;
    RETURN analyzed;
END
$$;

COMMENT ON TABLE audit.marts_members_intact IS
    'one row while the members (mart.plan_indicator_member_rows and mart.registry_member_period, '
    'unlogged) hold what the last refresh wrote; emptied with them by a crash: the next refresh '
    'then recomputes every period';

COMMENT ON VIEW mart.plan_indicator_members IS
    'Các đơn vị (HTX, LHHTX, THT, quỹ, bên vay) tạo nên từng giá trị chỉ tiêu; đếm hoặc cộng '
    'lại ra đúng giá trị; gồm các dòng lưu (mart.plan_indicator_member_rows) và dòng đăng ký '
    'theo kỳ × đơn vị (mart.registry_member_period) trải ra theo chỉ tiêu; sự cố máy chủ làm '
    'trống, lần làm mới kế tiếp dựng lại toàn bộ — the entities behind each indicator value, '
    'one row per indicator × breakdown × period × entity (its key, kept by the models that write '
    'it): a count has one row per entity counted, a sum one row per entity summed (sum of '
    'contribution = value), a mean one row per entity averaged (mean of contribution, weighted '
    'by weight when set = value), as mart.indicator_aggregation declares; every refresh checks '
    'it. Shares and ratios have none. A view: the stored members '
    '(mart.plan_indicator_member_rows) and the registry''s, stored once per period × entity '
    '(mart.registry_member_period) and listed here under each indicator they count in '
    '(mart.registry_indicator). Both unlogged (derived data): a server crash empties them, and '
    'the next refresh rebuilds them whole; a physical standby or a base backup holds them empty.';
-- The view's columns are the stored rows' (migration 0010): their comments too.
DO $$
DECLARE
    col record;
BEGIN
    FOR col IN
        SELECT attname, col_description(attrelid, attnum) AS comment FROM pg_attribute
        WHERE attrelid = 'mart.plan_indicator_member_rows'::regclass AND attnum > 0
          AND NOT attisdropped
    LOOP
        EXECUTE format('COMMENT ON COLUMN mart.plan_indicator_members.%I IS %L', col.attname,
                       col.comment);
    END LOOP;
END
$$;

COMMENT ON TABLE mart.plan_indicator_member_rows IS
    'Các dòng đơn vị của chỉ tiêu được lưu từng dòng (mọi mô hình trừ các dòng đăng ký theo kỳ × '
    'đơn vị); bảng không ghi nhật ký (unlogged) — the members stored row by row: every model''s '
    'but the registry''s per-entity ones (mart.registry_member_period); read them through '
    'mart.plan_indicator_members, which lists both. One row per indicator × breakdown × period '
    '× entity. Unlogged (derived data): a server crash empties it, and the next refresh '
    'rebuilds it whole.';

COMMENT ON TABLE mart.registry_indicator IS
    'Các chỉ tiêu của từng loại đơn vị trong sổ đăng ký — each entity type''s registry '
    'indicators, by which mart.plan_indicator_members lists the rows of '
    'mart.registry_member_period; one row per entity type';
COMMENT ON COLUMN mart.registry_indicator.entity_type IS
    'Loại đơn vị: HTX, LHHTX, THT — entity type';
COMMENT ON COLUMN mart.registry_indicator.total_code IS
    'Chỉ tiêu tổng số đơn vị (cả phân tổ theo địa bàn) — the count of the type''s entities '
    '(its locality= breakdown too)';
COMMENT ON COLUMN mart.registry_indicator.sector_code IS
    'Chỉ tiêu phân tổ theo ngành (sector=…) — the indicator broken down by sector (sector=…)';
COMMENT ON COLUMN mart.registry_indicator.capital_code IS
    'Chỉ tiêu tổng vốn điều lệ, rỗng nếu không có — the charter capital''s sum; none for THT';
COMMENT ON COLUMN mart.registry_indicator.members_code IS
    'Chỉ tiêu tổng số thành viên — the sum of members';

COMMENT ON TABLE mart.registry_member_period IS
    'HTX, LHHTX, THT đang hoạt động tại cuối mỗi kỳ, một dòng mỗi kỳ × đơn vị, với những gì các '
    'chỉ tiêu đăng ký cần; bảng không ghi nhật ký (unlogged) — the operating HTX, LHHTX and THT '
    'as of each period''s end, one row per period × entity, with what the registry''s indicators '
    'count and sum; mart.plan_indicator_members lists each row under every indicator it counts '
    'in (mart.registry_indicator). Unlogged (derived data): a server crash empties it, and the '
    'next refresh rebuilds it whole.';
COMMENT ON COLUMN mart.registry_member_period.period_start IS
    'Ngày đầu kỳ báo cáo — first day of the reporting period';
COMMENT ON COLUMN mart.registry_member_period.period_end IS
    'Ngày cuối kỳ báo cáo — last day of the reporting period';
COMMENT ON COLUMN mart.registry_member_period.entity_code IS
    'Mã số HTX/LHHTX/THT — registry code of the entity';
COMMENT ON COLUMN mart.registry_member_period.entity_type IS
    'Loại đơn vị: HTX, LHHTX, THT — entity type';
COMMENT ON COLUMN mart.registry_member_period.sector IS
    'Nhóm ngành theo cách phân nhóm của loại đơn vị, rỗng nếu không xác định — the sector in its '
    'type''s grouping (sector=…), null when unknown';
COMMENT ON COLUMN mart.registry_member_period.locality IS
    'Địa bàn trên bản đồ hành chính có hiệu lực cuối kỳ (khong_xac_dinh nếu không có); rỗng nếu '
    'chỉ tiêu tổng của loại không phân tổ theo địa bàn — the locality on the map in force at the '
    'period end (khong_xac_dinh when none); null when the type''s total is not broken down by '
    'locality';
COMMENT ON COLUMN mart.registry_member_period.old_district_code IS
    'Mã huyện trên bản đồ cấp huyện (trước 01/07/2025), khi có phân tổ theo địa bàn — the '
    'district on the district-level map, with the locality';
COMMENT ON COLUMN mart.registry_member_period.new_unit_code IS
    'Mã xã/phường trên bản đồ cấp xã (từ 01/07/2025), khi có phân tổ theo địa bàn — the unit on '
    'the commune-level map, with the locality';
COMMENT ON COLUMN mart.registry_member_period.charter_capital_trieu_dong IS
    'Vốn điều lệ (triệu đồng), rỗng nếu không rõ hoặc là THT — charter capital in trieu_dong '
    '(million VND); null when unknown, or for a THT';
COMMENT ON COLUMN mart.registry_member_period.members IS
    'Số thành viên (của LHHTX: số HTX thành viên), rỗng nếu không rõ — members (of an LHHTX: its '
    'member cooperatives); null when unknown';

SELECT audit.grant_core_to_analysts();
