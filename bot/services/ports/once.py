"""What services ask of storage about once (storage/repos/once.py implements it)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Once(Protocol):
    """Keys seen once per channel (or scope); a second sighting is refused."""

    async def first(self, scope: str, key: str, at: datetime) -> bool:
        """Record a key; False when it was seen before."""
        ...
