-- Operations: what failed or was rejected lately, with the link to its Airflow run, and which
-- feeds were stale when the marts were built (htx.ops; docs/runbook.md).

-- A value as one path segment of a URL: every byte but A–Z a–z 0–9 - . _ ~ percent-encoded
-- (the same as Python's urllib.parse.quote(value, safe='')).
CREATE FUNCTION audit.url_encode(value text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT coalesce(string_agg(
        CASE WHEN ch ~ '^[A-Za-z0-9._~-]$' THEN ch
             ELSE upper(regexp_replace(encode(convert_to(ch, 'UTF8'), 'hex'), '(..)', '%\1', 'g'))
        END, '' ORDER BY position), '')
    FROM regexp_split_to_table(value, '') WITH ORDINALITY AS characters(ch, position)
$$;

-- The Airflow UI's page of one DAG run (Airflow 3: {base}/dags/{dag_id}/runs/{run_id}). The base
-- URL is the setting HTX_AIRFLOW_BASE_URL: the commands pass it; SQL sessions read it from
-- `htx.airflow_base_url` (ALTER DATABASE … SET htx.airflow_base_url = 'https://…'), else the
-- local default.
CREATE FUNCTION audit.airflow_run_url(dag_id text, run_id text, base_url text DEFAULT NULL)
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN dag_id IS NOT NULL AND run_id IS NOT NULL THEN
        rtrim(coalesce(nullif(base_url, ''), nullif(current_setting('htx.airflow_base_url', true), ''),
                       'http://127.0.0.1:8080'), '/')
        || '/dags/' || audit.url_encode(dag_id) || '/runs/' || audit.url_encode(run_id)
    END
$$;

-- Every batch that failed or was rejected in the last `days` days (by when it ended, or started
-- when it never ended), newest first: what, why, where to look — and whether a later delivery of
-- the same file (a file drop) or a later pull (the API) has been published since.
CREATE FUNCTION audit.failed_loads(days integer DEFAULT 7, base_url text DEFAULT NULL)
RETURNS TABLE (
    feed              text,
    batch_id          bigint,
    status            text,
    source_object     text,         -- the delivered file (path under the landing root) or request
    landed_objects    text[],       -- its untouched copies in the landing zone
    error             text,
    rows_in           integer,
    started_at        timestamptz,
    finished_at       timestamptz,
    dag_id            text,
    run_id            text,
    task_id           text,         -- the task that failed (its log tells the rest)
    run_url           text,         -- the run in the Airflow UI
    resolved_by_batch bigint        -- the later published batch that supersedes it, if any
)
LANGUAGE sql STABLE AS $$
    SELECT b.feed, b.batch_id, b.status, b.source_object,
           ARRAY(SELECT o.object_url FROM audit.landed_object AS o
                 WHERE o.batch_id = b.batch_id ORDER BY o.seq),
           b.error, b.rows_in, b.started_at, b.finished_at, b.dag_id, b.run_id, b.task_id,
           audit.airflow_run_url(b.dag_id, b.run_id, base_url),
           (SELECT min(later.batch_id) FROM audit.load_batch AS later
            WHERE later.feed = b.feed AND later.batch_id > b.batch_id
              AND later.status = 'published'
              -- a file: its next delivery; an API pull (keyed by its run): any later pull
              AND (later.source_object = b.source_object
                   OR b.batch_key = b.dag_id || '/' || b.run_id))
    FROM audit.load_batch AS b
    WHERE b.status IN ('failed', 'rejected')
      AND coalesce(b.finished_at, b.started_at) >= now() - make_interval(days => days)
    ORDER BY coalesce(b.finished_at, b.started_at) DESC, b.batch_id DESC
$$;

CREATE VIEW audit.failed_loads AS
SELECT * FROM audit.failed_loads(7);

COMMENT ON VIEW audit.failed_loads IS
    'Batches failed or rejected in the last 7 days (audit.failed_loads(days) for another window), '
    'with the reason, the landed file and the Airflow run''s URL';

-- Which feeds were late (htx.ops.freshness) when the marts were built: their figures may lag.
ALTER TABLE mart.refresh_log ADD COLUMN stale_feeds text[];
COMMENT ON COLUMN mart.refresh_log.stale_feeds IS
    'Nguồn dữ liệu trễ hạn khi làm mới — feeds late (past their delivery deadline) at refresh time';
