-- Several workers (issue 12). A member's request numbers come from a counter on their row,
-- bumped with UPDATE ... RETURNING under the row's lock, instead of MAX(member_seq) + 1, which
-- two workers would compute alike.
ALTER TABLE people ADD COLUMN request_seq INTEGER NOT NULL DEFAULT 0;
UPDATE people SET request_seq = (
    SELECT COALESCE(MAX(member_seq), 0) FROM requests WHERE requests.member_id = people.id
);
-- On PostgreSQL a worker takes the oldest unprocessed delivery of a person only when no older
-- one of theirs waits (storage/repos/inbox.py): that look-up goes by person. (SQLite takes the
-- oldest of all, one writer at a time: 020 drops both indexes there.)
CREATE INDEX inbound_lanes ON inbound(channel, address, seq) WHERE processed_at IS NULL;
-- The queue itself, in arrival order: only what waits, however long the history grows.
CREATE INDEX inbound_waiting ON inbound(seq) WHERE processed_at IS NULL;
