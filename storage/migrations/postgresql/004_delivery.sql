-- PostgreSQL twin of ../004_delivery.sql.
ALTER TABLE outbox ADD COLUMN next_attempt_at timestamptz;
ALTER TABLE outbox ADD COLUMN last_error text;
ALTER TABLE outbox ADD COLUMN broadcast text;
ALTER TABLE outbox ADD COLUMN delivery text;
ALTER TABLE outbox ADD COLUMN in_flight integer NOT NULL DEFAULT 0;
CREATE INDEX outbox_by_channel_state ON outbox(channel, state, id);
CREATE INDEX outbox_by_external ON outbox(external_id);
CREATE INDEX outbox_by_broadcast ON outbox(broadcast);

CREATE TABLE telegram_messages (
    outbox_id   bigint PRIMARY KEY REFERENCES outbox(id),
    chat_id     bigint NOT NULL,
    message_id  bigint NOT NULL,
    UNIQUE (chat_id, message_id)
);
