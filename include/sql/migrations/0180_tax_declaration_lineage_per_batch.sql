-- Lineage per batch, not per row (issue 15): a tax file typed by the database (htx.bulk) stages
-- its rows into its batch's own partition (migration 0070), and every row of it carried the same
-- two values — source_object, the landed object's URL (≈ 100 bytes), and source_file, the
-- delivered path — about a third of the bytes the staging wrote and the marts' tax model scans.
--
-- Now the partition is made without those two columns, filled through
-- staging.tax_declarations_typed (the same columns but those two), and only then given them as
-- PostgreSQL's "fast default": ADD COLUMN with a constant DEFAULT rewrites no row, it stores the
-- value once (pg_attribute.attmissingval) and every row written before reads it; the DEFAULT is
-- then dropped (the rows keep their value; a row written later must name its own). Partitions
-- match their parent's columns by name, so the partition — its two columns last — is then
-- attached to staging.tax_declarations, and merged into core.tax_declaration, as before. Every
-- reader sees the same values as when each row stored them.
--
-- The values come from the audit tables (the batch's one landed object, its delivered path),
-- never from the caller; the DDL is done, as in 0070, by SECURITY DEFINER functions owned by the
-- migration owner with a fixed search_path, for a tax batch named by its id only.

-- Rows typed by the database, before their batch's lineage is set: one partition at a time, and
-- only within the transaction that stages it (core.tax_declaration_close_batch takes it out).
-- Its columns are in the order of the partitions' own (core's without the two), so rows are
-- routed without a conversion.
CREATE TABLE staging.tax_declarations_typed (
    tax_code               text,
    parent_code            char(10),
    is_branch              boolean  GENERATED ALWAYS AS (length(tax_code) > 10) STORED,
    taxpayer_name          text,
    form_code              text,
    period_raw             text,
    period_kind            text,
    period_start           date,
    period_end             date,
    revision               integer,
    filed_on               date,
    revenue_vnd            bigint,
    profit_before_tax_vnd  bigint,
    tax_payable_vnd        bigint,
    batch_id               bigint   NOT NULL,
    source_row             integer  NOT NULL,
    is_latest              boolean
) PARTITION BY LIST (batch_id);
GRANT INSERT ON staging.tax_declarations_typed TO htx_loader;

-- As 0070's two-argument function, optionally without the lineage columns (lineage false).
CREATE FUNCTION core.tax_declaration_create_partition(batch bigint, name text, lineage boolean)
RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    EXECUTE format('CREATE TABLE core_batch.%I (LIKE core.tax_declaration INCLUDING CONSTRAINTS'
                   ' INCLUDING GENERATED, CHECK (batch_id = %L)) PARTITION BY LIST (is_latest)',
                   name, batch);
    IF NOT lineage THEN
        -- dropped from the partitioned table before its leaves exist: the leaves never have them
        EXECUTE format('ALTER TABLE core_batch.%I DROP COLUMN source_object,'
                       ' DROP COLUMN source_file', name);
    END IF;
    EXECUTE format('CREATE TABLE core_batch.%I PARTITION OF core_batch.%I FOR VALUES IN (true)',
                   name || '_latest', name);
    EXECUTE format('CREATE TABLE core_batch.%I PARTITION OF core_batch.%I FOR VALUES IN (false)',
                   name || '_history', name);
END $$;

CREATE OR REPLACE FUNCTION core.tax_declaration_create_partition(batch bigint, name text)
RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM core.tax_declaration_create_partition(batch, name, true);
END $$;

-- Staging a batch typed by the database: its partition, empty and without lineage, attached to
-- staging.tax_declarations_typed (any earlier attempt's is dropped). The loader then inserts
-- through staging.tax_declarations_typed, and closes the batch.
CREATE OR REPLACE FUNCTION core.tax_declaration_open_batch(batch bigint) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    staged constant text := core.tax_declaration_partition(batch, true);
BEGIN
    PERFORM core.tax_declaration_unstage_batch(batch);
    PERFORM core.tax_declaration_create_partition(batch, staged, false);
    EXECUTE format('ALTER TABLE staging.tax_declarations_typed ATTACH PARTITION core_batch.%I'
                   ' FOR VALUES IN (%L)', staged, batch);
END $$;

-- The batch's rows staged: its partition takes its lineage — the batch's one landed object and
-- its delivered path, stored once as the columns' missing value — and joins staging.
CREATE FUNCTION core.tax_declaration_close_batch(batch bigint) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    staged constant text := core.tax_declaration_partition(batch, true);
    landed text;      -- source_object: the landed object's URL
    delivered text;   -- source_file: the delivered path (audit.load_batch.source_object)
BEGIN
    PERFORM core.tax_declaration_check_batch(batch, ARRAY['running', 'staged', 'failed']);
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_inherits
                   WHERE inhrelid = to_regclass(format('core_batch.%I', staged))
                     AND inhparent = 'staging.tax_declarations_typed'::regclass) THEN
        RAISE EXCEPTION 'no partition open for staging: tax_declarations batch %', batch;
    END IF;
    SELECT b.source_object, min(o.object_url) INTO delivered, landed
    FROM audit.load_batch AS b JOIN audit.landed_object AS o USING (batch_id)
    WHERE b.batch_id = batch GROUP BY b.source_object HAVING count(*) = 1;
    IF landed IS NULL THEN
        RAISE EXCEPTION 'not exactly one landed object: tax_declarations batch %', batch;
    END IF;
    EXECUTE format('ALTER TABLE staging.tax_declarations_typed DETACH PARTITION core_batch.%I',
                   staged);
    EXECUTE format('ALTER TABLE core_batch.%I ADD COLUMN source_object text NOT NULL DEFAULT %L,'
                   ' ADD COLUMN source_file text NOT NULL DEFAULT %L', staged, landed, delivered);
    EXECUTE format('ALTER TABLE core_batch.%I ALTER COLUMN source_object DROP DEFAULT,'
                   ' ALTER COLUMN source_file DROP DEFAULT', staged);
    EXECUTE format('ALTER TABLE staging.tax_declarations ATTACH PARTITION core_batch.%I'
                   ' FOR VALUES IN (%L)', staged, batch);
END $$;

REVOKE ALL ON FUNCTION core.tax_declaration_create_partition(bigint, text, boolean),
    core.tax_declaration_close_batch(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION core.tax_declaration_close_batch(bigint) TO htx_loader;
