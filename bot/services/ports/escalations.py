"""What services ask of storage about escalations (storage/repos/escalations.py implements it)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from bot.services.ports.records import (
    Escalation,
)


class Escalations(Protocol):
    """Each escalation is handled once, by one staff member or by the bot."""

    async def add(
        self, request_id: int, reason: str, about: str | None, at: datetime
    ) -> Escalation:
        """Hand a request to staff."""
        ...

    async def get(self, escalation_id: int) -> Escalation | None:
        """An escalation by id."""
        ...

    async def of_request(self, request_id: int) -> list[Escalation]:
        """Every escalation a request has had, oldest first."""
        ...

    async def claim(self, escalation_id: int, staff_id: str, outcome: str, at: datetime) -> bool:
        """Mark an escalation handled by one staff member; False when someone already did."""
        ...

    async def close(self, escalation_id: int, outcome: str, at: datetime) -> bool:
        """Close an escalation by the bot itself (no staff member); False if already handled."""
        ...

    async def open(self) -> list[Escalation]:
        """Escalations nobody has handled yet, oldest first."""
        ...
