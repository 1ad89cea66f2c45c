"""What services ask of storage about offers (storage/repos/offers.py implements it)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from bot.services.ports.records import (
    Offer,
)


class Offers(Protocol):
    """One row per provider asked about a request."""

    async def add(
        self, request_id: int, provider_id: str, sent_at: datetime, deadline: datetime
    ) -> Offer:
        """Record that a request was put to a provider."""
        ...

    async def get(self, offer_id: int) -> Offer | None:
        """An offer by id."""
        ...

    async def open_for(self, provider_id: str) -> list[Offer]:
        """Offers a provider has not answered yet, oldest first."""
        ...

    async def answer(self, offer_id: int, answer: str, at: datetime) -> bool:
        """Record an answer once; False when the offer was already answered."""
        ...

    async def providers_asked(self, request_id: int) -> set[str]:
        """Providers who already declined or let a request lapse, or, for a session of a
        series, declined or let lapse any offer of that series."""
        ...

    async def record_cancel(self, request_id: int, provider_id: str, at: datetime) -> None:
        """Remember that a provider cancelled a confirmed request (ranking, escalation)."""
        ...
