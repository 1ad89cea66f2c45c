"""What services ask of storage about inbox (storage/repos/inbox.py implements it)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Inbox(Protocol):
    """The inbound queue: accepted in order, claimed once for processing."""

    async def accept(
        self, channel: str, external_id: str, address: str, payload: str, at: datetime
    ) -> bool:
        """Store an inbound delivery for processing; False when it was seen before."""
        ...

    async def take_next(self, at: datetime) -> tuple[str, str, str, str] | None:
        """Mark the next delivery to process as processed and return it (channel, id, address,
        payload): the oldest whose person has no older one waiting; None when none waits."""
        ...

    async def unprocessed(self, limit: int) -> list[tuple[str, str, str, str]]:
        """Accepted deliveries not yet processed, oldest first: (channel, id, address, payload)."""
        ...

    async def mark_processed(self, channel: str, external_id: str, at: datetime) -> bool:
        """Claim an accepted delivery for processing; False when it already was."""
        ...
