-- Merge one staged batch of registration states into core.registration_state.
-- Parameters: %(batch_id)s. Runs inside the caller's transaction; re-running it changes nothing.
--
-- 1. Every state is kept, keyed by (entity_code, updated_at). Within a batch, a state delivered
--    twice keeps its last delivery; a state already held is rewritten only if its content differs
--    (its record_hash). Rewritten as delete-then-insert, never ON CONFLICT … DO UPDATE: that
--    would read the held row's personal columns, which the loader may write but not read
--    (0020_least_privilege.sql); valid_to is re-threaded below.
WITH incoming AS (
    SELECT DISTINCT ON (entity_code, updated_at) entity_code, updated_at, record_hash
    FROM staging.registrations
    WHERE batch_id = %(batch_id)s
    ORDER BY entity_code, updated_at, source_object DESC, source_row DESC
)
DELETE FROM core.registration_state AS held
USING incoming
WHERE held.entity_code = incoming.entity_code
  AND held.updated_at = incoming.updated_at
  AND held.record_hash IS DISTINCT FROM incoming.record_hash;

WITH incoming AS (
    SELECT DISTINCT ON (entity_code, updated_at) *
    FROM staging.registrations
    WHERE batch_id = %(batch_id)s
    ORDER BY entity_code, updated_at, source_object DESC, source_row DESC
)
INSERT INTO core.registration_state (
    entity_code, updated_at, entity_type, name, main_vsic, locality_raw, locality_code,
    old_district_code, new_unit_code, locality_rule, address, registered_on, status,
    status_since, charter_capital_vnd, members, legal_rep_name, legal_rep_id_number, record_hash,
    batch_id, source_object, source_row)
SELECT entity_code, updated_at, entity_type, name, main_vsic, locality_raw, locality_code,
       old_district_code, new_unit_code, locality_rule, address, registered_on, status,
       status_since, charter_capital_vnd, members, legal_rep_name, legal_rep_id_number,
       record_hash, batch_id, source_object, source_row
FROM incoming
ON CONFLICT (entity_code, updated_at) DO NOTHING;

-- 2. Re-thread the history of every entity the batch touched: ordered by status_since, ties by
--    updated_at, each state is valid until the next one's status_since. A late state older than
--    the current one slots into the past and leaves the current state current.
WITH touched AS (
    SELECT DISTINCT entity_code FROM staging.registrations WHERE batch_id = %(batch_id)s
), threaded AS (
    SELECT s.entity_code, s.updated_at,
           lead(s.status_since) OVER (PARTITION BY s.entity_code
                                      ORDER BY s.status_since, s.updated_at) AS next_since
    FROM core.registration_state s
    JOIN touched USING (entity_code)
)
UPDATE core.registration_state s
SET valid_to = t.next_since
FROM threaded t
WHERE s.entity_code = t.entity_code
  AND s.updated_at = t.updated_at
  AND s.valid_to IS DISTINCT FROM t.next_since;
