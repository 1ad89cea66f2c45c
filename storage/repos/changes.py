"""Members' requests to change a booked appointment, and staff's decisions."""

from __future__ import annotations

from datetime import datetime

from bot.domain.booking import ChangeRequest
from bot.services import ports
from storage.repos import rows
from storage.repos.sql import Repository


class Changes(Repository, ports.Changes):
    """The change_requests table."""

    async def add(self, request_id: int, change: ports.NewChange, at: datetime) -> ChangeRequest:
        cid = await self.sql.insert(
            "INSERT INTO change_requests (request_id, kind, new_start, new_end, new_service, "
            "notes, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                request_id,
                change.kind,
                change.new_start,
                change.new_end,
                change.new_service,
                change.notes,
                at,
            ),
        )
        added = await self.get(cid)
        assert added is not None
        return added

    async def get(self, change_id: int) -> ChangeRequest | None:
        return await self.by_id(rows.change, "change_requests", change_id)

    async def of_request(self, request_id: int) -> list[ChangeRequest]:
        return await self.of_request_rows(rows.change, "change_requests", request_id)

    async def decide(self, change_id: int, status: str, at: datetime) -> bool:
        return await self.changed_one(
            "UPDATE change_requests SET status = ?, decided_at = ? "
            "WHERE id = ? AND status = 'pending'",
            (status, at, change_id),
        )
