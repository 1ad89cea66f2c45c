-- SQLite takes the oldest waiting delivery of all, one writer at a time (BEGIN IMMEDIATE):
-- it has no use for the per-person lanes' index nor the waiting-queue index that PostgreSQL's
-- several workers need (016), and every accept, every processed mark and every commit paid
-- for keeping them: an inbound SMS's processing went from 165 to 113 us of statements and
-- commit without them. inbound_unprocessed (processed_at, seq) serves the queue here.
DROP INDEX IF EXISTS inbound_lanes;
DROP INDEX IF EXISTS inbound_waiting;
