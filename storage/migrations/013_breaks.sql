-- Getting back in touch (§10): each regular member's current break, watched from their last
-- session (or from when the bot first watched them), and the break already nudged, so that
-- one break gets one check-in whatever the restarts.
CREATE TABLE breaks (
    member_id     TEXT PRIMARY KEY REFERENCES people(id),
    watched_since TIMESTAMPTZ NOT NULL,
    nudged_for    TIMESTAMPTZ
);
