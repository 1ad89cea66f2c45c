-- PostgreSQL twin of ../005_inbound_queue.sql.
ALTER TABLE inbound ADD COLUMN address text;
ALTER TABLE inbound ADD COLUMN payload text;
ALTER TABLE inbound ADD COLUMN processed_at timestamptz;
ALTER TABLE inbound ADD COLUMN seq bigint;
CREATE INDEX inbound_unprocessed ON inbound(processed_at, seq);
