-- What several `carebot run` workers on one database share beyond the queues.
-- A leader lease: one worker does something for all (Telegram's getUpdates, which Telegram
-- answers 409 Conflict to a second poller); it renews the lease while alive, and another
-- worker takes over only once it has expired.
CREATE TABLE IF NOT EXISTS leader_leases (
    name       TEXT PRIMARY KEY,
    owner      TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
-- A send budget shared by every worker (Telegram's limits are per bot, not per process): the
-- earliest moment, in Unix milliseconds, at which the next send of this key may go. A worker
-- reserves a slot by moving it one gap further in one statement. (IF NOT EXISTS: tests that
-- replay the migrations from an earlier version over a current file.)
CREATE TABLE IF NOT EXISTS send_pace (
    key     TEXT PRIMARY KEY,
    next_ms BIGINT NOT NULL
);
