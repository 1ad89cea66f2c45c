-- PostgreSQL twin of ../015_once_keys.sql: once-only keys leave the inbound queue.
CREATE TABLE once_keys (
    scope   text NOT NULL,
    key     text NOT NULL,
    seen_at timestamptz NOT NULL,
    PRIMARY KEY (scope, key)
);
INSERT INTO once_keys (scope, key, seen_at)
    SELECT channel, external_id, received_at FROM inbound WHERE payload IS NULL;
DELETE FROM inbound WHERE payload IS NULL;
