-- Once-only keys (a Telegram update acted on once, a keyboard pressed once, a stranger greeted
-- once) get their own table: the inbound table is the queue of deliveries to process again,
-- and stops doubling as a generic "seen once" list. Keys recorded there so far move here.
CREATE TABLE once_keys (
    scope   TEXT NOT NULL,
    key     TEXT NOT NULL,
    seen_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (scope, key)
);
INSERT INTO once_keys (scope, key, seen_at)
    SELECT channel, external_id, received_at FROM inbound WHERE payload IS NULL;
DELETE FROM inbound WHERE payload IS NULL;
