-- The next arrival number is MAX(seq): an index keeps that constant as the history grows.
CREATE INDEX inbound_by_seq ON inbound(seq);
