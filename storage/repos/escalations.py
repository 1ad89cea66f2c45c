"""Requests handed to staff, and who handled them."""

from __future__ import annotations

from datetime import datetime

from bot.services import ports
from bot.services.ports import Escalation
from storage.repos import rows
from storage.repos.sql import Repository


class Escalations(Repository, ports.Escalations):
    """The escalations table."""

    async def add(
        self, request_id: int, reason: str, about: str | None, at: datetime
    ) -> Escalation:
        eid = await self.sql.insert(
            "INSERT INTO escalations (request_id, reason, about, created_at) VALUES (?, ?, ?, ?)",
            (request_id, reason, about, at),
        )
        return Escalation(eid, request_id, reason, about, None, None)

    async def get(self, escalation_id: int) -> Escalation | None:
        return await self.by_id(rows.escalation, "escalations", escalation_id)

    async def of_request(self, request_id: int) -> list[Escalation]:
        return await self.of_request_rows(rows.escalation, "escalations", request_id)

    async def claim(self, escalation_id: int, staff_id: str, outcome: str, at: datetime) -> bool:
        return await self.changed_one(
            "UPDATE escalations SET handled_by = ?, handled_at = ?, outcome = ? "
            "WHERE id = ? AND handled_by IS NULL AND outcome IS NULL",
            (staff_id, at, outcome, escalation_id),
        )

    async def close(self, escalation_id: int, outcome: str, at: datetime) -> bool:
        return await self.changed_one(
            "UPDATE escalations SET handled_at = ?, outcome = ? "
            "WHERE id = ? AND handled_by IS NULL AND outcome IS NULL",
            (at, outcome, escalation_id),
        )

    async def open(self) -> list[Escalation]:
        return await self.all_as(
            rows.escalation,
            "SELECT * FROM escalations WHERE handled_by IS NULL AND outcome IS NULL ORDER BY id",
        )
