"""What services ask of storage about availability (storage/repos implements it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol


@dataclass(frozen=True)
class DaySpan:
    """A window [start, end) inside one local day, with its weekday, date and minutes of the
    day (what weekly hours and days off are matched against)."""

    start: datetime
    end: datetime
    weekday: int
    day: date
    first: int  # the local minute it starts
    last: int  # the local minute it ends (24 * 60: midnight after)


class Availability(Protocol):
    """Reads across hours, days off and booked requests (several may take milliseconds)."""

    async def free(self, service_id: str, span: DaySpan) -> list[tuple[str, float | None]]:
        """(id, rating) of providers of a service whose one weekly window covers a same-day
        span, not off that day and holding nothing that overlaps [start, end)."""
        ...

    async def partly_free(self, service_id: str, span: DaySpan, limit: int) -> list[str]:
        """Providers of a service with a window that overlaps but does not cover a same-day
        span, best rated first (the near misses worth showing)."""
        ...

    async def busy(self, start: datetime, end: datetime) -> set[str]:
        """Providers holding a window that overlaps [start, end)."""
        ...

    async def had_before(self, member_id: str) -> set[str]:
        """Providers who took care of this member before without cancelling on them."""
        ...

    async def minutes_booked(
        self, start: datetime, end: datetime, provider_ids: Sequence[str]
    ) -> dict[str, int]:
        """Minutes each of these providers holds or worked between start and end."""
        ...
