"""What several workers on one database share beyond the queues: leader leases, send budgets."""

from __future__ import annotations

from datetime import datetime

from bot.services.ports.coordination import Leader
from storage.codec import from_ts, not_before
from storage.repos.sql import Executor


class Coordination:
    """Leader leases and shared send budgets (migration 017)."""

    def __init__(self, sql: Executor) -> None:
        self.sql = sql

    async def lead(self, name: str, owner: str, now: datetime, until: datetime) -> Leader:
        """Take or renew the lease `name` for `owner` until `until` when it is free, expired
        or already `owner`'s; who holds it afterwards (one statement: two workers racing for
        an expired lease cannot both win, on either engine)."""
        await self.sql.run(
            "INSERT INTO leader_leases (name, owner, expires_at) VALUES (?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, "
            "expires_at = excluded.expires_at "
            "WHERE leader_leases.owner = excluded.owner OR leader_leases.expires_at <= ?",
            (name, owner, not_before(until), now),
        )
        found = await self.holder(name)
        assert found is not None
        return found

    async def holder(self, name: str) -> Leader | None:
        """Who holds the lease `name` and until when (possibly expired), or None."""
        row = await self.sql.one(
            "SELECT owner, expires_at FROM leader_leases WHERE name = ?", (name,)
        )
        return None if row is None else Leader(str(row["owner"]), from_ts(row["expires_at"]))

    async def resign(self, name: str, owner: str, now: datetime) -> None:
        """End `owner`'s lease now, so that another worker takes over without waiting."""
        await self.sql.run(
            "UPDATE leader_leases SET expires_at = ? WHERE name = ? AND owner = ?",
            (now, name, owner),
        )

    async def reserve(self, key: str, now_ms: int, gap_ms: int) -> int:
        """The moment (Unix ms) at which this send may go: the budget's next free slot, or
        now when it is free; the slot after it is `gap_ms` later (a token bucket without a
        burst, in one statement, so that concurrent workers get distinct slots)."""
        row = await self.sql.one(
            "INSERT INTO send_pace (key, next_ms) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET next_ms = CASE WHEN send_pace.next_ms > ? "
            "THEN send_pace.next_ms ELSE ? END + ? RETURNING next_ms",
            (key, now_ms + gap_ms, now_ms, now_ms, gap_ms),
        )
        assert row is not None
        return int(row["next_ms"]) - gap_ms
