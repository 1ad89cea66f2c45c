-- Several workers (issue 12): a member's request numbers come from a counter on their row,
-- bumped with UPDATE ... RETURNING under the row's lock, instead of MAX(member_seq) + 1, which
-- two workers would compute alike. (SQLite serialises writers anyway; the twin keeps the
-- repositories the same on both engines.)
ALTER TABLE people ADD COLUMN request_seq INTEGER NOT NULL DEFAULT 0;
UPDATE people SET request_seq = (
    SELECT COALESCE(MAX(member_seq), 0) FROM requests WHERE requests.member_id = people.id
);
