-- What the marts' next refresh must recompute (issue 15 §Marts): every merge records, in its own
-- transaction, the earliest reporting-period end its batch can change (htx.marts_incremental);
-- the marts DAG's refresh takes the records it sees, recomputes the periods ending on or after
-- the earliest of them (and any period new since the last refresh) and deletes those records in
-- the same transaction — so a refresh that fails leaves them for the next one.
-- periods_from NULL: any period may have changed (a feed without a bound, a replay, reference
-- data reloaded): the refresh rebuilds every period. 'infinity': the merge changed no period.
-- No key: a record is never addressed alone (a refresh deletes every record it saw).
CREATE TABLE audit.marts_change (
    batch_id      bigint,        -- NULL: not a merge (a replay, reference data, this migration)
    feed          text   NOT NULL,
    periods_from  date,
    recorded_at   timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE audit.marts_change IS
    'changes merged since the last marts refresh: the earliest reporting-period end each may '
    'change (NULL: any); deleted by the refresh that accounts for them';

-- The marts as they stand were built before any change was recorded: the first refresh is whole.
INSERT INTO audit.marts_change (feed, periods_from) VALUES ('migration 0071', NULL);
