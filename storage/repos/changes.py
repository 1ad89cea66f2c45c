"""Members' requests to change a booked appointment, and staff's decisions."""

from __future__ import annotations

from datetime import datetime

from bot.domain.booking import ChangeRequest
from bot.services import ports
from storage.repos import rows
from storage.repos.sql import Repository


class Changes(Repository, ports.Changes):
    """The change_requests table."""

    async def add(
        self,
        request_id: int,
        kind: str,
        at: datetime,
        *,
        new_start: datetime | None = None,
        new_end: datetime | None = None,
        new_service: str | None = None,
        notes: str | None = None,
    ) -> ChangeRequest:
        cid = await self.sql.insert(
            "INSERT INTO change_requests (request_id, kind, new_start, new_end, new_service, "
            "notes, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (request_id, kind, new_start, new_end, new_service, notes, at),
        )
        change = await self.get(cid)
        assert change is not None
        return change

    async def get(self, change_id: int) -> ChangeRequest | None:
        return await self.one_as(
            rows.change, "SELECT * FROM change_requests WHERE id = ?", (change_id,)
        )

    async def of_request(self, request_id: int) -> list[ChangeRequest]:
        return await self.all_as(
            rows.change,
            "SELECT * FROM change_requests WHERE request_id = ? ORDER BY id",
            (request_id,),
        )

    async def decide(self, change_id: int, status: str, at: datetime) -> bool:
        return await self.changed_one(
            "UPDATE change_requests SET status = ?, decided_at = ? "
            "WHERE id = ? AND status = 'pending'",
            (status, at, change_id),
        )
