-- Who wrote a ledger line by hand: the staff member who recorded a payment (in the chat or
-- the web console), shown in the ledger export. NULL for the lines carebot writes itself
-- (fees, sessions, payouts, credits).
ALTER TABLE ledger ADD COLUMN recorded_by TEXT;
