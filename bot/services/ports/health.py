"""What services ask of storage about health (storage/repos/health.py implements it)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Health(Protocol):
    """Does the database take writes right now?"""

    async def touch(self, at: datetime) -> None:
        """Rewrite the one probe row."""
        ...
