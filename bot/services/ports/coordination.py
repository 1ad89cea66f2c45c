"""The port of what several workers share: leader leases and send budgets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class Leader:
    """Who holds a leader lease, and until when."""

    owner: str
    expires_at: datetime


class Coordination(Protocol):
    """Leader leases (one worker acts for all) and send budgets shared by every worker."""

    async def lead(self, name: str, owner: str, now: datetime, until: datetime) -> Leader:
        """Take or renew a lease when free, expired or ours; who holds it afterwards."""
        ...

    async def holder(self, name: str) -> Leader | None:
        """Who holds a lease (possibly expired), or None."""
        ...

    async def resign(self, name: str, owner: str, now: datetime) -> None:
        """End our lease now."""
        ...

    async def reserve(self, key: str, now_ms: int, gap_ms: int) -> int:
        """The moment (Unix ms) at which one more send of `key` may go."""
        ...
