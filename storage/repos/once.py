"""Once-only keys: a delivery id or an event that must be acted on a single time."""

from __future__ import annotations

from datetime import datetime

from storage.repos.sql import Executor


class Once:
    """Keys seen once per scope (migration 015); a second sighting is refused."""

    def __init__(self, sql: Executor) -> None:
        self.sql = sql

    async def first(self, scope: str, key: str, at: datetime) -> bool:
        """Record a key; False when it was seen before."""
        count = await self.sql.run(
            "INSERT INTO once_keys (scope, key, seen_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            (scope, key, at),
        )
        return count == 1
