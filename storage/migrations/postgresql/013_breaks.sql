-- PostgreSQL twin of ../013_breaks.sql.
CREATE TABLE breaks (
    member_id     text PRIMARY KEY REFERENCES people(id),
    watched_since timestamptz NOT NULL,
    nudged_for    timestamptz
);
