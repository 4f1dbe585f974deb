-- A delivered file's fingerprint as its store described it when the batch landed it: a run skips
-- a file whose (source_object, size, mtime) equals a finished batch's without reading it again
-- (re-hashing every file under a feed's glob on every run is what national scale cannot afford).
-- NULL for API pulls, for batches landed before this migration, and when the file was modified
-- too recently to trust its mtime (htx.pipeline.RACY_MTIME_SECONDS); those are hashed again.
-- New columns of an existing table: htx_loader's table-wide grants (0012) already cover them.
ALTER TABLE audit.load_batch
    ADD COLUMN source_size_bytes bigint,
    ADD COLUMN source_mtime      double precision;  -- seconds since the epoch, exactly as stat()

COMMENT ON COLUMN audit.load_batch.source_size_bytes IS
    'files: the delivered file''s size when landed (with source_mtime, its skip fingerprint)';
COMMENT ON COLUMN audit.load_batch.source_mtime IS
    'files: the delivered file''s modification time when landed, epoch seconds as stat() gave it';
