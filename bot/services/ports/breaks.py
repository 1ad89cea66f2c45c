"""What services ask of storage about breaks (storage/repos implements it)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from bot.services.ports.records import (
    Regular,
)


class Breaks(Protocol):
    """Each regular member's current break, watched once and nudged once."""

    async def regulars(self, now: datetime, regular_since: datetime) -> list[Regular]:
        """Members with a subscription or a session since `regular_since` (§10), reachable,
        with their last session, its provider, whether anything is booked, and their break."""
        ...

    async def watch(self, member_id: str, since: datetime) -> None:
        """Start watching a member's break from this moment (kept if already watched)."""
        ...

    async def mark_nudged(self, member_id: str, break_start: datetime) -> bool:
        """Record the check-in for the break that started then; False if it was already sent."""
        ...
