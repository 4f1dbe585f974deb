-- The marts' refresh at national scale (issue 15): what it needs to know of each tax batch, kept
-- beside the batch instead of read from its rows at every refresh.
--
-- core.tax_declaration_batch: per batch of tax declarations, the filing dates and the tax periods
-- its rows reach. Recorded by the batch's merge (include/sql/merge/tax_declarations.sql), from
-- its staged rows, whatever runs the merge. The reporting periods (include/sql/marts/periods/) take the tax
-- data's first and last day from it instead of every declaration's filing date, and the tax
-- model (020_tax_as_of.sql) reads only the batches whose tax periods can count in the periods a
-- refresh recomputes. Rows leave core a batch at a time (a re-sent file's predecessor dropped,
-- a batch deleted by a replay or revalidation): a batch counts while core holds a row of it.
CREATE TABLE core.tax_declaration_batch (
    batch_id      bigint PRIMARY KEY,
    filed_from    date NOT NULL,    -- the earliest Ngày nộp (filing date) of its rows
    filed_to      date NOT NULL,    -- the latest
    periods_from  date NOT NULL,    -- the earliest start of a tax period of its rows
    periods_to    date NOT NULL     -- the latest start of a tax period of its rows
);
COMMENT ON TABLE core.tax_declaration_batch IS
    'per batch of core.tax_declaration: the filing dates and tax periods its rows reach (for the '
    'marts refresh); a batch counts while core holds a row of it';

INSERT INTO core.tax_declaration_batch
SELECT batch_id, min(filed_on), max(filed_on), min(period_start), max(period_start)
FROM core.tax_declaration
GROUP BY batch_id;

-- The members' BRIN index summarized by the refresh that wrote them (htx.marts), not by the
-- autovacuum that follows it: until then every lookup of a period's members — the next
-- refresh's deletion, its member totals and checks — reads the whole table. Summarizing needs
-- the index's owner: this function (owned by the migration owner, fixed search_path) does that
-- for this index only.
CREATE FUNCTION mart.summarize_new_members() RETURNS integer
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
RETURN brin_summarize_new_values('mart.plan_indicator_members_brin'::regclass);
REVOKE ALL ON FUNCTION mart.summarize_new_members() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mart.summarize_new_members() TO htx_loader;

SELECT audit.grant_core_to_analysts();
