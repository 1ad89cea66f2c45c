"""What services ask of storage about health (storage/repos/health.py implements it)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Health(Protocol):
    """Does the database take writes right now?"""

    async def touch(self, at: datetime) -> None:
        """Rewrite the one probe row."""
        ...

    async def lag_and_leases(
        self, now: datetime, owner_prefix: str
    ) -> tuple[dict[str, float], dict[str, int]]:
        """Seconds the oldest waiting work has waited, and outbox leases per channel held by
        owners named `owner_prefix`... (one worker)."""
        ...
