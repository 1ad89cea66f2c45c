-- Rows the previous version left in flight have no owner: expired leases (the empty text
-- sorts before any time), outcome unknown.
UPDATE outbox SET lease_until = '', unsure_since = created_at WHERE in_flight = 1;
