-- A provider who changed their own hours by chat (§9.3): a re-import of the agency file
-- keeps their weekly windows and days off until the operator resets them on purpose.
ALTER TABLE people ADD COLUMN schedule_by_chat INTEGER NOT NULL DEFAULT 0;
