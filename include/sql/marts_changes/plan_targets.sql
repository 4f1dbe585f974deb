-- What a target annex's merge changes in the marts: no period's values, only the targets set on
-- them, which include/sql/marts/900_plan_targets.sql sets again on every row of
-- mart.plan_indicator in every refresh, full or not (and clears where none is in force any
-- more). So a new version of an annex recomputes no period ('infinity'); the refresh after it
-- runs only the models that run every time. Parameter: %(batch_id)s (not needed).
SELECT 'infinity'::date;
