"""What health checks read and write: a probe row, and one worker's lag and leases."""

from __future__ import annotations

from datetime import datetime

from bot.services import ports
from storage.codec import maybe_ts
from storage.repos.sql import Repository


class Health(Repository, ports.Health):
    """The health_probe table, and the oldest waiting rows of the queues."""

    async def touch(self, at: datetime) -> None:
        await self.sql.run(
            "INSERT INTO health_probe (id, at) VALUES (1, ?) "
            "ON CONFLICT (id) DO UPDATE SET at = excluded.at",
            (at,),
        )

    async def lag_and_leases(
        self, now: datetime, owner_prefix: str
    ) -> tuple[dict[str, float], dict[str, int]]:
        """How long the oldest waiting work has waited, in seconds (inbound not processed,
        outbox rows due and not taken or whose lease expired, timers overdue), and how many
        outbox rows each channel has leased to owners named `owner_prefix`... (one worker)."""
        row = await self.sql.one(
            "SELECT (SELECT MIN(received_at) FROM inbound WHERE processed_at IS NULL "
            "AND payload IS NOT NULL) AS inbound, "
            "(SELECT MIN(COALESCE(next_attempt_at, created_at)) FROM outbox "
            "WHERE state = 'queued' AND (in_flight = 0 OR lease_until <= ?)) AS outbox, "
            "(SELECT MIN(due_at) FROM timers WHERE state = 'pending' AND due_at <= ?) AS timers",
            (now, now),
        )
        lag = {}
        for name in ("inbound", "outbox", "timers"):
            oldest = maybe_ts(row[name]) if row else None
            waited = 0.0 if oldest is None else (now - oldest).total_seconds()
            lag[name] = round(max(0.0, waited), 3)
        leased = await self.sql.all(
            "SELECT channel, COUNT(*) AS n FROM outbox WHERE in_flight = 1 "
            "AND substr(lease_owner, 1, length(?)) = ? GROUP BY channel",
            (owner_prefix, owner_prefix),
        )
        return lag, {str(r["channel"]): int(r["n"]) for r in leased}
