-- PostgreSQL twin of ../017_worker_coordination.sql: leader leases and shared send budgets.
CREATE TABLE leader_leases (
    name       text PRIMARY KEY,
    owner      text NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE TABLE send_pace (
    key     text PRIMARY KEY,
    next_ms bigint NOT NULL
);
