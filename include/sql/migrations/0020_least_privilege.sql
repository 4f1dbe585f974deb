-- Least privilege for the DAGs' login and the analysts (issue 11 §6).
--
-- The DAGs log in as their own login (not a superuser, not the owner), a member of htx_loader;
-- `python -m htx migrate` gives that login its group (htx.migrate.grant_dags_login). These
-- migrations run as the warehouse's owner.

-- 1. Nobody creates anything by default in this database: PostgreSQL lets every role (PUBLIC)
--    create temporary tables and large objects, and before version 15 tables in `public`. Only
--    the loader keeps temporary tables, which the tax feed's database reader uses (htx.bulk).
DO $$
BEGIN
    EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
    EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO htx_loader', current_database());
END $$;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
-- The catalog's functions belong to the bootstrap superuser: an owner that is not one is told
-- "no privileges could be revoked" (a warning) and the large-object functions stay open.
REVOKE EXECUTE ON FUNCTION pg_catalog.lo_create(oid), pg_catalog.lo_creat(integer),
    pg_catalog.lo_from_bytea(oid, bytea), pg_catalog.lo_import(text),
    pg_catalog.lo_import(text, oid) FROM PUBLIC;

-- 2. Personal data is written by the loader and read back by no one but the owner: in every
--    core relation that holds a column marked personal (0012_roles.sql), the loader, like the
--    analysts, may read only the other columns. The merge of registrations writes those columns
--    without reading them (include/sql/merge/registrations.sql). grant_core_to_analysts(), which
--    every migration adding a core relation ends with, now does both.
ALTER FUNCTION audit.grant_core_to_analysts() RENAME TO grant_core_columns_to_analysts;

CREATE FUNCTION audit.withhold_personal_columns_from_loader() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    relation record;
BEGIN
    FOR relation IN
        SELECT c.relname, string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum)
                   FILTER (WHERE a.attname NOT IN (SELECT audit.personal_column_names())) AS readable
        FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
        WHERE c.relnamespace = 'core'::regnamespace AND c.relkind IN ('r', 'v', 'm', 'p')
          AND a.attnum > 0 AND NOT a.attisdropped
        GROUP BY c.relname
        HAVING bool_or(a.attname IN (SELECT audit.personal_column_names()))
    LOOP
        EXECUTE format('REVOKE SELECT ON core.%I FROM htx_loader', relation.relname);
        EXECUTE format('GRANT SELECT (%s) ON core.%I TO htx_loader', relation.readable,
                       relation.relname);
    END LOOP;
END $$;

CREATE FUNCTION audit.grant_core_to_analysts() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM audit.grant_core_columns_to_analysts();
    PERFORM audit.withhold_personal_columns_from_loader();
END $$;

COMMENT ON FUNCTION audit.grant_core_to_analysts() IS
    'Grants analysts the non-personal columns of every core relation and withholds the personal '
    'ones from the loader; every migration adding a core table or view ends by calling it.';

SELECT audit.grant_core_to_analysts();
