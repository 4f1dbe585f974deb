-- Who may do what in the warehouse. Two group roles, neither can log in (NOLOGIN):
--   htx_loader  — what the DAGs need: read and write staging, core, quarantine, audit and mart;
--                 read the reference data (core.ref_*, mart.plan_target) and the migration
--                 ledger. No DDL, no superuser: migrations run as the warehouse owner instead.
--   htx_analyst — read mart, and the non-personal columns of core; nothing else, no writes.
-- People and services log in as their own users, members of a group (an administrator runs,
-- with a password from the secrets store, never one from this repository):
--   CREATE ROLE airflow_warehouse LOGIN PASSWORD '…' IN ROLE htx_loader;
--   CREATE ROLE nguyen_van_a      LOGIN PASSWORD '…' IN ROLE htx_analyst;
-- The pipeline switches to htx_loader when it connects (htx.db.transaction), so even the demo's
-- superuser connection runs every DAG with the loader's rights only.
--
-- Roles belong to the server, grants to this database: several warehouses (the tests' among
-- them) share one server, so a role is created only when missing, even by concurrent migrators.
DO $$
BEGIN
    CREATE ROLE htx_loader NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$;
DO $$
BEGIN
    CREATE ROLE htx_analyst NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$;

-- Loader: the layers it fills, and what later migrations (run by this same owner) create.
GRANT USAGE ON SCHEMA staging, core, mart, quarantine, audit TO htx_loader;
GRANT SELECT, INSERT, UPDATE, DELETE
    ON ALL TABLES IN SCHEMA staging, core, mart, quarantine, audit TO htx_loader;
GRANT TRUNCATE ON ALL TABLES IN SCHEMA staging TO htx_loader;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA staging, core, mart, quarantine, audit TO htx_loader;
-- Reference data and the ledger are reloaded by migrations only.
REVOKE INSERT, UPDATE, DELETE
    ON core.ref_locality, core.ref_vsic_division, mart.plan_target, audit.schema_migration
    FROM htx_loader;
ALTER DEFAULT PRIVILEGES GRANT USAGE ON SCHEMAS TO htx_loader;
ALTER DEFAULT PRIVILEGES GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO htx_loader;
ALTER DEFAULT PRIVILEGES GRANT USAGE, SELECT ON SEQUENCES TO htx_loader;

-- Personal data (Nghị định 13/2023 on personal data protection): marked where it lives. Every
-- column named like a column marked here is withheld from analysts in every core relation,
-- views included (core.registry_current repeats these columns).
COMMENT ON COLUMN core.registration_state.legal_rep_name IS
    'personal data: the legal representative''s full name';
COMMENT ON COLUMN core.registration_state.legal_rep_id_number IS
    'personal data: the legal representative''s citizen ID (CCCD) number';

-- An ID number with all but its first three and last two characters hidden: 022*******34.
CREATE FUNCTION core.mask_id_number(id_number text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN length(id_number) > 5
            THEN left(id_number, 3) || repeat('*', length(id_number) - 5) || right(id_number, 2)
            ELSE repeat('*', length(id_number)) END;

-- What analysts read of the registry: every state / the current ones, the representative's name
-- left out and the ID number masked.
CREATE VIEW core.registration_state_public AS
SELECT entity_code, updated_at, entity_type, name, main_vsic, locality_raw, locality_code, address,
       registered_on, status, status_since, charter_capital_vnd, members,
       core.mask_id_number(legal_rep_id_number) AS legal_rep_id_number_masked,
       valid_from, valid_to, record_hash, batch_id, source_object, source_row
FROM core.registration_state;

CREATE VIEW core.registry_current_public AS
SELECT * FROM core.registration_state_public WHERE valid_to IS NULL;

GRANT SELECT ON core.registration_state_public, core.registry_current_public TO htx_loader;

-- Analyst: mart whole (now and later), core column by column. A migration that adds a core
-- table or view ends with `SELECT audit.grant_core_to_analysts();` (and marks its personal
-- columns first, as above).
GRANT USAGE ON SCHEMA mart, core TO htx_analyst;
GRANT SELECT ON ALL TABLES IN SCHEMA mart TO htx_analyst;
ALTER DEFAULT PRIVILEGES IN SCHEMA mart GRANT SELECT ON TABLES TO htx_analyst;

-- Names of the core columns marked as personal data (a comment starting 'personal data').
CREATE FUNCTION audit.personal_column_names() RETURNS SETOF name
LANGUAGE sql STABLE AS $$
    SELECT DISTINCT a.attname
    FROM pg_attribute a
    JOIN pg_class c ON c.oid = a.attrelid
    WHERE c.relnamespace = 'core'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
      AND col_description(a.attrelid, a.attnum) LIKE 'personal data%'
$$;

CREATE FUNCTION audit.grant_core_to_analysts() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    relation record;
    readable text;
BEGIN
    FOR relation IN
        SELECT c.oid, c.relname FROM pg_class c
        WHERE c.relnamespace = 'core'::regnamespace AND c.relkind IN ('r', 'v', 'm', 'p')
    LOOP
        SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) INTO readable
        FROM pg_attribute a
        WHERE a.attrelid = relation.oid AND a.attnum > 0 AND NOT a.attisdropped
          AND a.attname NOT IN (SELECT personal FROM audit.personal_column_names() AS personal);
        IF readable IS NOT NULL THEN
            EXECUTE format('GRANT SELECT (%s) ON core.%I TO htx_analyst', readable, relation.relname);
        END IF;
    END LOOP;
END $$;

SELECT audit.grant_core_to_analysts();
