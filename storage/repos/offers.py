"""Requests put to providers, and their answers."""

from __future__ import annotations

from datetime import datetime

from bot.services.ports import Offer
from storage.repos import rows
from storage.repos.sql import Executor


class Offers:
    """One row per provider asked about a request."""

    def __init__(self, sql: Executor) -> None:
        self.sql = sql

    async def add(
        self, request_id: int, provider_id: str, sent_at: datetime, deadline: datetime
    ) -> Offer:
        """Record that a request was put to a provider."""
        oid = await self.sql.insert(
            "INSERT INTO offers (request_id, provider_id, sent_at, deadline) VALUES (?, ?, ?, ?)",
            (request_id, provider_id, sent_at, deadline),
        )
        return Offer(oid, request_id, provider_id, sent_at, deadline, None)

    async def get(self, offer_id: int) -> Offer | None:
        """An offer by id."""
        row = await self.sql.one("SELECT * FROM offers WHERE id = ?", (offer_id,))
        return None if row is None else rows.offer(row)

    async def open_for(self, provider_id: str) -> list[Offer]:
        """Offers a provider has not answered yet, oldest first."""
        found = await self.sql.all(
            "SELECT * FROM offers WHERE provider_id = ? AND answer IS NULL ORDER BY id",
            (provider_id,),
        )
        return [rows.offer(r) for r in found]

    async def answer(self, offer_id: int, answer: str, at: datetime) -> bool:
        """Record an answer once; False when the offer was already answered."""
        count = await self.sql.run(
            "UPDATE offers SET answer = ?, answered_at = ? WHERE id = ? AND answer IS NULL",
            (answer, at, offer_id),
        )
        return count == 1

    async def providers_asked(self, request_id: int) -> set[str]:
        """Providers who already declined or let a request lapse."""
        found = await self.sql.all(
            "SELECT provider_id FROM offers WHERE request_id = ? "
            "AND (answer IN ('decline', 'timeout') OR cancelled_at IS NOT NULL)",
            (request_id,),
        )
        return {r["provider_id"] for r in found}

    async def record_cancel(self, request_id: int, provider_id: str, at: datetime) -> None:
        """Remember that a provider cancelled a confirmed request (ranking, escalation)."""
        await self.sql.run(
            "UPDATE offers SET cancelled_at = ? WHERE request_id = ? AND "
            "provider_id = ? AND answer = 'confirm' AND cancelled_at IS NULL",
            (at, request_id, provider_id),
        )
