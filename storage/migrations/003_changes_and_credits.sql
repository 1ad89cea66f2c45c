-- Changes, cancellations and subscriptions (product §4, §5).
ALTER TABLE requests ADD COLUMN paid_by_credit INTEGER NOT NULL DEFAULT 0;
ALTER TABLE requests ADD COLUMN notes TEXT;
ALTER TABLE requests ADD COLUMN cancel_reason TEXT;

CREATE TABLE change_requests (
    id          INTEGER PRIMARY KEY,
    request_id  INTEGER NOT NULL REFERENCES requests(id),
    kind        TEXT NOT NULL CHECK (kind IN ('time', 'service', 'notes')),
    new_start   TEXT,
    new_end     TEXT,
    new_service TEXT REFERENCES services(id),
    notes       TEXT,
    status      TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'denied')),
    created_at  TEXT NOT NULL,
    decided_at  TEXT
);
CREATE INDEX change_requests_by_request ON change_requests(request_id, id);

-- A subscription's weekly credits are added once per member and week, whatever happens.
CREATE TABLE credit_weeks (
    member_id   TEXT NOT NULL REFERENCES people(id),
    week        TEXT NOT NULL,
    PRIMARY KEY (member_id, week)
);
