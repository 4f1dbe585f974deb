-- Tax declarations at national scale (issue 15): each delivered file's rows are written once.
--
-- core.tax_declaration becomes a table partitioned by batch: each batch's rows are a partition of
-- their own, in schema core_batch. A large file read by the database (htx.bulk) is typed straight
-- into that partition while it is staged (attached to staging.tax_declarations meanwhile), and
-- its merge moves the partition from staging to core: no second copy, no index to maintain. A
-- re-sent file's merge drops its predecessor's partition. Small files (the Python parser) stage
-- rows in staging.tax_declarations_parsed as before, and their merge inserts them into a new
-- partition.
--
-- The latest version of each declaration (tax code, form, tax period) is kept by the merge, not
-- sorted out by every reader: each batch's partition is split by is_latest, and the merge flags
-- the rows a batch supersedes or reinstates (core.tax_declaration_settle). A row deleted outside
-- the merge (replay, revalidation) hands latest to the best remaining row of its declaration
-- (trigger below). core.tax_declaration_latest keeps its name and columns.
--
-- Partition DDL needs ownership, which htx_loader never has: four SECURITY DEFINER functions
-- (owned by the migration owner, fixed search_path, every name qualified) do exactly that DDL, for
-- a batch of this feed named by its id, and nothing else.

CREATE SCHEMA core_batch;
COMMENT ON SCHEMA core_batch IS
    'partitions of core tables, one per loaded batch; read them through their core table';
GRANT USAGE ON SCHEMA core_batch TO htx_loader;

DROP VIEW core.tax_declaration_unmatched, core.tax_declaration_latest;
ALTER TABLE core.tax_declaration RENAME TO tax_declaration_0069;
ALTER TABLE staging.tax_declarations RENAME TO tax_declarations_0069;

-- No primary key: a key on a table partitioned by batch and split by is_latest would have to
-- include is_latest, and maintaining it was a third of the load. A row is still one per
-- (batch_id, source_object, source_row): the merge replaces a batch's partition whole.
CREATE TABLE core.tax_declaration (
    tax_code               text     NOT NULL,
    parent_code            char(10) NOT NULL,
    is_branch              boolean  GENERATED ALWAYS AS (length(tax_code) > 10) STORED,
    taxpayer_name          text,
    form_code              text     NOT NULL CHECK (form_code IN ('01/GTGT', '03/TNDN')),
    period_raw             text     NOT NULL,
    period_kind            text     NOT NULL CHECK (period_kind IN ('month', 'quarter', 'year')),
    period_start           date     NOT NULL,
    period_end             date     NOT NULL,
    revision               integer  NOT NULL CHECK (revision >= 0),
    filed_on               date     NOT NULL,
    revenue_vnd            bigint,
    profit_before_tax_vnd  bigint,
    tax_payable_vnd        bigint,
    batch_id               bigint   NOT NULL,
    source_object          text     NOT NULL,
    source_file            text     NOT NULL,
    source_row             integer  NOT NULL,
    -- the version that counts for its tax code, form and tax period: highest Lần nộp, then later
    -- Ngày nộp, then later batch, then later row (exactly one row per declaration)
    is_latest              boolean  NOT NULL
) PARTITION BY LIST (batch_id);

-- Staging has core's shape: a batch typed by the database is staged as its future core partition.
CREATE TABLE staging.tax_declarations (
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
    source_object          text     NOT NULL,
    source_file            text,     -- filled by the merge for parsed rows
    source_row             integer  NOT NULL,
    is_latest              boolean   -- decided by the merge for parsed rows
) PARTITION BY LIST (batch_id);
-- Rows of the Python parser, any batch.
CREATE TABLE staging.tax_declarations_parsed PARTITION OF staging.tax_declarations DEFAULT;
CREATE INDEX ON staging.tax_declarations_parsed (batch_id);
GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE
    ON staging.tax_declarations, staging.tax_declarations_parsed TO htx_loader;

