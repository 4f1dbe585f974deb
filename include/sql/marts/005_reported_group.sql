-- The groups (indicator × breakdown × period) each model reports whether or not any entity is in
-- them: a count or a sum with no members reads 0 there (800_values_from_members.sql). A mean
-- needs members, so a model lists no group of its means.
CREATE TEMPORARY TABLE reported_group (
    indicator_code  text NOT NULL,
    breakdown       text NOT NULL,
    period_start    date NOT NULL,
    period_end      date NOT NULL
) ON COMMIT DROP;
