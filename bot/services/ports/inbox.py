"""What services ask of storage about inbox (storage/repos/inbox.py implements it)."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple, Protocol


class Taken(NamedTuple):
    """A delivery taken for processing, and whether others were waiting when it was taken."""

    channel: str
    external_id: str
    address: str
    payload: str
    # Another delivery waited (perhaps another worker's): the worker looks again at once
    # rather than after one more transaction that finds nothing.
    more: bool


class Inbox(Protocol):
    """The inbound queue: accepted in order, claimed once for processing."""

    async def accept(
        self, channel: str, external_id: str, address: str, payload: str, at: datetime
    ) -> bool:
        """Store an inbound delivery for processing; False when it was seen before."""
        ...

    async def take_next(self, at: datetime) -> Taken | None:
        """Mark the next delivery to process as processed and return it: the oldest whose
        person has no older one waiting; None when none waits."""
        ...

    async def unprocessed(self, limit: int) -> list[tuple[str, str, str, str]]:
        """Accepted deliveries not yet processed, oldest first: (channel, id, address, payload)."""
        ...

    async def mark_processed(self, channel: str, external_id: str, at: datetime) -> bool:
        """Claim an accepted delivery for processing; False when it already was."""
        ...
