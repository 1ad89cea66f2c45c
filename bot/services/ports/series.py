"""What services ask of storage about series (storage/repos implements it)."""

from __future__ import annotations

from datetime import date
from typing import Protocol

from bot.domain.booking import Request, Series


class SeriesRepo(Protocol):
    """Series and their occurrences (requests pointing at them)."""

    async def add(self, series: Series) -> Series:
        """Record a weekly series (its id is given here)."""
        ...

    async def get(self, series_id: int) -> Series | None:
        """One series by id."""
        ...

    async def live(self) -> list[Series]:
        """Series still running (asked or confirmed), oldest first."""
        ...

    async def set_status(self, series_id: int, status: str) -> None:
        """Mark a series pending, active or ended."""
        ...

    async def set_provider(self, series_id: int, provider_id: str | None) -> None:
        """The provider who holds a series (None while staff look for one)."""
        ...

    async def days(self, series_id: int) -> set[date]:
        """The days on which a series has an occurrence already (whatever its status)."""
        ...

    async def occurrences(self, series_id: int) -> list[Request]:
        """Every occurrence of a series, soonest first."""
        ...
