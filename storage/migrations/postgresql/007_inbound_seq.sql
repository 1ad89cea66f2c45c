-- PostgreSQL twin of ../007_inbound_seq.sql.
CREATE INDEX inbound_by_seq ON inbound(seq);
