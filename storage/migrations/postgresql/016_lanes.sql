-- Arrival numbers from a sequence rather than MAX(seq) + 1, which concurrent accepts would
-- share; inbox.accept draws from it (SQLite keeps MAX(seq) + 1, one writer at a time). Per
-- person they still commit in order: an accept holds the person's lane lock (a
-- transaction-scoped advisory lock) from before its number is drawn until its commit.
CREATE SEQUENCE inbound_arrivals AS bigint OWNED BY inbound.seq;
SELECT setval('inbound_arrivals', COALESCE((SELECT MAX(seq) FROM inbound), 0) + 1, false);
