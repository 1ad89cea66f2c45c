-- PostgreSQL twin of ../009_late_and_reported_cancel.sql.
ALTER TABLE requests ADD COLUMN expected_at timestamptz;
ALTER TABLE requests ADD COLUMN client_cancel_at timestamptz;
