-- Weekly series (§8): one row per series; each occurrence is a request of its own that points
-- at its series and its day. The unique (series, day) pair is what makes rolling the horizon
-- forward safe across restarts and double wake-ups: an occurrence can never be made twice.
CREATE TABLE series (
    id          INTEGER PRIMARY KEY,
    member_id   TEXT NOT NULL REFERENCES people(id),
    service_id  TEXT NOT NULL REFERENCES services(id),
    provider_id TEXT REFERENCES people(id),
    weekday     INTEGER NOT NULL CHECK (weekday BETWEEN 0 AND 6),
    start_min   INTEGER NOT NULL,
    end_min     INTEGER NOT NULL,
    first_day   TEXT NOT NULL,
    until_day   TEXT,
    max_count   INTEGER,
    status      TEXT NOT NULL CHECK (status IN ('pending', 'active', 'ended')),
    created_at  TEXT NOT NULL
);
CREATE INDEX series_by_status ON series(status);
ALTER TABLE requests ADD COLUMN series_id INTEGER REFERENCES series(id);
ALTER TABLE requests ADD COLUMN series_day TEXT;
CREATE UNIQUE INDEX requests_series_day ON requests(series_id, series_day)
    WHERE series_id IS NOT NULL;
