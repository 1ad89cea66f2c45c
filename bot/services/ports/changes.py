"""What services ask of storage about changes (storage/repos/changes.py implements it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.domain.booking import ChangeRequest


@dataclass(frozen=True)
class NewChange:
    """What a member asks to change: the time, the service or the notes (by `kind`)."""

    kind: str  # "time" | "service" | "notes"
    new_start: datetime | None = None
    new_end: datetime | None = None
    new_service: str | None = None
    notes: str | None = None


class Changes(Protocol):
    """Change requests; each is decided once."""

    async def add(self, request_id: int, change: NewChange, at: datetime) -> ChangeRequest:
        """Record a member's change request (pending)."""
        ...

    async def get(self, change_id: int) -> ChangeRequest | None:
        """A change request by id."""
        ...

    async def of_request(self, request_id: int) -> list[ChangeRequest]:
        """A request's change requests, oldest first."""
        ...

    async def decide(self, change_id: int, status: str, at: datetime) -> bool:
        """Approve or deny a pending change once; False when it was already decided."""
        ...
