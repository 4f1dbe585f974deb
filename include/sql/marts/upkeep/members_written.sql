-- Run by the refresh (htx.marts) once every model writing members has run, before the first one
-- reading them back (700_member_totals.sql): upkeep of the members as stored (the member rows,
-- mart.plan_indicator_member_rows, and the registry's per entity, mart.registry_member_period:
-- migration 0190), no model's.
--
-- Their BRIN indexes summarized now, not after the next autovacuum: the member totals and the
-- checks, and the next refresh, read only the periods and indicators they ask for (migration
-- 0120); and, the first time, their statistics taken (migration 0150), without which the planner
-- sorts the millions of rows it takes for a few.
SELECT mart.summarize_new_members(), mart.analyze_members_once();

-- The members this refresh leaves are whole: a crash would empty this row with them (all
-- unlogged, migrations 0160 and 0190), and the next refresh would then recompute every period.
DELETE FROM audit.marts_members_intact;
INSERT INTO audit.marts_members_intact DEFAULT VALUES;
