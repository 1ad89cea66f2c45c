-- PostgreSQL twin of ../016_lanes.sql: a member's request numbers from a counter on their row.
ALTER TABLE people ADD COLUMN request_seq integer NOT NULL DEFAULT 0;
UPDATE people SET request_seq = (
    SELECT COALESCE(MAX(member_seq), 0) FROM requests WHERE requests.member_id = people.id
);
-- Arrival numbers from a sequence rather than MAX(seq) + 1, which concurrent accepts would
-- share. Per person they still commit in order: an accept holds the person's lane lock (a
-- transaction-scoped advisory lock) from before its number is drawn until its commit.
CREATE SEQUENCE inbound_arrivals AS bigint OWNED BY inbound.seq;
SELECT setval('inbound_arrivals', COALESCE((SELECT MAX(seq) FROM inbound), 0) + 1, false);
ALTER TABLE inbound ALTER COLUMN seq SET DEFAULT nextval('inbound_arrivals');
-- A worker takes the oldest unprocessed delivery of a person only when no older one of theirs
-- waits (storage/repos/inbox.py): that look-up goes by person.
CREATE INDEX inbound_lanes ON inbound(channel, address, seq) WHERE processed_at IS NULL;
