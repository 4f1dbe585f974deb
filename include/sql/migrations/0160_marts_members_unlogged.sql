-- mart.plan_indicator_members unlogged (issue 15, the full refresh under 30 s): its rows are
-- derived data — every refresh rewrites those of the periods it recomputes, and a full one
-- rebuilds all of them from core — so writing them to the WAL as well bought nothing but time:
-- measured on the national data (2 cores, 10⁶ tax rows), the registry model's 5.3 million member
-- rows took 7.7 s of CPU unlogged against 9.7–10.1 s logged.
--
-- The price: a server crash (not a clean shutdown) empties an unlogged table, while
-- mart.plan_indicator keeps its values; a physical standby and a base backup hold it empty too
-- (README, Operations). The refresh notices: audit.marts_members_intact, unlogged as well, gets a
-- row from every refresh that wrote the members (include/sql/marts/upkeep/members_written.sql)
-- and is emptied with them. No row there while mart.plan_indicator has some: the members were
-- lost, and the next refresh, incremental or not, recomputes every period (htx.marts).
ALTER TABLE mart.plan_indicator_members SET UNLOGGED;

CREATE UNLOGGED TABLE audit.marts_members_intact (
    refreshed_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE audit.marts_members_intact IS
    'one row while mart.plan_indicator_members (unlogged) holds what the last refresh wrote; '
    'emptied with it by a crash: the next refresh then recomputes every period';

-- The members as they stand are intact (SET UNLOGGED kept them).
INSERT INTO audit.marts_members_intact DEFAULT VALUES;

COMMENT ON TABLE mart.plan_indicator_members IS
    'Các đơn vị (HTX, LHHTX, THT, quỹ, bên vay) tạo nên từng giá trị chỉ tiêu; đếm hoặc cộng '
    'lại ra đúng giá trị; bảng không ghi nhật ký (unlogged): sự cố máy chủ làm trống bảng, lần '
    'làm mới kế tiếp dựng lại toàn bộ — the entities behind each indicator value, one row per '
    'indicator × breakdown × period × entity (its key, kept by the models that write it): a '
    'count has one row per entity counted, a sum one row per entity summed (sum of contribution '
    '= value), a mean one row per entity averaged (mean of contribution, weighted by weight when '
    'set = value), as mart.indicator_aggregation declares; every refresh checks it. Shares and '
    'ratios have none. Unlogged (derived data): a server crash empties it, and the next refresh '
    'rebuilds it whole; a physical standby or a base backup holds it empty.';
