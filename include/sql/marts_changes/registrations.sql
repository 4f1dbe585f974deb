-- The earliest reporting-period end a registry batch's merge can change, worked out before the
-- merge (include/sql/merge/registrations.sql). A state is in force from its status_since
-- (valid_from), so a state added there — or rewritten, its old and its new status_since — changes
-- the state as of every day from then on, and the state before it ends there: periods ending
-- earlier keep their values. A state received again unchanged (the pull's overlap) changes
-- nothing. Parameter: %(batch_id)s.
SELECT coalesce(min(least(s.status_since, held.status_since)), 'infinity'::date)
FROM staging.registrations AS s
LEFT JOIN core.registration_state AS held
  ON held.entity_code = s.entity_code AND held.updated_at = s.updated_at
WHERE s.batch_id = %(batch_id)s
  AND held.record_hash IS DISTINCT FROM s.record_hash;
