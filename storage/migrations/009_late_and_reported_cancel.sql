-- The day of care, continued: when a late provider said they would arrive (the member is not
-- told the session began until they do, and pays from the arrival), and when a provider
-- reported that the client cancelled (the member may contest it for a while).
ALTER TABLE requests ADD COLUMN expected_at TIMESTAMPTZ;
ALTER TABLE requests ADD COLUMN client_cancel_at TIMESTAMPTZ;
