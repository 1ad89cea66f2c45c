-- A fingerprint of the last imported agency file: a running bot keeps the agency and its
-- services in memory and reloads them when another process imports a different file.
ALTER TABLE agency ADD COLUMN version TEXT NOT NULL DEFAULT '';
