-- Reference data, reloaded from include/reference/*.csv by `htx migrate` (see htx/reference.py).
CREATE TABLE core.ref_locality (
    locality_code  text PRIMARY KEY,
    name           text NOT NULL,   -- Vietnamese name without its administrative prefix
    kind           text NOT NULL    -- thanh_pho (city), thi_xa (town), huyen (district)
);

-- VSIC 2018 divisions (first two digits of a level-4 class) onto the plan's groupings.
CREATE TABLE core.ref_vsic_division (
    division      smallint PRIMARY KEY,
    section       char(1)  NOT NULL,
    plan_sector   text     NOT NULL,  -- HTX_BY_SECTOR breakdown
    tht_group     text     NOT NULL,  -- THT_TOTAL breakdown
    lhhtx_group   text     NOT NULL   -- LHHTX_TOTAL breakdown
);

-- Plan targets, one row per plan year, indicator and breakdown.
CREATE TABLE mart.plan_target (
    plan_year       smallint NOT NULL,
    indicator_code  text     NOT NULL,
    breakdown       text     NOT NULL DEFAULT '',
    target          numeric  NOT NULL,
    PRIMARY KEY (plan_year, indicator_code, breakdown)
);
