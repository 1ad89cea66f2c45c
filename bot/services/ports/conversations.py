"""What services ask of storage about conversations (storage/repos implements it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol


class Conversations(Protocol):
    """One flow and its state per person, at most."""

    async def get(self, person_id: str) -> tuple[str, dict[str, Any]] | None:
        """The flow a person is in and its state."""
        ...

    async def save(self, person_id: str, flow: str, state: dict[str, Any], at: datetime) -> None:
        """Store where a person is in a flow."""
        ...

    async def end(self, person_id: str) -> None:
        """Leave whatever flow a person is in."""
        ...
