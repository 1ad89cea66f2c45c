"""Inbound deliveries stored before they are processed, each processed once."""

from __future__ import annotations

from datetime import datetime

from storage.repos.sql import Executor


class Inbox:
    """The inbound queue: accepted in order, claimed once for processing."""

    def __init__(self, sql: Executor) -> None:
        self.sql = sql

    async def accept(
        self, channel: str, external_id: str, address: str, payload: str, at: datetime
    ) -> bool:
        """Store an inbound delivery for processing; False when it was seen before."""
        row = await self.sql.one("SELECT COALESCE(MAX(seq), 0) + 1 AS n FROM inbound")
        count = await self.sql.run(
            "INSERT INTO inbound (channel, external_id, received_at, address, payload, seq) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (channel, external_id, at, address, payload, int(row["n"]) if row else 1),
        )
        return count == 1

    async def unprocessed(self, limit: int) -> list[tuple[str, str, str, str]]:
        """Accepted deliveries not yet processed, oldest first: (channel, id, address, payload)."""
        found = await self.sql.all(
            "SELECT channel, external_id, address, payload FROM inbound "
            "WHERE processed_at IS NULL AND payload IS NOT NULL "
            "ORDER BY seq LIMIT ?",
            (limit,),
        )
        return [(r["channel"], r["external_id"], r["address"], r["payload"]) for r in found]

    async def mark_processed(self, channel: str, external_id: str, at: datetime) -> bool:
        """Claim an accepted delivery for processing; False when it already was."""
        count = await self.sql.run(
            "UPDATE inbound SET processed_at = ? WHERE channel = ? AND "
            "external_id = ? AND processed_at IS NULL",
            (at, channel, external_id),
        )
        return count == 1
