-- One row per batch: a run of one feed over one delivery (an API pull, or one dropped file).
CREATE TABLE audit.load_batch (
    batch_id          bigserial PRIMARY KEY,
    feed              text        NOT NULL,
    batch_key         text        NOT NULL,  -- dag/run for API pulls, content checksum for files
    source_object     text        NOT NULL,  -- what was read: request or file URL
    checksum          text,                  -- sha256 over the landed objects, in order
    rows_in           integer,
    rows_loaded       integer,
    rows_quarantined  integer,
    status            text        NOT NULL DEFAULT 'running'
        CHECK (status IN ('running', 'staged', 'merged', 'published', 'failed', 'rejected')),
    error             text,
    cursor_from       text,                  -- incremental pulls: the updated_since asked for
    cursor_to         timestamptz,           -- … and the newest change the batch delivered
    started_at        timestamptz NOT NULL DEFAULT now(),
    finished_at       timestamptz,
    dag_id            text,
    run_id            text,
    task_id           text,
    UNIQUE (feed, batch_key),
    CHECK (status NOT IN ('merged', 'published') OR rows_in = rows_loaded + rows_quarantined)
);

-- Every object landed for a batch, untouched, with its checksum: core can be rebuilt from these.
CREATE TABLE audit.landed_object (
    batch_id    bigint      NOT NULL REFERENCES audit.load_batch ON DELETE CASCADE,
    seq         integer     NOT NULL,
    object_url  text        NOT NULL,
    sha256      text        NOT NULL,
    size_bytes  bigint      NOT NULL,
    landed_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (batch_id, seq)
);

-- Great Expectations results, one row per batch and expectation (chunks summed).
CREATE TABLE audit.validation_result (
    batch_id          bigint  NOT NULL REFERENCES audit.load_batch ON DELETE CASCADE,
    suite             text    NOT NULL,
    expectation       text    NOT NULL,  -- expectation type and column
    severity          text    NOT NULL,  -- critical rows are quarantined; warning rows are loaded
    success           boolean NOT NULL,
    element_count     integer NOT NULL,
    unexpected_count  integer NOT NULL,
    unexpected_sample jsonb   NOT NULL DEFAULT '[]',
    checked_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (batch_id, expectation)
);

-- Incremental pull position per source (feed 1: the last merged updated_at).
CREATE TABLE audit.source_cursor (
    feed          text PRIMARY KEY,
    cursor_value  timestamptz NOT NULL,
    batch_id      bigint REFERENCES audit.load_batch ON DELETE SET NULL,
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- rows in = loaded + quarantined, per batch: anything listed here is a defect.
CREATE VIEW audit.unreconciled_batch AS
SELECT batch_id, feed, status, rows_in, rows_loaded, rows_quarantined
FROM audit.load_batch
WHERE status IN ('staged', 'merged', 'published')
  AND rows_in IS DISTINCT FROM rows_loaded + rows_quarantined;
