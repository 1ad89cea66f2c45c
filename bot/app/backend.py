"""The application's one port to a database: units of work, health, closing."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Protocol

from bot.services.ports import UnitOfWork as Tx


class Backend(Protocol):
    """What the application needs of a database (storage.db.Database on SQLite)."""

    def transaction(self) -> AbstractAsyncContextManager[Tx]:
        """A unit of work that commits on success."""
        ...

    def read(self) -> AbstractAsyncContextManager[Tx]:
        """A read-only unit of work."""
        ...

    async def write_failure(self, at: datetime) -> str | None:
        """Why writes fail now (disk full, a lock held), None when they work."""
        ...

    async def listen(self, wake: Callable[[str], None]) -> None:
        """Call `wake(kind)` when another process adds work of that kind (or never)."""
        ...

    @property
    def timer_writes(self) -> int:
        """A counter that moves whenever this process adds timers."""
        ...

    async def close(self) -> None:
        """Close the database."""
        ...
