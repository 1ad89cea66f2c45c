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
