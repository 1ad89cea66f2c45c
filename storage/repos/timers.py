"""Moments at which something must happen, each fired once."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.services import ports
from bot.services.ports import Timer
from storage.codec import from_ts, maybe_ts
from storage.repos.sql import Executor, Repository, marks


@dataclass
class Writes:
    """What units of work have written, for the process's wake-ups and the other workers'
    (bumped, never reset): timers added, outbox rows queued, inbound deliveries accepted."""

    timers: int = 0
    outbox: int = 0
    inbound: int = 0

    def kinds(self) -> list[str]:
        """Which kinds of work were added (the names NOTIFY carries)."""
        return [k for k in ("timers", "outbox", "inbound") if getattr(self, k)]

    def add(self, other: Writes) -> None:
        """Count another unit of work's writes in."""
        self.timers += other.timers
        self.outbox += other.outbox
        self.inbound += other.inbound


_DUE_SQL = (
    "SELECT * FROM timers WHERE state = 'pending' AND due_at <= ? ORDER BY due_at, id LIMIT ?"
)
_DUE = {"sqlite": _DUE_SQL, "postgresql": _DUE_SQL + " FOR UPDATE SKIP LOCKED"}


class Timers(Repository, ports.Timers):
    """The timers table; counts its writes in `writes` for the process's wake-ups."""

    def __init__(self, sql: Executor, writes: Writes) -> None:
        super().__init__(sql)
        self._writes = writes

    async def add(
        self, kind: str, due_at: datetime, request_id: int | None = None, ref_id: int | None = None
    ) -> None:
        self._writes.timers += 1
        await self.sql.run(
            "INSERT INTO timers (kind, request_id, ref_id, due_at) VALUES (?, ?, ?, ?)",
            (kind, request_id, ref_id, due_at),
        )

    async def add_many(
        self, timers: Sequence[tuple[str, datetime, int | None, int | None]]
    ) -> None:
        self._writes.timers += 1
        await self.sql.many(
            "INSERT INTO timers (kind, request_id, ref_id, due_at) VALUES (?, ?, ?, ?)",
            [(kind, request_id, ref_id, due) for kind, due, request_id, ref_id in timers],
        )

    async def due(self, until: datetime, limit: int) -> list[Timer]:
        # On PostgreSQL they are locked until this unit of work's commit, and those another
        # worker is firing are skipped: that worker's lease is its row locks, dropped with its
        # connection if it dies (the timers come back, still pending).
        found = await self.sql.all(_DUE[self.sql.dialect], (until, limit))
        return [
            Timer(r["id"], r["kind"], r["request_id"], r["ref_id"], from_ts(r["due_at"]))
            for r in found
        ]

    async def next_due(self) -> datetime | None:
        row = await self.sql.one("SELECT MIN(due_at) AS first FROM timers WHERE state = 'pending'")
        return maybe_ts(row["first"]) if row else None

    async def stats(self) -> tuple[int, datetime | None]:
        row = await self.sql.one(
            "SELECT COUNT(*) AS n, MIN(due_at) AS first FROM timers WHERE state = 'pending'"
        )
        assert row is not None
        return int(row["n"]), maybe_ts(row["first"])

    async def claim(self, timer_id: int, at: datetime) -> bool:
        return await self.changed_one(
            "UPDATE timers SET state = 'fired', fired_at = ? WHERE id = ? AND state = 'pending'",
            (at, timer_id),
        )

    async def cancel(self, request_id: int, kinds: Iterable[str] | None = None) -> None:
        if kinds is None:
            await self.sql.run(
                "UPDATE timers SET state = 'cancelled' WHERE request_id = ? AND state = 'pending'",
                (request_id,),
            )
            return
        wanted = list(kinds)
        await self.sql.run(
            f"UPDATE timers SET state = 'cancelled' WHERE request_id = ? AND "
            f"state = 'pending' AND kind IN ({marks(len(wanted))})",
            (request_id, *wanted),
        )

    async def has_pending(self, kind: str) -> bool:
        row = await self.sql.one(
            "SELECT 1 AS one FROM timers WHERE kind = ? AND state = 'pending' LIMIT 1", (kind,)
        )
        return row is not None
