"""What services ask of storage about requests (storage/repos implements it)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from bot.domain.booking import NewRequest, Request, Status, Transition


@dataclass(frozen=True)
class Details:
    """What to change on a request besides its status and window (None: left as it is)."""

    service_id: str | None = None
    price: Decimal | None = None  # with service_id: the new service's price
    notes: str | None = None
    cancel_reason: str | None = None


class Requests(Protocol):
    """Members' requests for care, numbered per member."""

    async def add(self, new: NewRequest, at: datetime) -> Request:
        """Insert a request; raises DoubleBooking when the provider's window is taken (and
        SeriesDayTaken when that occurrence of the series exists already)."""
        ...

    async def get(self, request_id: int) -> Request:
        """A request by id."""
        ...

    async def by_seq(self, member_id: str, seq: int) -> Request | None:
        """A member's K-th request."""
        ...

    async def of_member(self, member_id: str, statuses: Iterable[Status]) -> list[Request]:
        """A member's requests in these statuses, soonest first."""
        ...

    async def of_provider(self, provider_id: str, statuses: Iterable[Status]) -> list[Request]:
        """A provider's requests in these statuses, soonest first."""
        ...

    async def save(self, transition: Transition) -> Request:
        """Store a status change, only if the request still stands where it started (else
        RequestChanged: another unit of work moved it first); raises DoubleBooking when a
        provider it now holds is taken."""
        ...

    async def waive(self, request_id: int, at: datetime) -> Request:
        """Cancel a settled request's charge and payout (an approved waiver)."""
        ...

    async def mark(self, request_id: int, at: datetime, mark: str, value: datetime | None) -> None:
        """Set or clear one day-of-care mark (see MARKS)."""
        ...

    async def move(self, request_id: int, start: datetime, end: datetime, at: datetime) -> Request:
        """Move a request to a new window; raises DoubleBooking when it collides."""
        ...

    async def unsettled_before(
        self, moment: datetime, statuses: Iterable[Status]
    ) -> list[Request]:
        """Requests in these statuses whose end is before `moment`, oldest first."""
        ...

    async def between(
        self, start: datetime, end: datetime, provider_ids: Sequence[str] | None = None
    ) -> list[Request]:
        """Requests overlapping [start, end) (of these providers only, when given), by start."""
        ...

    async def open_on_credit(self, member_id: str) -> int:
        """How many of a member's open requests will use a session credit."""
        ...

    async def set_details(self, request_id: int, at: datetime, details: Details) -> Request:
        """Change a request's service and price, notes, or cancellation reason."""
        ...
