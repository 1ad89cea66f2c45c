-- A claim on an outbox row is a lease: the process that sends it (lease_owner, a worker id)
-- holds it until lease_until and renews it while it works; another process takes the row
-- only once the lease has expired (its owner died or lost the database). attempted_at: when
-- the last claim began. unsure_since: the first attempt whose outcome is unknown (a timeout
-- after the request left, a lease that expired): before sending again, the transport asks the
-- provider whether that attempt went out. The same columns work as SELECT ... FOR UPDATE SKIP
-- LOCKED claims on PostgreSQL.
ALTER TABLE outbox ADD COLUMN lease_owner TEXT;
ALTER TABLE outbox ADD COLUMN lease_until TEXT;
ALTER TABLE outbox ADD COLUMN attempted_at TEXT;
ALTER TABLE outbox ADD COLUMN unsure_since TEXT;
-- Rows the previous version left in flight have no owner: expired leases, outcome unknown.
UPDATE outbox SET lease_until = '', unsure_since = created_at WHERE in_flight = 1;
CREATE INDEX outbox_in_flight ON outbox(lease_owner) WHERE in_flight = 1;
-- /healthz writes here (one row) to learn whether the database takes writes (disk, locks).
CREATE TABLE health_probe (id INTEGER PRIMARY KEY, at TEXT NOT NULL);
