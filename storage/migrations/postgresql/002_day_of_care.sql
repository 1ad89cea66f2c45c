-- PostgreSQL twin of ../002_day_of_care.sql.
ALTER TABLE requests ADD COLUMN arrived_at timestamptz;
ALTER TABLE requests ADD COLUMN absent_at timestamptz;
ALTER TABLE requests ADD COLUMN phones_at timestamptz;
ALTER TABLE offers ADD COLUMN cancelled_at timestamptz;
CREATE INDEX requests_by_status_end ON requests(status, end_at);
CREATE INDEX timers_by_request ON timers(request_id, state);
