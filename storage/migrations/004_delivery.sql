-- Delivery of the outbox by the live channels: retries with backoff, errors, and staff
-- notifications that one staff group may receive once (a broadcast key shared by the rows).
ALTER TABLE outbox ADD COLUMN next_attempt_at TIMESTAMPTZ;
ALTER TABLE outbox ADD COLUMN last_error TEXT;
ALTER TABLE outbox ADD COLUMN broadcast TEXT;
-- delivery: the carrier's last status callback; in_flight: handed to a transport, not settled.
ALTER TABLE outbox ADD COLUMN delivery TEXT;
ALTER TABLE outbox ADD COLUMN in_flight INTEGER NOT NULL DEFAULT 0;
CREATE INDEX outbox_by_channel_state ON outbox(channel, state, id);
CREATE INDEX outbox_by_external ON outbox(external_id);
CREATE INDEX outbox_by_broadcast ON outbox(broadcast);

-- Telegram messages we sent with options, so that a pressed button can be checked and edited.
CREATE TABLE telegram_messages (
    outbox_id   BIGINT PRIMARY KEY REFERENCES outbox(id),
    chat_id     BIGINT NOT NULL,
    message_id  BIGINT NOT NULL,
    UNIQUE (chat_id, message_id)
);
