-- A tax file typed by the database (htx.bulk) is staged by several sessions at once (issue 15):
-- each types the rows whose tax code hashes to it, on its own core, and inserts them into the
-- batch's partition. Until now the partition was made inside the staging transaction
-- (core.tax_declaration_open_batch, migration 0180), where no other session can see it.
--
-- Now it is opened in a transaction of its own, committed before the sessions start, under a
-- name of its own for each staging attempt (`tax_declaration_<batch>_open_<n>`), attached to
-- nothing: the staging transaction may just have dropped an earlier attempt's partition
-- (core.tax_declaration_unstage_batch, uncommitted), and a committed one of the same name, or
-- attached beside it, would wait for that transaction — which waits for its sessions. The
-- loader may insert into it (granted here, revoked when it closes). Closing it, in the staging
-- transaction, gives it the batch's staged name, its lineage (as in 0180) and its place in
-- staging: the batch is staged whole, or not at all, as before. An attempt that failed leaves
-- its open partition, attached to nothing and so read by nothing, until the batch is staged
-- again, rejected or replaced (unstage drops it).
--
-- As in 0070 and 0180: SECURITY DEFINER functions owned by the migration owner, a fixed
-- search_path, a tax batch named by its id only.

-- The open partitions of a batch's staging attempts (normally one, or none).
CREATE FUNCTION core.tax_declaration_open_partitions(batch bigint) RETURNS SETOF text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT c.relname::text FROM pg_class AS c
    WHERE c.relnamespace = 'core_batch'::regnamespace AND c.relkind = 'p'
      AND NOT c.relispartition
      AND c.relname::text ~ ('^' || core.tax_declaration_partition(batch, false) || '_open_[0-9]+$')
    ORDER BY 1
$$;

-- Their tables go with the batch's staged partition when it is staged again or rejected
-- (unstage), and with all its partitions when it is replaced (drop).
CREATE FUNCTION core.tax_declaration_drop_open_partitions(batch bigint) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    opened text;
BEGIN
    FOR opened IN SELECT core.tax_declaration_open_partitions(batch) LOOP
        EXECUTE format('DROP TABLE core_batch.%I', opened);
    END LOOP;
END $$;

CREATE OR REPLACE FUNCTION core.tax_declaration_unstage_batch(batch bigint) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM core.tax_declaration_check_batch(batch, ARRAY['running', 'staged', 'failed', 'rejected']);
    EXECUTE format('DROP TABLE IF EXISTS core_batch.%I', core.tax_declaration_partition(batch, true));
    PERFORM core.tax_declaration_drop_open_partitions(batch);
END $$;

CREATE OR REPLACE FUNCTION core.tax_declaration_drop_batch(batch bigint) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM core.tax_declaration_check_batch(
        batch, ARRAY['running', 'staged', 'merged', 'published', 'failed', 'rejected']);  -- any
    EXECUTE format('DROP TABLE IF EXISTS core_batch.%I, core_batch.%I',
                   core.tax_declaration_partition(batch, true),
                   core.tax_declaration_partition(batch, false));
    PERFORM core.tax_declaration_drop_open_partitions(batch);
END $$;

-- A new open partition for the batch, empty and without lineage; returns its name.
CREATE FUNCTION core.tax_declaration_open_shared_batch(batch bigint) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    opened constant text := core.tax_declaration_partition(batch, false) || '_open_'
                            || pg_current_xact_id()::text;
BEGIN
    PERFORM core.tax_declaration_check_batch(batch, ARRAY['running', 'staged', 'failed']);
    PERFORM core.tax_declaration_create_partition(batch, opened, false);
    EXECUTE format('GRANT INSERT ON core_batch.%I TO htx_loader', opened);
    RETURN opened;
END $$;

-- The batch's rows staged: its one open partition becomes its staged partition, takes its
-- lineage — the batch's one landed object and its delivered path, stored once as the columns'
-- missing value — and joins staging.
CREATE OR REPLACE FUNCTION core.tax_declaration_close_batch(batch bigint) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    staged constant text := core.tax_declaration_partition(batch, true);
    opened text[];
    landed text;      -- source_object: the landed object's URL
    delivered text;   -- source_file: the delivered path (audit.load_batch.source_object)
BEGIN
    PERFORM core.tax_declaration_check_batch(batch, ARRAY['running', 'staged', 'failed']);
    opened := ARRAY(SELECT core.tax_declaration_open_partitions(batch));
    IF cardinality(opened) <> 1 THEN
        RAISE EXCEPTION 'not exactly one partition open for staging (%): tax_declarations batch %',
            cardinality(opened), batch;
    END IF;
    SELECT b.source_object, min(o.object_url) INTO delivered, landed
    FROM audit.load_batch AS b JOIN audit.landed_object AS o USING (batch_id)
    WHERE b.batch_id = batch GROUP BY b.source_object HAVING count(*) = 1;
    IF landed IS NULL THEN
        RAISE EXCEPTION 'not exactly one landed object: tax_declarations batch %', batch;
    END IF;
    EXECUTE format('REVOKE INSERT ON core_batch.%I FROM htx_loader', opened[1]);
    EXECUTE format('ALTER TABLE core_batch.%I RENAME TO %I', opened[1], staged);
    EXECUTE format('ALTER TABLE core_batch.%I RENAME TO %I', opened[1] || '_latest', staged || '_latest');
    EXECUTE format('ALTER TABLE core_batch.%I RENAME TO %I', opened[1] || '_history', staged || '_history');
    EXECUTE format('ALTER TABLE core_batch.%I ADD COLUMN source_object text NOT NULL DEFAULT %L,'
                   ' ADD COLUMN source_file text NOT NULL DEFAULT %L', staged, landed, delivered);
    EXECUTE format('ALTER TABLE core_batch.%I ALTER COLUMN source_object DROP DEFAULT,'
                   ' ALTER COLUMN source_file DROP DEFAULT', staged);
    EXECUTE format('ALTER TABLE staging.tax_declarations ATTACH PARTITION core_batch.%I'
                   ' FOR VALUES IN (%L)', staged, batch);
END $$;

-- The partition made inside the staging transaction, and the parent it was filled through, are
-- no longer used.
DROP FUNCTION core.tax_declaration_open_batch(bigint);
DROP TABLE staging.tax_declarations_typed;

REVOKE ALL ON FUNCTION core.tax_declaration_open_partitions(bigint),
    core.tax_declaration_drop_open_partitions(bigint),
    core.tax_declaration_open_shared_batch(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION core.tax_declaration_open_shared_batch(bigint) TO htx_loader;
