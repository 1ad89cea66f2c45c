"""Once-only keys: a delivery id or an event that must be acted on a single time."""

from __future__ import annotations

from datetime import datetime

from bot.services import ports
from storage.repos.sql import Repository


class Once(Repository, ports.Once):
    """The once_keys table."""

    """Keys seen once per scope (migration 015); a second sighting is refused."""

    async def first(self, scope: str, key: str, at: datetime) -> bool:
        return await self.changed_one(
            "INSERT INTO once_keys (scope, key, seen_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            (scope, key, at),
        )
