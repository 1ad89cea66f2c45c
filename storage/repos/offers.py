"""Requests put to providers, and their answers."""

from __future__ import annotations

from datetime import datetime

from bot.services import ports
from bot.services.ports import Offer
from storage.repos import rows
from storage.repos.sql import Repository


class Offers(Repository, ports.Offers):
    """The offers table."""

    async def add(
        self, request_id: int, provider_id: str, sent_at: datetime, deadline: datetime
    ) -> Offer:
        oid = await self.sql.insert(
            "INSERT INTO offers (request_id, provider_id, sent_at, deadline) VALUES (?, ?, ?, ?)",
            (request_id, provider_id, sent_at, deadline),
        )
        return Offer(oid, request_id, provider_id, sent_at, deadline, None)

    async def get(self, offer_id: int) -> Offer | None:
        return await self.by_id(rows.offer, "offers", offer_id)

    async def open_for(self, provider_id: str) -> list[Offer]:
        return await self.all_as(
            rows.offer,
            "SELECT * FROM offers WHERE provider_id = ? AND answer IS NULL ORDER BY id",
            (provider_id,),
        )

    async def answer(self, offer_id: int, answer: str, at: datetime) -> bool:
        return await self.changed_one(
            "UPDATE offers SET answer = ?, answered_at = ? WHERE id = ? AND answer IS NULL",
            (answer, at, offer_id),
        )

    async def providers_asked(self, request_id: int) -> set[str]:
        # A series is asked on one of its sessions and answered once for all (§8.2): a no
        # there is a no for each of its sessions.
        return await self.provider_ids(
            "SELECT provider_id FROM offers WHERE request_id = ? "
            "AND (answer IN ('decline', 'timeout') OR cancelled_at IS NOT NULL) "
            "UNION SELECT o.provider_id FROM offers o JOIN requests q ON q.id = o.request_id "
            "WHERE q.series_id = (SELECT series_id FROM requests WHERE id = ?) "
            "AND o.answer IN ('decline', 'timeout')",
            (request_id, request_id),
        )

    async def record_cancel(self, request_id: int, provider_id: str, at: datetime) -> None:
        await self.sql.run(
            "UPDATE offers SET cancelled_at = ? WHERE request_id = ? AND "
            "provider_id = ? AND answer = 'confirm' AND cancelled_at IS NULL",
            (at, request_id, provider_id),
        )
