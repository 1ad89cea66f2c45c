"""Care requests: booked, moved, marked on the day, settled."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from bot.domain.booking import Request, Status, Transition
from bot.domain.errors import DoubleBooking, NotFound, RequestChanged, SeriesDayTaken
from bot.domain.money import to_minor
from bot.services import ports
from storage.repos import rows
from storage.repos.sql import Conflict, Repository, is_double_booking, marks

# A request is read to be changed (a status transition, a move, billing): on PostgreSQL the read
# locks its row until the unit of work commits, so two workers' transitions of one request run
# one after the other, the second seeing the first's outcome (READ COMMITTED re-reads it).
_GET = {
    "sqlite": "SELECT * FROM requests WHERE id = ?",
    "postgresql": "SELECT * FROM requests WHERE id = ? FOR UPDATE",
}


class Requests(Repository, ports.Requests):
    """The requests table."""

    async def add(self, new: ports.NewRequest, at: datetime) -> Request:
        # The member's counter, bumped under their row's lock: two workers adding requests for
        # one member at once get two numbers (MAX(member_seq) + 1 would give both the same).
        row = await self.sql.one(
            "UPDATE people SET request_seq = request_seq + 1 WHERE id = ? RETURNING request_seq",
            (new.member_id,),
        )
        seq = int(row["request_seq"]) if row else 1
        try:
            rid = await self.sql.insert(
                "INSERT INTO requests (member_id, member_seq, service_id, start_at, end_at, "
                "status, provider_id, price_minor, fee_minor, created_at, updated_at, "
                "paid_by_credit, series_id, series_day) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    new.member_id,
                    seq,
                    new.service_id,
                    new.start,
                    new.end,
                    new.status.value,
                    new.provider_id,
                    to_minor(new.price),
                    to_minor(new.fee),
                    at,
                    at,
                    int(new.paid_by_credit),
                    new.series_id,
                    new.series_day,
                ),
            )
        except Conflict as exc:
            # SQLite names the columns of the unique index, PostgreSQL the index.
            if "requests.series_id" in str(exc) or "requests_series_day" in str(exc):
                raise SeriesDayTaken(new.series_id or 0) from exc
            if is_double_booking(exc):
                raise DoubleBooking(new.provider_id) from exc
            raise
        return await self.get(rid)

    async def get(self, request_id: int) -> Request:
        row = await self.sql.one(_GET[self.sql.dialect], (request_id,))
        if row is None:
            raise NotFound(f"request {request_id}")
        return rows.request(row)

    async def by_seq(self, member_id: str, seq: int) -> Request | None:
        return await self.one_as(
            rows.request,
            "SELECT * FROM requests WHERE member_id = ? AND member_seq = ?",
            (member_id, seq),
        )

    async def of_member(self, member_id: str, statuses: Iterable[Status]) -> list[Request]:
        return await self._in(statuses, "member_id = ?", member_id, "start_at")

    async def of_provider(self, provider_id: str, statuses: Iterable[Status]) -> list[Request]:
        return await self._in(statuses, "provider_id = ?", provider_id, "start_at")

    async def _in(
        self, statuses: Iterable[Status], where: str, arg: object, order: str
    ) -> list[Request]:
        """Requests in these statuses meeting `where` (one argument), by `order` then id."""
        wanted = [s.value for s in statuses]
        return await self.all_as(
            rows.request,
            f"SELECT * FROM requests WHERE {where} AND status IN "
            f"({marks(len(wanted))}) ORDER BY {order}, id",
            (arg, *wanted),
        )

    async def save(self, transition: Transition) -> Request:
        before, after = transition.before, transition.after
        try:
            changed = await self.sql.run(
                "UPDATE requests SET status = ?, provider_id = ?, charge_minor = ?, "
                "payout_minor = ?, updated_at = ? WHERE id = ? AND status = ?",
                (
                    after.status.value,
                    after.provider_id,
                    to_minor(after.charge),
                    to_minor(after.payout),
                    transition.at,
                    before.id,
                    before.status.value,
                ),
            )
        except Conflict as exc:
            if is_double_booking(exc):
                raise DoubleBooking(str(after.provider_id)) from exc
            raise
        if not changed:
            raise RequestChanged(before.id)
        return await self.get(before.id)

    async def waive(self, request_id: int, at: datetime) -> Request:
        await self.sql.run(
            "UPDATE requests SET charge_minor = 0, payout_minor = 0, updated_at = ? WHERE id = ?",
            (at, request_id),
        )
        return await self.get(request_id)

    async def mark(self, request_id: int, at: datetime, mark: str, value: datetime | None) -> None:
        if mark not in rows.MARKS:
            raise ValueError(mark)
        await self.sql.run(
            f"UPDATE requests SET {mark} = ?, updated_at = ? WHERE id = ?",
            (value, at, request_id),
        )

    async def move(self, request_id: int, start: datetime, end: datetime, at: datetime) -> Request:
        try:
            await self.sql.run(
                "UPDATE requests SET start_at = ?, end_at = ?, updated_at = ? WHERE id = ?",
                (start, end, at, request_id),
            )
        except Conflict as exc:
            if is_double_booking(exc):
                raise DoubleBooking(str(request_id)) from exc
            raise
        return await self.get(request_id)

    async def unsettled_before(
        self, moment: datetime, statuses: Iterable[Status]
    ) -> list[Request]:
        return await self._in(statuses, "end_at < ?", moment, "end_at")

    async def between(
        self, start: datetime, end: datetime, provider_ids: Sequence[str] | None = None
    ) -> list[Request]:
        where = "start_at < ? AND end_at > ?"
        params: list[object] = [end, start]
        if provider_ids is not None:
            if not provider_ids:
                return []
            where += f" AND provider_id IN ({marks(len(provider_ids))})"
            params += list(provider_ids)
        return await self.all_as(
            rows.request,
            f"SELECT * FROM requests WHERE {where} ORDER BY start_at, id",
            tuple(params),
        )

    async def open_on_credit(self, member_id: str) -> int:
        row = await self.sql.one(
            "SELECT COUNT(*) AS n FROM requests WHERE member_id = ? AND "
            "paid_by_credit = 1 AND status IN ('pending', 'escalated', "
            "'confirmed', 'in_progress')",
            (member_id,),
        )
        return int(row["n"]) if row else 0

    async def set_details(self, request_id: int, at: datetime, details: ports.Details) -> Request:
        sets: list[str] = ["updated_at = ?"]
        args: list[Any] = [at]
        for column, value in (
            ("service_id", details.service_id),
            ("notes", details.notes),
            ("cancel_reason", details.cancel_reason),
        ):
            if value is not None:
                sets.append(f"{column} = ?")
                args.append(value)
        if details.price is not None:
            sets.append("price_minor = ?")
            args.append(to_minor(details.price))
        await self.sql.run(
            f"UPDATE requests SET {', '.join(sets)} WHERE id = ?", (*args, request_id)
        )
        return await self.get(request_id)