-- The name of a batch's partition in core_batch (staged: while it is a partition of staging).
CREATE FUNCTION core.tax_declaration_partition(batch_id bigint, staged boolean) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN 'tax_declaration_' || lpad(batch_id::text, 8, '0') || CASE WHEN staged THEN '_staged' ELSE '' END;

-- The batch must be one of this feed's; its status says which step may touch its tables.
CREATE FUNCTION core.tax_declaration_check_batch(batch bigint, statuses text[]) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM audit.load_batch AS b
                   WHERE b.batch_id = batch AND b.feed = 'tax_declarations'
                     AND b.status = ANY(statuses)) THEN
        RAISE EXCEPTION 'not a tax_declarations batch in status %: batch %', statuses, batch
            USING ERRCODE = 'insufficient_privilege';
    END IF;
END $$;

-- An empty partition tree for the batch's rows: split by is_latest, checked to hold that batch only
-- (so that attaching it needs no scan).
CREATE FUNCTION core.tax_declaration_create_partition(batch bigint, name text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    EXECUTE format('CREATE TABLE core_batch.%I (LIKE core.tax_declaration INCLUDING CONSTRAINTS'
                   ' INCLUDING GENERATED, CHECK (batch_id = %L)) PARTITION BY LIST (is_latest)',
                   name, batch);
    EXECUTE format('CREATE TABLE core_batch.%I PARTITION OF core_batch.%I FOR VALUES IN (true)',
                   name || '_latest', name);
    EXECUTE format('CREATE TABLE core_batch.%I PARTITION OF core_batch.%I FOR VALUES IN (false)',
                   name || '_history', name);
END $$;

-- Staging a batch again (any batch not in core yet): the partition an earlier staging of it by
-- the database left goes.
CREATE FUNCTION core.tax_declaration_unstage_batch(batch bigint) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM core.tax_declaration_check_batch(batch, ARRAY['running', 'staged', 'failed', 'rejected']);
    EXECUTE format('DROP TABLE IF EXISTS core_batch.%I', core.tax_declaration_partition(batch, true));
END $$;

-- Staging a batch typed by the database: its partition, empty, attached to staging (any earlier
-- attempt's is dropped). The loader then inserts through staging.tax_declarations.
CREATE FUNCTION core.tax_declaration_open_batch(batch bigint) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    staged constant text := core.tax_declaration_partition(batch, true);
BEGIN
    PERFORM core.tax_declaration_unstage_batch(batch);
    PERFORM core.tax_declaration_create_partition(batch, staged);
    EXECUTE format('ALTER TABLE staging.tax_declarations ATTACH PARTITION core_batch.%I'
                   ' FOR VALUES IN (%L)', staged, batch);
END $$;

-- Merging a batch: its staged partition (or, for parsed rows, a new empty one) becomes its
-- partition of core, replacing the one an earlier merge of the same batch made.
CREATE FUNCTION core.tax_declaration_attach_batch(batch bigint) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    staged constant text := core.tax_declaration_partition(batch, true);
    final constant text := core.tax_declaration_partition(batch, false);
BEGIN
    PERFORM core.tax_declaration_check_batch(batch, ARRAY['staged']);
    EXECUTE format('DROP TABLE IF EXISTS core_batch.%I', final);
    IF to_regclass(format('core_batch.%I', staged)) IS NULL THEN
        PERFORM core.tax_declaration_create_partition(batch, final);
    ELSE
        EXECUTE format('ALTER TABLE staging.tax_declarations DETACH PARTITION core_batch.%I', staged);
        EXECUTE format('ALTER TABLE core_batch.%I RENAME TO %I', staged, final);
        EXECUTE format('ALTER TABLE core_batch.%I RENAME TO %I', staged || '_latest', final || '_latest');
        EXECUTE format('ALTER TABLE core_batch.%I RENAME TO %I', staged || '_history', final || '_history');
    END IF;
    EXECUTE format('ALTER TABLE core.tax_declaration ATTACH PARTITION core_batch.%I FOR VALUES IN (%L)',
                   final, batch);
END $$;

-- A batch replaced by a re-sent file (or merged after its successor): its partitions go.
CREATE FUNCTION core.tax_declaration_drop_batch(batch bigint) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM core.tax_declaration_check_batch(
        batch, ARRAY['running', 'staged', 'merged', 'published', 'failed', 'rejected']);  -- any
    EXECUTE format('DROP TABLE IF EXISTS core_batch.%I, core_batch.%I',
                   core.tax_declaration_partition(batch, true),
                   core.tax_declaration_partition(batch, false));
END $$;

REVOKE ALL ON FUNCTION core.tax_declaration_check_batch(bigint, text[]),
    core.tax_declaration_create_partition(bigint, text), core.tax_declaration_unstage_batch(bigint),
    core.tax_declaration_open_batch(bigint), core.tax_declaration_attach_batch(bigint),
    core.tax_declaration_drop_batch(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION core.tax_declaration_unstage_batch(bigint),
    core.tax_declaration_open_batch(bigint), core.tax_declaration_attach_batch(bigint),
    core.tax_declaration_drop_batch(bigint) TO htx_loader;

-- Declarations whose latest version may have changed: pg_temp.tax_declaration_unsettled holds
-- their keys, with all_rows false when the latest is certainly among the rows flagged latest (a
-- batch's new rows against the others'), true when any row may be it (its latest was removed).
-- Afterwards exactly the best row of each is flagged latest, and the list is empty. Rows flagged
-- latest are read for every key, the others only for all_rows keys: the partitions pruned.
CREATE FUNCTION core.tax_declaration_create_unsettled() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    CREATE TEMP TABLE IF NOT EXISTS tax_declaration_unsettled (
        tax_code text, form_code text, period_kind text, period_start date, all_rows boolean
    ) ON COMMIT DROP;
END $$;

CREATE FUNCTION core.tax_declaration_settle() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_temp.tax_declaration_unsettled) THEN
        RETURN;
    END IF;
    CREATE TEMP TABLE tax_declaration_keys ON COMMIT DROP AS
    SELECT tax_code, form_code, period_kind, period_start, bool_or(all_rows) AS all_rows
    FROM pg_temp.tax_declaration_unsettled GROUP BY 1, 2, 3, 4;
    ANALYZE pg_temp.tax_declaration_keys;
    CREATE TEMP TABLE tax_declaration_contenders ON COMMIT DROP AS
    SELECT batch_id, source_object, source_row, is_latest,
           row_number() OVER (PARTITION BY tax_code, form_code, period_kind, period_start
                              ORDER BY revision DESC, filed_on DESC, batch_id DESC,
                                       source_object DESC, source_row DESC) = 1 AS best
    FROM (SELECT d.* FROM pg_temp.tax_declaration_keys AS k
          JOIN core.tax_declaration AS d USING (tax_code, form_code, period_kind, period_start)
          WHERE d.is_latest
          UNION ALL
          SELECT d.* FROM pg_temp.tax_declaration_keys AS k
          JOIN core.tax_declaration AS d USING (tax_code, form_code, period_kind, period_start)
          WHERE NOT d.is_latest AND k.all_rows) AS d;
    DELETE FROM pg_temp.tax_declaration_contenders WHERE is_latest = best;   -- already right
    UPDATE core.tax_declaration AS d SET is_latest = c.best
    FROM pg_temp.tax_declaration_contenders AS c
    WHERE d.batch_id = ANY(ARRAY(SELECT DISTINCT batch_id FROM pg_temp.tax_declaration_contenders))
      AND d.batch_id = c.batch_id AND d.source_object = c.source_object
      AND d.source_row = c.source_row AND d.is_latest = c.is_latest;
    DROP TABLE pg_temp.tax_declaration_keys, pg_temp.tax_declaration_contenders;
    DELETE FROM pg_temp.tax_declaration_unsettled;
END $$;

-- Rows deleted outside the merge (replay, revalidation): each declaration that lost its latest
-- row gets its best remaining one.
CREATE FUNCTION core.tax_declaration_after_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM core.tax_declaration_create_unsettled();
    INSERT INTO pg_temp.tax_declaration_unsettled
    SELECT DISTINCT tax_code, form_code, period_kind, period_start, true FROM deleted WHERE is_latest;
    PERFORM core.tax_declaration_settle();
    RETURN NULL;
END $$;
CREATE TRIGGER tax_declaration_after_delete AFTER DELETE ON core.tax_declaration
    REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT
    EXECUTE FUNCTION core.tax_declaration_after_delete();

-- The rows already loaded, each batch in its partition, with its latest versions.
DO $$
DECLARE
    batch bigint;
BEGIN
    FOR batch IN SELECT DISTINCT batch_id FROM core.tax_declaration_0069 ORDER BY 1 LOOP
        PERFORM core.tax_declaration_create_partition(batch, core.tax_declaration_partition(batch, false));
        EXECUTE format('ALTER TABLE core.tax_declaration ATTACH PARTITION core_batch.%I FOR VALUES IN (%L)',
                       core.tax_declaration_partition(batch, false), batch);
    END LOOP;
END $$;
INSERT INTO core.tax_declaration (
    tax_code, parent_code, taxpayer_name, form_code, period_raw, period_kind, period_start,
    period_end, revision, filed_on, revenue_vnd, profit_before_tax_vnd, tax_payable_vnd,
    batch_id, source_object, source_file, source_row, is_latest)
SELECT tax_code, parent_code, taxpayer_name, form_code, period_raw, period_kind, period_start,
       period_end, revision, filed_on, revenue_vnd, profit_before_tax_vnd, tax_payable_vnd,
       batch_id, source_object, source_file, source_row,
       row_number() OVER (PARTITION BY tax_code, form_code, period_kind, period_start
                          ORDER BY revision DESC, filed_on DESC, batch_id DESC,
                                   source_object DESC, source_row DESC) = 1
FROM core.tax_declaration_0069;
INSERT INTO staging.tax_declarations (
    tax_code, parent_code, taxpayer_name, form_code, period_raw, period_kind, period_start,
    period_end, revision, filed_on, revenue_vnd, profit_before_tax_vnd, tax_payable_vnd,
    batch_id, source_object, source_row)
SELECT tax_code, parent_code, taxpayer_name, form_code, period_raw, period_kind, period_start,
       period_end, revision, filed_on, revenue_vnd, profit_before_tax_vnd, tax_payable_vnd,
       batch_id, source_object, source_row
FROM staging.tax_declarations_0069;
DROP TABLE core.tax_declaration_0069, staging.tax_declarations_0069;

-- Same name, same columns as before; now read from the rows the merge flags, never sorted.
CREATE VIEW core.tax_declaration_latest AS
SELECT tax_code, parent_code, is_branch, taxpayer_name, form_code, period_raw, period_kind,
       period_start, period_end, revision, filed_on, revenue_vnd, profit_before_tax_vnd,
       tax_payable_vnd, batch_id, source_object, source_file, source_row
FROM core.tax_declaration
WHERE is_latest;

CREATE VIEW core.tax_declaration_unmatched AS
SELECT d.tax_code, d.parent_code, d.is_branch, d.taxpayer_name, d.form_code, d.period_raw,
       d.period_kind, d.period_start, d.period_end, d.revision, d.filed_on, d.revenue_vnd,
       d.profit_before_tax_vnd, d.tax_payable_vnd, d.batch_id, d.source_object, d.source_file,
       d.source_row
FROM core.tax_declaration AS d
WHERE NOT EXISTS (SELECT 1 FROM core.registration_state AS s WHERE s.entity_code = d.parent_code);

SELECT audit.grant_core_to_analysts();
