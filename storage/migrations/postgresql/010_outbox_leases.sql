-- PostgreSQL twin of ../010_outbox_leases.sql (an expired lease is the epoch on both engines).
ALTER TABLE outbox ADD COLUMN lease_owner text;
ALTER TABLE outbox ADD COLUMN lease_until timestamptz;
ALTER TABLE outbox ADD COLUMN attempted_at timestamptz;
ALTER TABLE outbox ADD COLUMN unsure_since timestamptz;
UPDATE outbox SET lease_until = '1970-01-01 00:00:00+00', unsure_since = created_at WHERE in_flight = 1;
CREATE INDEX outbox_in_flight ON outbox(lease_owner) WHERE in_flight = 1;
CREATE TABLE health_probe (id integer PRIMARY KEY, at timestamptz NOT NULL);
