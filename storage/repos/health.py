"""A write that costs nothing, for health checks."""

from __future__ import annotations

from datetime import datetime

from storage.repos.sql import Executor


class Health:
    """Does the database take writes right now?"""

    def __init__(self, sql: Executor) -> None:
        self.sql = sql

    async def touch(self, at: datetime) -> None:
        """Rewrite the one probe row."""
        await self.sql.run(
            "INSERT INTO health_probe (id, at) VALUES (1, ?) "
            "ON CONFLICT (id) DO UPDATE SET at = excluded.at",
            (at,),
        )
