-- A person left out of a re-imported agency file is removed from the roster but kept in the
-- database, because their past requests, ledger lines and messages still point at them.
ALTER TABLE people ADD COLUMN removed_at TIMESTAMPTZ;
