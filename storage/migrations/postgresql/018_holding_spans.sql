-- Who is busy during a window (storage/repos/availability.py): the requests holding a provider
-- whose span overlaps it, found in one index scan and hashed, instead of one probe per
-- candidate provider. The exclusion constraint's own index leads with provider_id, so it only
-- serves the probes; requests_by_provider bounds start_at from above only, so each probe read
-- the provider's whole history. (PostgreSQL only: SQLite has no range type, and its in-process
-- probes cost microseconds.) The predicate is the constraint's: HOLDING in bot/domain/booking.py.
CREATE INDEX requests_holding_spans ON requests USING gist (tstzrange(start_at, end_at, '[)'))
    WHERE provider_id IS NOT NULL AND status IN ('pending', 'confirmed', 'in_progress');
