-- PostgreSQL twin of ../011_people_removed.sql.
ALTER TABLE people ADD COLUMN removed_at timestamptz;
