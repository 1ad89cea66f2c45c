-- The double-booking guard is an exclusion constraint, which holds at any isolation level and
-- across workers: a provider holds a window while a request is pending with them or
-- confirmed/under way, and two such windows of one provider never overlap, whoever writes and
-- however concurrently.
CREATE EXTENSION IF NOT EXISTS btree_gist;
ALTER TABLE requests ADD CONSTRAINT requests_no_overlap EXCLUDE USING gist (
    provider_id WITH =, tstzrange(start_at, end_at, '[)') WITH &&
) WHERE (provider_id IS NOT NULL AND status IN ('pending', 'confirmed', 'in_progress'));
