-- The toy feed's tables: staging, quarantine (the shape every feed's has) and core.
CREATE TABLE staging.toy_counts (
    batch_id bigint NOT NULL, source_object text NOT NULL, source_row integer NOT NULL,
    code text NOT NULL, amount bigint NOT NULL
);
CREATE TABLE quarantine.toy_counts (
    batch_id bigint NOT NULL, source_object text NOT NULL, source_row integer NOT NULL,
    reason text NOT NULL, failures jsonb NOT NULL, record jsonb NOT NULL,
    quarantined_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (batch_id, source_object, source_row)
);
CREATE TABLE core.toy_count (
    code text NOT NULL, amount bigint NOT NULL,
    batch_id bigint NOT NULL, source_object text NOT NULL, source_row integer NOT NULL,
    source_file text NOT NULL,
    PRIMARY KEY (batch_id, source_object, source_row)
);
SELECT audit.grant_core_to_analysts();
