-- Accepted inbound messages are stored before the webhook answers, and processed from here:
-- the processed mark commits with the message's effects, so each is handled exactly once.
ALTER TABLE inbound ADD COLUMN address TEXT;
ALTER TABLE inbound ADD COLUMN payload TEXT;
ALTER TABLE inbound ADD COLUMN processed_at TIMESTAMPTZ;
ALTER TABLE inbound ADD COLUMN seq BIGINT;
CREATE INDEX inbound_unprocessed ON inbound(processed_at, seq);
