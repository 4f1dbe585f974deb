-- The administrative map, effective-dated (issue 14). On 01/07/2025 Quảng Ninh's 13 district-level
-- units and 171 communes became 54 commune-level units (Nghị quyết 1679/NQ-UBTVQH15). Both maps,
-- their validity and the crosswalk are reference data, reloaded from include/reference/
-- (admin_maps.csv, admin_units/, admin_unit_aliases.csv) by `htx migrate` (htx/reference.py).
-- They replace core.ref_locality (13 district-level units, Đông Triều still a thị xã).

-- Each map and when it is in force (business dates, Vietnam time).
CREATE TABLE core.ref_admin_map (
    map_version     text PRIMARY KEY,  -- '2024': before the reform; '2025': from 01/07/2025
    locality_level  text NOT NULL CHECK (locality_level IN ('district', 'commune')),
                                       -- the level a registry state's `locality` names under it
    valid_from      date,              -- first day in force (NULL: before any data)
    valid_to        date,              -- last day in force (NULL: still in force)
    legal_basis     text NOT NULL
);

-- Every unit of every map. A GSO code names different places in the two maps: join them only
-- through core.ref_admin_crosswalk.
CREATE TABLE core.ref_admin_unit (
    map_version    text NOT NULL REFERENCES core.ref_admin_map,
    level          text NOT NULL CHECK (level IN ('district', 'commune')),
    unit_code      text NOT NULL,  -- GSO code: 3 digits (district), 5 digits (commune)
    name           text NOT NULL,  -- without its kind word
    kind           text NOT NULL CHECK (kind IN ('thanh_pho', 'thi_xa', 'huyen', 'phuong', 'xa',
                                                 'thi_tran', 'dac_khu')),
    district_code  text,           -- an old commune's district-level unit (same map)
    PRIMARY KEY (map_version, level, unit_code)
);

-- Names of units merged before these maps that registry states still write (huyện Hoành Bồ).
CREATE TABLE core.ref_admin_unit_alias (
    map_version  text NOT NULL,
    level        text NOT NULL,
    unit_code    text NOT NULL,
    alias        text NOT NULL,
    why          text NOT NULL,
    PRIMARY KEY (map_version, level, unit_code, alias),
    FOREIGN KEY (map_version, level, unit_code) REFERENCES core.ref_admin_unit
);

-- Old communes (2024 map) into new units (2025 map): `whole`, or `part` for the 12 split ones.
CREATE TABLE core.ref_admin_crosswalk (
    old_commune_code  text NOT NULL,
    new_unit_code     text NOT NULL,
    whole_or_part     text NOT NULL CHECK (whole_or_part IN ('whole', 'part')),
    PRIMARY KEY (old_commune_code, new_unit_code)
);

-- Registry states placed on both maps (htx.admin_map, by the catalogue's rules): `locality_code`
-- is now the GSO code of the unit `locality` names in the map of the state's record date (3 digits
-- before 01/07/2025, 5 digits from it) instead of one of 13 slugs; the placement on each map and
-- the rule that gave it are new. `htx migrate` places stored states again after reloading the
-- reference data, so a corrected map needs no replay.
ALTER TABLE core.registration_state DROP CONSTRAINT registration_state_locality_code_fkey;
DROP TABLE core.ref_locality;

ALTER TABLE staging.registrations
    ADD COLUMN old_district_code text,
    ADD COLUMN new_unit_code     text,
    ADD COLUMN locality_rule     text;
ALTER TABLE core.registration_state
    ADD COLUMN old_district_code text,  -- district-level unit of the pre-reform map, or NULL
    ADD COLUMN new_unit_code     text,  -- commune-level unit of the 2025 map, or NULL
    ADD COLUMN locality_rule     text;  -- how the state was placed, or why not
COMMENT ON COLUMN core.registration_state.locality_code IS
    'GSO code of the unit `locality` names in the map in force on the record date (updated_at)';
COMMENT ON COLUMN core.registration_state.old_district_code IS
    'the state''s district-level unit on the pre-reform map (htx.admin_map), NULL when none';
COMMENT ON COLUMN core.registration_state.new_unit_code IS
    'the state''s commune-level unit on the 2025 map (htx.admin_map), NULL when none';
COMMENT ON COLUMN core.registration_state.locality_rule IS
    'how the state was placed on both maps, or why it was not';

-- The views over the registry take the new columns.
CREATE OR REPLACE VIEW core.registry_current AS
SELECT * FROM core.registration_state WHERE valid_to IS NULL;

CREATE OR REPLACE VIEW core.registration_state_public AS
SELECT entity_code, updated_at, entity_type, name, main_vsic, locality_raw, locality_code, address,
       registered_on, status, status_since, charter_capital_vnd, members,
       core.mask_id_number(legal_rep_id_number) AS legal_rep_id_number_masked,
       valid_from, valid_to, record_hash, batch_id, source_object, source_row,
       old_district_code, new_unit_code, locality_rule
FROM core.registration_state;

CREATE OR REPLACE VIEW core.registry_current_public AS
SELECT * FROM core.registration_state_public WHERE valid_to IS NULL;

-- Reference data is reloaded by migrations only.
REVOKE INSERT, UPDATE, DELETE, TRUNCATE
    ON core.ref_admin_map, core.ref_admin_unit, core.ref_admin_unit_alias,
       core.ref_admin_crosswalk
    FROM htx_loader;

SELECT audit.grant_core_to_analysts();
