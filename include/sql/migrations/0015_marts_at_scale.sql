-- mart.plan_indicator_members at national scale (issue 7): each refresh deletes and rewrites
-- every row — millions with 35,000 cooperatives (one row per indicator × period × entity) — and
-- the b-tree on (indicator_code, period_end, period_start) cost more than the rows themselves:
-- measured on 2 cores, 4.2 million registry rows took 12.4 s with it and 4.7 s without. A BRIN
-- index costs almost nothing to maintain and still finds one indicator's period: the refresh
-- writes the rows grouped by indicator and, within it, by period (htx.marts models), so each
-- block range holds few indicators and periods. Ranges written by a refresh are summarized by
-- the autovacuum that follows it (the refresh deletes every earlier row, so one always follows;
-- autosummarize asks for it sooner): until then a lookup scans them (about 1 s at national
-- scale), after it one indicator's period is found in milliseconds.
DROP INDEX mart.plan_indicator_members_indicator_code_period_end_period_sta_idx;
CREATE INDEX plan_indicator_members_brin ON mart.plan_indicator_members
    USING brin (indicator_code, period_end, period_start)
    WITH (pages_per_range = 16, autosummarize = on);
