-- The whole model of one agency. Times are UTC text 'YYYY-MM-DD HH:MM:SS' (sortable),
-- money is integer minor units, JSON columns hold small translated maps.

CREATE TABLE agency (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    name            TEXT NOT NULL,
    timezone        TEXT NOT NULL,
    currency        TEXT NOT NULL,
    language        TEXT NOT NULL,
    policy_json     TEXT NOT NULL
);

CREATE TABLE services (
    id                  TEXT PRIMARY KEY,
    name_json           TEXT NOT NULL,
    hourly_rate_minor   INTEGER NOT NULL CHECK (hourly_rate_minor > 0),
    checkin             INTEGER NOT NULL DEFAULT 1,
    position            INTEGER NOT NULL
);

CREATE TABLE people (
    id                  TEXT PRIMARY KEY,
    role                TEXT NOT NULL CHECK (role IN ('member', 'provider', 'staff')),
    name                TEXT NOT NULL,
    channel             TEXT NOT NULL CHECK (channel IN ('telegram', 'sms')),
    telegram_id         INTEGER UNIQUE,
    phone               TEXT UNIQUE,
    language            TEXT,
    subscription_service TEXT REFERENCES services(id),
    subscription_per_week INTEGER,
    rating              REAL,
    bio_json            TEXT NOT NULL DEFAULT '{}',
    opted_out           INTEGER NOT NULL DEFAULT 0,
    position            INTEGER NOT NULL
);

CREATE TABLE provider_services (
    provider_id TEXT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    service_id  TEXT NOT NULL REFERENCES services(id),
    PRIMARY KEY (provider_id, service_id)
);

CREATE TABLE availability (
    provider_id TEXT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    weekday     INTEGER NOT NULL CHECK (weekday BETWEEN 0 AND 6),
    start_min   INTEGER NOT NULL,
    end_min     INTEGER NOT NULL CHECK (end_min > start_min AND end_min <= 1440)
);
CREATE INDEX availability_by_provider ON availability(provider_id);

CREATE TABLE days_off (
    provider_id TEXT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    day         TEXT NOT NULL,
    PRIMARY KEY (provider_id, day)
);

CREATE TABLE requests (
    id              INTEGER PRIMARY KEY,
    member_id       TEXT NOT NULL REFERENCES people(id),
    member_seq      INTEGER NOT NULL,
    service_id      TEXT NOT NULL REFERENCES services(id),
    start_at        TEXT NOT NULL,
    end_at          TEXT NOT NULL CHECK (end_at > start_at),
    status          TEXT NOT NULL CHECK (status IN ('pending', 'escalated', 'confirmed',
                        'in_progress', 'completed', 'no_show', 'cancelled', 'unfilled',
                        'expired')),
    provider_id     TEXT REFERENCES people(id),
    price_minor     INTEGER NOT NULL,
    fee_minor       INTEGER NOT NULL DEFAULT 0,
    charge_minor    INTEGER NOT NULL DEFAULT 0,
    payout_minor    INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    UNIQUE (member_id, member_seq)
);
CREATE INDEX requests_by_provider ON requests(provider_id, start_at);
CREATE INDEX requests_by_member ON requests(member_id, start_at);

-- The double-booking guard lives in the database so that it holds whatever the caller:
-- a provider holds a window while a request is pending with them or confirmed/under way.
CREATE TRIGGER requests_no_overlap_insert
BEFORE INSERT ON requests
WHEN NEW.provider_id IS NOT NULL AND NEW.status IN ('pending', 'confirmed', 'in_progress')
BEGIN
    SELECT RAISE(ABORT, 'double booking')
    WHERE EXISTS (
        SELECT 1 FROM requests r
        WHERE r.provider_id = NEW.provider_id
          AND r.status IN ('pending', 'confirmed', 'in_progress')
          AND r.start_at < NEW.end_at AND NEW.start_at < r.end_at
    );
END;

CREATE TRIGGER requests_no_overlap_update
BEFORE UPDATE OF provider_id, status, start_at, end_at ON requests
WHEN NEW.provider_id IS NOT NULL AND NEW.status IN ('pending', 'confirmed', 'in_progress')
BEGIN
    SELECT RAISE(ABORT, 'double booking')
    WHERE EXISTS (
        SELECT 1 FROM requests r
        WHERE r.id != NEW.id
          AND r.provider_id = NEW.provider_id
          AND r.status IN ('pending', 'confirmed', 'in_progress')
          AND r.start_at < NEW.end_at AND NEW.start_at < r.end_at
    );
END;

-- Every time a request was put to a provider, and what came of it.
CREATE TABLE offers (
    id          INTEGER PRIMARY KEY,
    request_id  INTEGER NOT NULL REFERENCES requests(id),
    provider_id TEXT NOT NULL REFERENCES people(id),
    sent_at     TEXT NOT NULL,
    deadline    TEXT NOT NULL,
    answer      TEXT CHECK (answer IN ('confirm', 'decline', 'timeout', 'withdrawn')),
    answered_at TEXT
);
CREATE INDEX offers_open ON offers(provider_id, answer);
CREATE INDEX offers_by_request ON offers(request_id);

CREATE TABLE escalations (
    id          INTEGER PRIMARY KEY,
    request_id  INTEGER NOT NULL REFERENCES requests(id),
    reason      TEXT NOT NULL,
    about       TEXT,
    created_at  TEXT NOT NULL,
    handled_by  TEXT REFERENCES people(id),
    handled_at  TEXT,
    outcome     TEXT
);
CREATE INDEX escalations_open ON escalations(handled_by);

-- Money and credits: one row per movement; a member's balance is the sum of balance_minor.
CREATE TABLE ledger (
    id              INTEGER PRIMARY KEY,
    created_at      TEXT NOT NULL,
    member_id       TEXT REFERENCES people(id),
    provider_id     TEXT REFERENCES people(id),
    request_id      INTEGER REFERENCES requests(id),
    kind            TEXT NOT NULL,
    amount_minor    INTEGER NOT NULL,
    balance_minor   INTEGER NOT NULL DEFAULT 0,
    credits         INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX ledger_by_member ON ledger(member_id, id);

-- Pending timers are the truth; the scheduler only wakes us up.
CREATE TABLE timers (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,
    request_id  INTEGER REFERENCES requests(id),
    ref_id      INTEGER,
    due_at      TEXT NOT NULL,
    state       TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'fired', 'cancelled')),
    fired_at    TEXT
);
CREATE INDEX timers_due ON timers(state, due_at, id);

-- Every message the bot sends, written in the transaction that caused it.
CREATE TABLE outbox (
    id          INTEGER PRIMARY KEY,
    created_at  TEXT NOT NULL,
    person_id   TEXT REFERENCES people(id),
    channel     TEXT NOT NULL,
    address     TEXT NOT NULL,
    text        TEXT NOT NULL,
    options_json TEXT,
    state       TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'sent', 'failed', 'dropped')),
    sent_at     TEXT,
    external_id TEXT,
    attempts    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX outbox_by_person ON outbox(person_id, id);
CREATE INDEX outbox_queued ON outbox(state, id);

-- Inbound deliveries seen, so that a retried delivery is processed once.
CREATE TABLE inbound (
    channel     TEXT NOT NULL,
    external_id TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (channel, external_id)
);

-- One conversation in progress per person; the flow keeps its own state as JSON.
CREATE TABLE conversations (
    person_id   TEXT PRIMARY KEY REFERENCES people(id),
    flow        TEXT NOT NULL,
    state_json  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
