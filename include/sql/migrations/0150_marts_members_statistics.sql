-- The members' statistics taken by the refresh that wrote them when they have none yet (a new
-- warehouse's first refresh, issue 15): without them the planner takes the millions of rows a
-- full refresh has just written for a few hundred, and the member totals
-- (include/sql/marts/700_member_totals.sql) and the locality check sort them instead of hashing
-- them — measured on the national data (6.9 million members, 2 cores): 3.5 + 6.8 s without
-- statistics, 1.5 + 2.0 s with them, for an ANALYZE of 0.3 s. Later refreshes use the statistics
-- of the autovacuum that follows each refresh. Analyzing needs the table's owner: this function
-- (owned by the migration owner, fixed search_path) does that for this table only.
CREATE FUNCTION mart.analyze_members_once() RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_stats
               WHERE schemaname = 'mart' AND tablename = 'plan_indicator_members') THEN
        RETURN false;
    END IF;
    ANALYZE mart.plan_indicator_members;
    RETURN true;
END
$$;
REVOKE ALL ON FUNCTION mart.analyze_members_once() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mart.analyze_members_once() TO htx_loader;

SELECT audit.grant_core_to_analysts();
