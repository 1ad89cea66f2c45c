"""Inbound deliveries stored before they are processed, each processed once."""

from __future__ import annotations

from datetime import datetime

from bot.services import ports
from storage.repos.sql import Repository


class Inbox(Repository, ports.Inbox):
    """The inbound table."""

    async def accept(
        self, channel: str, external_id: str, address: str, payload: str, at: datetime
    ) -> bool:
        row = await self.sql.one("SELECT COALESCE(MAX(seq), 0) + 1 AS n FROM inbound")
        return await self.changed_one(
            "INSERT INTO inbound (channel, external_id, received_at, address, payload, seq) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (channel, external_id, at, address, payload, int(row["n"]) if row else 1),
        )

    async def unprocessed(self, limit: int) -> list[tuple[str, str, str, str]]:
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
