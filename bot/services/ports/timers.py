"""What services ask of storage about timers (storage/repos/timers.py implements it)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Protocol

from bot.services.ports.records import (
    Timer,
)


class Timers(Protocol):
    """Pending, fired or cancelled timers."""

    async def add(
        self, kind: str, due_at: datetime, request_id: int | None = None, ref_id: int | None = None
    ) -> None:
        """Schedule something to happen at `due_at`."""
        ...

    async def add_many(
        self, timers: Sequence[tuple[str, datetime, int | None, int | None]]
    ) -> None:
        """Schedule many (kind, due_at, request_id, ref_id) at once."""
        ...

    async def due(self, until: datetime, limit: int) -> list[Timer]:
        """The earliest pending timers due at or before `until`, in due order."""
        ...

    async def next_due(self) -> datetime | None:
        """When the earliest pending timer falls due (an index lookup, cheap)."""
        ...

    async def stats(self) -> tuple[int, datetime | None]:
        """How many timers are pending, and when the earliest falls due."""
        ...

    async def claim(self, timer_id: int, at: datetime) -> bool:
        """Take a timer for firing; False when another process already did."""
        ...

    async def cancel(self, request_id: int, kinds: Iterable[str] | None = None) -> None:
        """Drop a request's pending timers (all, or only these kinds)."""
        ...

    async def has_pending(self, kind: str) -> bool:
        """Whether a timer of this kind is pending (agency-wide timers are set once)."""
        ...
