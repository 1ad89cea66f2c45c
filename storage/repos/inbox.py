"""Inbound deliveries stored before they are processed, each processed once, in order per person.

Each person (a channel and an address) is a lane: their deliveries are processed one at a time,
in the order they were accepted, whichever worker accepted them. On SQLite, BEGIN IMMEDIATE
serialises everything, so the oldest delivery is always next. On PostgreSQL, several workers
process at once: an accept takes the person's lane lock (a transaction-scoped advisory lock)
before drawing its arrival number from a sequence, so a person's deliveries commit in number
order; and a worker takes (FOR UPDATE SKIP LOCKED) only a delivery with no older unprocessed
one of the same person, in the transaction that processes it: the row lock is the lease, held
until that commit, dropped with the worker's connection if it dies.
"""

from __future__ import annotations

from datetime import datetime

from bot.services import ports
from storage.repos.sql import Executor, Repository
from storage.repos.timers import Writes

Delivery = tuple[str, str, str, str]  # channel, external id, address, payload

_ACCEPT = {
    "sqlite": (
        "INSERT INTO inbound (channel, external_id, received_at, address, payload, seq) "
        "VALUES (?, ?, ?, ?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM inbound)) "
        "ON CONFLICT DO NOTHING"
    ),
    # The lane lock first, then the number (from a sequence, migration 016).
    "postgresql": (
        "WITH lane AS (SELECT pg_advisory_xact_lock(hashtextextended("
        "CAST(? AS text) || ' ' || CAST(? AS text), 0))) "
        "INSERT INTO inbound (channel, external_id, received_at, address, payload, seq) "
        "SELECT CAST(? AS text), CAST(? AS text), CAST(? AS timestamptz), CAST(? AS text), "
        "CAST(? AS text), nextval('inbound_arrivals') FROM lane ON CONFLICT DO NOTHING"
    ),
}
# Whether another delivery waits besides the one taken, in the taking statement itself: a
# worker that drained the queue then sleeps without one more transaction to find it empty.
_MORE = (
    "EXISTS (SELECT 1 FROM inbound w WHERE w.processed_at IS NULL "
    "AND w.payload IS NOT NULL AND w.seq <> {taken}.seq) AS more"
)
_TAKE = {
    "sqlite": (
        "UPDATE inbound SET processed_at = ? WHERE (channel, external_id) IN ("
        "SELECT channel, external_id FROM inbound WHERE processed_at IS NULL "
        "AND payload IS NOT NULL ORDER BY seq LIMIT 1) "
        "RETURNING channel, external_id, address, payload, " + _MORE.format(taken="inbound")
    ),
    # A MATERIALIZED pick: as an IN (subquery), the planner may run the LIMIT more than once.
    "postgresql": (
        "WITH picked AS MATERIALIZED (SELECT i.channel, i.external_id FROM inbound i "
        "WHERE i.processed_at IS NULL AND i.payload IS NOT NULL AND NOT EXISTS ("
        "SELECT 1 FROM inbound e WHERE e.channel = i.channel AND e.address = i.address "
        "AND e.processed_at IS NULL AND e.payload IS NOT NULL AND e.seq < i.seq) "
        "ORDER BY i.seq LIMIT 1 FOR UPDATE SKIP LOCKED) "
        "UPDATE inbound SET processed_at = ? FROM picked WHERE inbound.channel = "
        "picked.channel AND inbound.external_id = picked.external_id "
        "AND inbound.processed_at IS NULL "
        "RETURNING inbound.channel, inbound.external_id, inbound.address, inbound.payload, "
        + _MORE.format(taken="inbound")
    ),
}


class Inbox(Repository, ports.Inbox):
    """The inbound table; counts its accepted deliveries in `writes` (NOTIFY)."""

    def __init__(self, sql: Executor, writes: Writes) -> None:
        super().__init__(sql)
        self._writes = writes

    async def accept(
        self, channel: str, external_id: str, address: str, payload: str, at: datetime
    ) -> bool:
        if self.sql.dialect == "postgresql":
            args: tuple[object, ...] = (
                channel,
                address,
                channel,
                external_id,
                at,
                address,
                payload,
            )
        else:
            args = (channel, external_id, at, address, payload)
        count = await self.sql.run(_ACCEPT[self.sql.dialect], args)
        if count == 1:
            self._writes.inbound += 1
        return count == 1

    async def take_next(self, at: datetime) -> ports.Taken | None:
        # The mark commits with what the processing did, or not at all.
        row = await self.sql.one(_TAKE[self.sql.dialect], (at,))
        if row is None:
            return None
        return ports.Taken(
            row["channel"], row["external_id"], row["address"], row["payload"], bool(row["more"])
        )

    async def unprocessed(self, limit: int) -> list[Delivery]:
        found = await self.sql.all(
            "SELECT channel, external_id, address, payload FROM inbound "
            "WHERE processed_at IS NULL AND payload IS NOT NULL "
            "ORDER BY seq LIMIT ?",
            (limit,),
        )
        return [(r["channel"], r["external_id"], r["address"], r["payload"]) for r in found]

    async def mark_processed(self, channel: str, external_id: str, at: datetime) -> bool:
        return await self.changed_one(
            "UPDATE inbound SET processed_at = ? WHERE channel = ? AND "
            "external_id = ? AND processed_at IS NULL",
            (at, channel, external_id),
        )
