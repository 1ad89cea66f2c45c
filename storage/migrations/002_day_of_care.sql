-- The day of care: when the provider arrived, reported the client absent, and when the two
-- received each other's phone numbers; and which providers cancelled on which request.
ALTER TABLE requests ADD COLUMN arrived_at TIMESTAMPTZ;
ALTER TABLE requests ADD COLUMN absent_at TIMESTAMPTZ;
ALTER TABLE requests ADD COLUMN phones_at TIMESTAMPTZ;
ALTER TABLE offers ADD COLUMN cancelled_at TIMESTAMPTZ;
CREATE INDEX requests_by_status_end ON requests(status, end_at);
CREATE INDEX timers_by_request ON timers(request_id, state);
