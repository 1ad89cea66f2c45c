-- A claim on an outbox row is a lease: the process that sends it (lease_owner, a worker id)
-- holds it until lease_until and renews it while it works; another process takes the row
-- only once the lease has expired (its owner died or lost the database). attempted_at: when
-- the last claim began. unsure_since: the first attempt whose outcome is unknown (a timeout
-- after the request left, a lease that expired): before sending again, the transport asks the
-- provider whether that attempt went out. The same columns work as SELECT ... FOR UPDATE SKIP
-- LOCKED claims on PostgreSQL. Rows the previous version left in flight are marked in each
-- engine's own file (an expired lease is written differently there).
ALTER TABLE outbox ADD COLUMN lease_owner TEXT;
ALTER TABLE outbox ADD COLUMN lease_until TIMESTAMPTZ;
ALTER TABLE outbox ADD COLUMN attempted_at TIMESTAMPTZ;
ALTER TABLE outbox ADD COLUMN unsure_since TIMESTAMPTZ;
CREATE INDEX outbox_in_flight ON outbox(lease_owner) WHERE in_flight = 1;
-- /healthz writes here (one row) to learn whether the database takes writes (disk, locks).
CREATE TABLE health_probe (id INTEGER PRIMARY KEY, at TIMESTAMPTZ NOT NULL);
