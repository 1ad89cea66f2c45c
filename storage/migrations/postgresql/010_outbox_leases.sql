-- Rows the previous version left in flight have no owner: expired leases (the epoch),
-- outcome unknown.
UPDATE outbox SET lease_until = '1970-01-01 00:00:00+00', unsure_since = created_at WHERE in_flight = 1;
