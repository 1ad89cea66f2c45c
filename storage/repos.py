"""Every SQL statement of carebot, as methods of one unit of work (`Tx`)."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from types import EllipsisType
from typing import Any

import aiosqlite

from bot.domain.agency import (
    Agency,
    AgencyFile,
    AvailabilityWindow,
    Member,
    Person,
    Provider,
    Service,
    Staff,
    Subscription,
)
from bot.domain.booking import HOLDING, OPEN, ChangeRequest, Request, Series, Status
from bot.domain.errors import (
    DoubleBooking,
    NotFound,
    RosterConflict,
    RosterInUse,
    SeriesDayTaken,
)
from bot.domain.money import from_minor, to_minor
from bot.services.ports import (
    Escalation,
    LedgerLine,
    Offer,
    OutboxMessage,
    Regular,
    RosterChanges,
    Timer,
)
from storage.codec import from_ts, policy_from_json, policy_to_json, ts

_HOLDING_SQL = "(" + ", ".join(f"'{s.value}'" for s in sorted(HOLDING)) + ")"
# A session the member had (§10): it took place, whether or not it was declared yet.
_SESSION_SQL = "('confirmed', 'in_progress', 'completed', 'no_show')"
# Something booked for the member: asked, with staff, or held.
_BOOKED_SQL = "('pending', 'escalated', 'confirmed', 'in_progress')"
# Provider p is not off on day ? and holds nothing overlapping [?, ?) (end first, then start).
_NOT_OFF_NOR_BUSY = (
    "AND NOT EXISTS (SELECT 1 FROM days_off d WHERE d.provider_id = p.id AND d.day = ?) "
    f"AND NOT EXISTS (SELECT 1 FROM requests r WHERE r.provider_id = p.id AND r.status "
    f"IN {_HOLDING_SQL} AND r.start_at < ? AND ? < r.end_at)"
)


def _person(row: sqlite3.Row, extra: dict[str, Any] | None = None) -> Person:
    """Build the right Person subclass from a people row (providers need `extra`)."""
    common: dict[str, Any] = {
        "id": row["id"],
        "name": row["name"],
        "channel": row["channel"],
        "telegram_id": row["telegram_id"],
        "phone": row["phone"],
        "language": row["language"],
    }
    if row["role"] == "member":
        sub = None
        if row["subscription_service"]:
            sub = Subscription(row["subscription_service"], int(row["subscription_per_week"]))
        return Member(**common, subscription=sub)
    if row["role"] == "provider":
        return Provider(
            **common, rating=row["rating"], bio=json.loads(row["bio_json"]), **(extra or {})
        )
    return Staff(**common)


# The day-of-care moments a request records (migrations 002 and 009).
MARKS = frozenset({"arrived_at", "absent_at", "phones_at", "expected_at", "client_cancel_at"})


def _series(row: sqlite3.Row) -> Series:
    return Series(
        id=row["id"],
        member_id=row["member_id"],
        service_id=row["service_id"],
        provider_id=row["provider_id"],
        weekday=row["weekday"],
        start_min=row["start_min"],
        end_min=row["end_min"],
        first_day=date.fromisoformat(row["first_day"]),
        until_day=date.fromisoformat(row["until_day"]) if row["until_day"] else None,
        max_count=row["max_count"],
        status=row["status"],
        created_at=from_ts(row["created_at"]),
    )


def _request(row: sqlite3.Row) -> Request:
    return Request(
        id=row["id"],
        member_id=row["member_id"],
        member_seq=row["member_seq"],
        service_id=row["service_id"],
        start=from_ts(row["start_at"]),
        end=from_ts(row["end_at"]),
        status=Status(row["status"]),
        provider_id=row["provider_id"],
        price=from_minor(row["price_minor"]),
        fee=from_minor(row["fee_minor"]),
        charge=from_minor(row["charge_minor"]),
        payout=from_minor(row["payout_minor"]),
        arrived_at=_maybe_ts(row["arrived_at"]),
        absent_at=_maybe_ts(row["absent_at"]),
        phones_at=_maybe_ts(row["phones_at"]),
        expected_at=_maybe_ts(row["expected_at"]),
        client_cancel_at=_maybe_ts(row["client_cancel_at"]),
        paid_by_credit=bool(row["paid_by_credit"]),
        notes=row["notes"],
        series_id=row["series_id"],
    )


def _change(row: sqlite3.Row) -> ChangeRequest:
    return ChangeRequest(
        row["id"],
        row["request_id"],
        row["kind"],
        _maybe_ts(row["new_start"]),
        _maybe_ts(row["new_end"]),
        row["new_service"],
        row["notes"],
        row["status"],
    )


def _escalation(row: sqlite3.Row) -> Escalation:
    return Escalation(
        row["id"],
        row["request_id"],
        row["reason"],
        row["about"],
        row["handled_by"],
        row["outcome"],
    )


def _ledger_line(r: sqlite3.Row) -> LedgerLine:
    return LedgerLine(
        r["id"],
        from_ts(r["created_at"]),
        r["kind"],
        r["request_id"],
        from_minor(r["amount_minor"]),
        from_minor(r["balance_minor"]),
        r["credits"],
    )


def _maybe_ts(text: str | None) -> datetime | None:
    return None if text is None else from_ts(text)


def _offer(row: sqlite3.Row) -> Offer:
    return Offer(
        row["id"],
        row["request_id"],
        row["provider_id"],
        from_ts(row["sent_at"]),
        from_ts(row["deadline"]),
        row["answer"],
    )


def _outbox(row: sqlite3.Row) -> OutboxMessage:
    options = tuple(
        (str(label), str(act)) for label, act in json.loads(row["options_json"] or "[]")
    )
    return OutboxMessage(
        row["id"],
        from_ts(row["created_at"]),
        row["person_id"],
        row["channel"],
        row["address"],
        row["text"],
        options,
        row["state"],
        broadcast=row["broadcast"],
        attempts=int(row["attempts"]),
        unsure_since=_maybe_ts(row["unsure_since"]),
    )


class Writes:
    """What units of work have written, for the process's wake-ups (bumped, never reset)."""

    timers: int = 0


class Tx:
    """The repositories of one transaction; only storage.db creates it."""

    def __init__(
        self, conn: aiosqlite.Connection, raw: sqlite3.Connection, writes: Writes
    ) -> None:
        self._c = conn
        self._raw = raw
        self._writes = writes

    # Statements run on the loop's thread (storage/db.py says why), except the _heavy ones.
    async def _one(self, sql: str, args: Sequence[Any] = ()) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self._raw.execute(sql, args).fetchone()
        return row

    async def _all(self, sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
        return self._raw.execute(sql, args).fetchall()

    async def _heavy(self, sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """A read that may take milliseconds on a large agency: in aiosqlite's thread."""
        return list(await self._c.execute_fetchall(sql, args))

    async def _many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """One statement over many rows."""
        self._raw.executemany(sql, rows)

    async def _run(self, sql: str, args: Sequence[Any] = ()) -> tuple[int, int]:
        """Execute a write; returns (rowcount, lastrowid)."""
        cursor = self._raw.execute(sql, args)
        return cursor.rowcount, cursor.lastrowid or 0

    # --- agency and roster -------------------------------------------------------------

    async def agency(self) -> Agency:
        """The agency; raises NotFound before any import."""
        row = await self._one("SELECT * FROM agency WHERE id = 1")
        if row is None:
            raise NotFound("no agency imported")
        return Agency(
            row["name"],
            row["timezone"],
            row["currency"],
            row["language"],
            policy_from_json(row["policy_json"]),
        )

    async def agency_version(self) -> str:
        """A fingerprint of the imported agency file ('' before the first import)."""
        row = await self._one("SELECT version FROM agency WHERE id = 1")
        return str(row["version"]) if row else ""

    async def services(self) -> list[Service]:
        """All services, in the agency file's order."""
        rows = await self._all("SELECT * FROM services ORDER BY position")
        return [
            Service(
                r["id"],
                json.loads(r["name_json"]),
                from_minor(r["hourly_rate_minor"]),
                bool(r["checkin"]),
            )
            for r in rows
        ]

    async def person(self, person_id: str) -> Person:
        """Anyone on the roster by id; providers come with services and availability."""
        row = await self._one("SELECT * FROM people WHERE id = ?", (person_id,))
        if row is None:
            raise NotFound(person_id)
        return await self._complete(row)

    async def person_by_address(self, channel: str, address: str) -> Person | None:
        """Who writes from this Telegram id or E.164 phone number."""
        column = "telegram_id" if channel == "telegram" else "phone"
        key: Any = (
            int(address) if channel == "telegram" and address.lstrip("-").isdigit() else address
        )
        row = await self._one(f"SELECT * FROM people WHERE {column} = ?", (key,))
        return None if row is None else await self._complete(row)

    async def _complete(self, row: sqlite3.Row) -> Person:
        if row["role"] != "provider":
            return _person(row)
        return (await self._providers_from_rows([row]))[0]

    async def _providers_from_rows(self, rows: list[sqlite3.Row]) -> list[Provider]:
        """Attach services, weekly windows and days off to provider rows in three queries."""
        ids = [r["id"] for r in rows]
        marks = ",".join("?" * len(ids))
        services: dict[str, list[str]] = {i: [] for i in ids}
        windows: dict[str, list[AvailabilityWindow]] = {i: [] for i in ids}
        off: dict[str, set[date]] = {i: set() for i in ids}
        for r in await self._all(
            f"SELECT * FROM provider_services WHERE provider_id IN ({marks})", ids
        ):
            services[r["provider_id"]].append(r["service_id"])
        for r in await self._all(
            f"SELECT * FROM availability WHERE provider_id IN ({marks})", ids
        ):
            windows[r["provider_id"]].append(
                AvailabilityWindow(r["weekday"], r["start_min"], r["end_min"])
            )
        for r in await self._all(f"SELECT * FROM days_off WHERE provider_id IN ({marks})", ids):
            off[r["provider_id"]].add(date.fromisoformat(r["day"]))
        result = []
        for r in rows:
            person = _person(
                r,
                {
                    "services": tuple(sorted(services[r["id"]])),
                    "availability": tuple(windows[r["id"]]),
                    "unavailable": frozenset(off[r["id"]]),
                },
            )
            assert isinstance(person, Provider)
            result.append(person)
        return result

    async def people(self, role: str) -> list[Person]:
        """Everyone with this role, in the agency file's order."""
        rows = await self._all(
            "SELECT * FROM people WHERE role = ? AND removed_at IS NULL ORDER BY position", (role,)
        )
        if role == "provider":
            return list(await self._providers_from_rows(rows))
        return [_person(r) for r in rows]

    async def providers_offering(self, service_id: str) -> list[Provider]:
        """Providers who offer a service."""
        rows = await self._all(
            "SELECT p.* FROM people p JOIN provider_services s ON s.provider_id = p.id "
            "WHERE s.service_id = ? ORDER BY p.id",
            (service_id,),
        )
        return await self._providers_from_rows(rows)

    async def free_provider_keys(
        self,
        service_id: str,
        weekday: int,
        first: int,
        last: int,
        day: str,
        start: datetime,
        end: datetime,
    ) -> list[tuple[str, float | None]]:
        """(id, rating) of providers of a service whose one weekly window covers a same-day
        span, not off that day and holding nothing that overlaps [start, end)."""
        # Driven by the weekday index: only providers working then are looked at. Windows are
        # merged at import, so at most one window of a day can cover a span (no duplicates).
        rows = await self._heavy(
            "SELECT p.id, p.rating FROM availability a "
            "JOIN provider_services s ON s.provider_id = a.provider_id AND s.service_id = ? "
            "JOIN people p ON p.id = a.provider_id "
            "WHERE a.weekday = ? AND a.start_min <= ? AND a.end_min >= ? " + _NOT_OFF_NOR_BUSY,
            (service_id, weekday, first, last, day, ts(end), ts(start)),
        )
        return [(r["id"], r["rating"]) for r in rows]

    async def partly_free_provider_ids(
        self,
        service_id: str,
        weekday: int,
        first: int,
        last: int,
        day: str,
        start: datetime,
        end: datetime,
        limit: int,
    ) -> list[str]:
        """Providers of a service with a window that overlaps but does not cover a same-day
        span, best rated first (the near misses worth showing)."""
        rows = await self._heavy(
            "SELECT p.id FROM people p JOIN provider_services s ON s.provider_id = p.id "
            "WHERE s.service_id = ? AND EXISTS (SELECT 1 FROM availability a WHERE "
            "a.provider_id = p.id AND a.weekday = ? AND a.start_min < ? AND a.end_min > ?) "
            "AND NOT EXISTS (SELECT 1 FROM availability a WHERE a.provider_id = p.id AND "
            "a.weekday = ? AND a.start_min <= ? AND a.end_min >= ?) " + _NOT_OFF_NOR_BUSY + " "
            "ORDER BY p.rating IS NULL, p.rating DESC, p.id LIMIT ?",
            (
                service_id,
                weekday,
                last,
                first,
                weekday,
                first,
                last,
                day,
                ts(end),
                ts(start),
                limit,
            ),
        )
        return [r["id"] for r in rows]

    async def providers_by_ids(self, ids: Sequence[str]) -> list[Provider]:
        """Providers, complete, in the order of `ids`."""
        if not ids:
            return []
        rows = await self._all(
            f"SELECT * FROM people WHERE id IN ({','.join('?' * len(ids))})", list(ids)
        )
        found = {p.id: p for p in await self._providers_from_rows(rows)}
        return [found[i] for i in ids if i in found]

    async def busy_providers(self, start: datetime, end: datetime) -> set[str]:
        """Providers holding a window that overlaps [start, end)."""
        rows = await self._heavy(
            f"SELECT DISTINCT provider_id FROM requests WHERE status IN {_HOLDING_SQL} "
            "AND provider_id IS NOT NULL AND start_at < ? AND ? < end_at",
            (ts(end), ts(start)),
        )
        return {r["provider_id"] for r in rows}

    async def providers_had_before(self, member_id: str) -> set[str]:
        """Providers who took care of this member before without cancelling on them."""
        rows = await self._all(
            "SELECT DISTINCT provider_id FROM requests WHERE member_id = ? "
            "AND provider_id IS NOT NULL "
            "AND status IN ('confirmed', 'in_progress', 'completed', 'no_show') "
            "AND provider_id NOT IN (SELECT o.provider_id FROM offers o JOIN requests q "
            "ON q.id = o.request_id WHERE q.member_id = ? AND o.cancelled_at IS NOT NULL)",
            (member_id, member_id),
        )
        return {r["provider_id"] for r in rows}

    async def minutes_booked(
        self, start: datetime, end: datetime, provider_ids: Sequence[str]
    ) -> dict[str, int]:
        """Minutes each of these providers holds or worked between start and end."""
        if not provider_ids:
            return {}
        marks = ",".join("?" * len(provider_ids))
        rows = await self._all(
            "SELECT provider_id, SUM((julianday(end_at) - julianday(start_at)) * 1440) AS m "
            f"FROM requests WHERE provider_id IN ({marks}) "
            "AND status IN ('pending', 'confirmed', 'in_progress', 'completed') "
            "AND start_at >= ? AND start_at < ? GROUP BY provider_id",
            (*provider_ids, ts(start), ts(end)),
        )
        return {r["provider_id"]: round(r["m"]) for r in rows}

    async def set_language(self, person_id: str, language: str) -> None:
        """Remember the language a person chose."""
        await self._run("UPDATE people SET language = ? WHERE id = ?", (language, person_id))

    async def set_opted_out(self, person_id: str, opted_out: bool) -> None:
        """Record an SMS opt-out or opt-in."""
        await self._run(
            "UPDATE people SET opted_out = ? WHERE id = ?", (int(opted_out), person_id)
        )

    # --- requests --------------------------------------------------------------------

    async def add_request(
        self,
        *,
        member_id: str,
        service_id: str,
        start: datetime,
        end: datetime,
        status: Status,
        provider_id: str | None,
        price: Decimal,
        fee: Decimal,
        at: datetime,
        paid_by_credit: bool = False,
        series_id: int | None = None,
        series_day: date | None = None,
    ) -> Request:
        """Insert a request; raises DoubleBooking when the provider's window is taken (and
        SeriesDayTaken when that occurrence of the series exists already)."""
        row = await self._one(
            "SELECT COALESCE(MAX(member_seq), 0) + 1 AS n FROM requests WHERE member_id = ?",
            (member_id,),
        )
        seq = int(row["n"]) if row else 1
        try:
            _, rid = await self._run(
                "INSERT INTO requests (member_id, member_seq, service_id, start_at, end_at, "
                "status, provider_id, price_minor, fee_minor, created_at, updated_at, "
                "paid_by_credit, series_id, series_day) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    member_id,
                    seq,
                    service_id,
                    ts(start),
                    ts(end),
                    status.value,
                    provider_id,
                    to_minor(price),
                    to_minor(fee),
                    ts(at),
                    ts(at),
                    int(paid_by_credit),
                    series_id,
                    series_day.isoformat() if series_day else None,
                ),
            )
        except sqlite3.IntegrityError as exc:
            if "requests.series_id" in str(exc):
                raise SeriesDayTaken(series_id or 0) from exc
            if "double booking" in str(exc):
                raise DoubleBooking(provider_id) from exc
            raise
        return await self.request(rid)

    async def request(self, request_id: int) -> Request:
        """A request by id."""
        row = await self._one("SELECT * FROM requests WHERE id = ?", (request_id,))
        if row is None:
            raise NotFound(f"request {request_id}")
        return _request(row)

    async def request_by_seq(self, member_id: str, seq: int) -> Request | None:
        """A member's K-th request."""
        row = await self._one(
            "SELECT * FROM requests WHERE member_id = ? AND member_seq = ?", (member_id, seq)
        )
        return None if row is None else _request(row)

    async def requests_of_member(
        self, member_id: str, statuses: Iterable[Status]
    ) -> list[Request]:
        """A member's requests in these statuses, soonest first."""
        return await self._requests_of("member_id", member_id, statuses)

    async def _requests_of(
        self, column: str, person_id: str, statuses: Iterable[Status]
    ) -> list[Request]:
        wanted = [s.value for s in statuses]
        rows = await self._all(
            f"SELECT * FROM requests WHERE {column} = ? AND status IN "
            f"({','.join('?' * len(wanted))}) ORDER BY start_at, id",
            (person_id, *wanted),
        )
        return [_request(r) for r in rows]

    async def update_request(
        self,
        request_id: int,
        at: datetime,
        *,
        status: Status | None = None,
        provider_id: str | EllipsisType | None = ...,
        charge: Decimal | None = None,
        payout: Decimal | None = None,
    ) -> Request:
        """Change a request's status, provider or billing; raises DoubleBooking on overlap."""
        sets: list[str] = ["updated_at = ?"]
        args: list[Any] = [ts(at)]
        if status is not None:
            sets.append("status = ?")
            args.append(status.value)
        if provider_id is not ...:
            sets.append("provider_id = ?")
            args.append(provider_id)
        if charge is not None:
            sets.append("charge_minor = ?")
            args.append(to_minor(charge))
        if payout is not None:
            sets.append("payout_minor = ?")
            args.append(to_minor(payout))
        try:
            await self._run(
                f"UPDATE requests SET {', '.join(sets)} WHERE id = ?", (*args, request_id)
            )
        except sqlite3.IntegrityError as exc:
            if "double booking" in str(exc):
                raise DoubleBooking(str(provider_id)) from exc
            raise
        return await self.request(request_id)

    async def mark_request(
        self, request_id: int, at: datetime, mark: str, value: datetime | None
    ) -> None:
        """Set or clear one day-of-care mark (see MARKS)."""
        if mark not in MARKS:
            raise ValueError(mark)
        await self._run(
            f"UPDATE requests SET {mark} = ?, updated_at = ? WHERE id = ?",
            (None if value is None else ts(value), ts(at), request_id),
        )

    async def move_request(
        self, request_id: int, start: datetime, end: datetime, at: datetime
    ) -> Request:
        """Move a request to a new window; raises DoubleBooking when it collides."""
        try:
            await self._run(
                "UPDATE requests SET start_at = ?, end_at = ?, updated_at = ? WHERE id = ?",
                (ts(start), ts(end), ts(at), request_id),
            )
        except sqlite3.IntegrityError as exc:
            if "double booking" in str(exc):
                raise DoubleBooking(str(request_id)) from exc
            raise
        return await self.request(request_id)

    async def requests_of_provider(
        self, provider_id: str, statuses: Iterable[Status]
    ) -> list[Request]:
        """A provider's requests in these statuses, soonest first."""
        return await self._requests_of("provider_id", provider_id, statuses)

    async def unsettled_before(
        self, moment: datetime, statuses: Iterable[Status]
    ) -> list[Request]:
        """Requests in these statuses whose end is before `moment`, oldest first."""
        wanted = [s.value for s in statuses]
        rows = await self._all(
            f"SELECT * FROM requests WHERE end_at < ? AND status IN "
            f"({','.join('?' * len(wanted))}) ORDER BY end_at, id",
            (ts(moment), *wanted),
        )
        return [_request(r) for r in rows]

    async def record_provider_cancel(
        self, request_id: int, provider_id: str, at: datetime
    ) -> None:
        """Remember that a provider cancelled a confirmed request (ranking, escalation)."""
        await self._run(
            "UPDATE offers SET cancelled_at = ? WHERE request_id = ? AND "
            "provider_id = ? AND answer = 'confirm' AND cancelled_at IS NULL",
            (ts(at), request_id, provider_id),
        )

    async def open_credit_requests(self, member_id: str) -> int:
        """How many of a member's open requests will use a session credit."""
        row = await self._one(
            "SELECT COUNT(*) AS n FROM requests WHERE member_id = ? AND "
            "paid_by_credit = 1 AND status IN ('pending', 'escalated', "
            "'confirmed', 'in_progress')",
            (member_id,),
        )
        return int(row["n"]) if row else 0

    async def set_request_details(
        self,
        request_id: int,
        at: datetime,
        *,
        service_id: str | None = None,
        price: Decimal | None = None,
        notes: str | None = None,
        cancel_reason: str | None = None,
    ) -> Request:
        """Change a request's service and price, notes, or cancellation reason."""
        sets, args = ["updated_at = ?"], [ts(at)]
        for column, value in (
            ("service_id", service_id),
            ("notes", notes),
            ("cancel_reason", cancel_reason),
        ):
            if value is not None:
                sets.append(f"{column} = ?")
                args.append(value)
        if price is not None:
            sets.append("price_minor = ?")
            args.append(str(to_minor(price)))
        await self._run(f"UPDATE requests SET {', '.join(sets)} WHERE id = ?", (*args, request_id))
        return await self.request(request_id)

    async def add_change(
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
        """Record a member's change request (pending)."""
        _, cid = await self._run(
            "INSERT INTO change_requests (request_id, kind, new_start, new_end, new_service, "
            "notes, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                request_id,
                kind,
                ts(new_start) if new_start else None,
                ts(new_end) if new_end else None,
                new_service,
                notes,
                ts(at),
            ),
        )
        change = await self.change(cid)
        assert change is not None
        return change

    async def change(self, change_id: int) -> ChangeRequest | None:
        """A change request by id."""
        row = await self._one("SELECT * FROM change_requests WHERE id = ?", (change_id,))
        return None if row is None else _change(row)

    async def changes_of(self, request_id: int) -> list[ChangeRequest]:
        """A request's change requests, oldest first."""
        rows = await self._all(
            "SELECT * FROM change_requests WHERE request_id = ? ORDER BY id", (request_id,)
        )
        return [_change(r) for r in rows]

    async def decide_change(self, change_id: int, status: str, at: datetime) -> bool:
        """Approve or deny a pending change once; False when it was already decided."""
        count, _ = await self._run(
            "UPDATE change_requests SET status = ?, decided_at = ? "
            "WHERE id = ? AND status = 'pending'",
            (status, ts(at), change_id),
        )
        return count == 1

    async def members_with_subscription(self) -> list[Member]:
        """Members who have a weekly subscription."""
        rows = await self._all(
            "SELECT * FROM people WHERE role = 'member' AND "
            "subscription_service IS NOT NULL ORDER BY position"
        )
        return [m for m in (_person(r) for r in rows) if isinstance(m, Member)]

    # --- weekly series (§8) -------------------------------------------------------------

    async def add_series(self, series: Series) -> Series:
        """Record a weekly series (its id is given here)."""
        _, sid = await self._run(
            "INSERT INTO series (member_id, service_id, provider_id, weekday, start_min, "
            "end_min, first_day, until_day, max_count, status, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                series.member_id,
                series.service_id,
                series.provider_id,
                series.weekday,
                series.start_min,
                series.end_min,
                series.first_day.isoformat(),
                series.until_day.isoformat() if series.until_day else None,
                series.max_count,
                series.status,
                ts(series.created_at),
            ),
        )
        return replace(series, id=sid)

    async def series(self, series_id: int) -> Series | None:
        """One series by id."""
        row = await self._one("SELECT * FROM series WHERE id = ?", (series_id,))
        return _series(row) if row else None

    async def live_series(self) -> list[Series]:
        """Series still running (asked or confirmed), oldest first."""
        rows = await self._heavy(
            "SELECT * FROM series WHERE status IN ('pending', 'active') ORDER BY id"
        )
        return [_series(r) for r in rows]

    async def set_series_status(self, series_id: int, status: str) -> None:
        """Mark a series pending, active or ended."""
        await self._run("UPDATE series SET status = ? WHERE id = ?", (status, series_id))

    async def set_series_provider(self, series_id: int, provider_id: str | None) -> None:
        """The provider who holds a series (None while staff look for one)."""
        await self._run("UPDATE series SET provider_id = ? WHERE id = ?", (provider_id, series_id))

    async def series_days(self, series_id: int) -> set[date]:
        """The days on which a series has an occurrence already (whatever its status)."""
        rows = await self._all("SELECT series_day FROM requests WHERE series_id = ?", (series_id,))
        return {date.fromisoformat(r["series_day"]) for r in rows}

    async def requests_of_series(self, series_id: int) -> list[Request]:
        """Every occurrence of a series, soonest first."""
        rows = await self._all(
            "SELECT * FROM requests WHERE series_id = ? ORDER BY start_at", (series_id,)
        )
        return [_request(r) for r in rows]

    async def regulars(self, now: datetime, regular_since: datetime) -> list[Regular]:
        """Members with a subscription or a session since `regular_since` (§10), reachable,
        with their last session, its provider, whether anything is booked, and their break."""
        rows = await self._heavy(
            "SELECT p.*, b.watched_since, b.nudged_for, "
            "(SELECT r.end_at FROM requests r WHERE r.member_id = p.id AND r.start_at <= ? "
            f"AND r.status IN {_SESSION_SQL} ORDER BY r.end_at DESC LIMIT 1) AS last_end, "
            "(SELECT r.provider_id FROM requests r WHERE r.member_id = p.id AND r.start_at <= ? "
            f"AND r.status IN {_SESSION_SQL} ORDER BY r.end_at DESC LIMIT 1) AS last_provider, "
            "EXISTS (SELECT 1 FROM requests r WHERE r.member_id = p.id AND r.end_at > ? "
            f"AND r.status IN {_BOOKED_SQL}) AS booked "
            "FROM people p LEFT JOIN breaks b ON b.member_id = p.id "
            "WHERE p.role = 'member' AND p.removed_at IS NULL AND p.opted_out = 0 "
            "ORDER BY p.position",
            (ts(now), ts(now), ts(now)),
        )
        found = []
        for r in rows:
            last = from_ts(r["last_end"]) if r["last_end"] else None
            member = _person(r)
            if not isinstance(member, Member):
                continue
            if member.subscription is None and (last is None or last < regular_since):
                continue
            found.append(
                Regular(
                    member=member,
                    last_session_end=last,
                    last_provider_id=r["last_provider"],
                    booked=bool(r["booked"]),
                    watched_since=_maybe_ts(r["watched_since"]),
                    nudged_for=_maybe_ts(r["nudged_for"]),
                )
            )
        return found

    async def watch_break(self, member_id: str, since: datetime) -> None:
        """Start watching a member's break from this moment (kept if already watched)."""
        await self._run(
            "INSERT INTO breaks (member_id, watched_since) VALUES (?, ?) "
            "ON CONFLICT(member_id) DO NOTHING",
            (member_id, ts(since)),
        )

    async def mark_nudged(self, member_id: str, break_start: datetime) -> bool:
        """Record the check-in for the break that started then; False if it was already sent."""
        changed, _ = await self._run(
            "UPDATE breaks SET nudged_for = ? WHERE member_id = ? "
            "AND (nudged_for IS NULL OR nudged_for <> ?)",
            (ts(break_start), member_id, ts(break_start)),
        )
        return changed > 0

    async def claim_credit_week(self, member_id: str, week: str) -> bool:
        """Mark a member's weekly credits as added for a week; False when they already were."""
        count, _ = await self._run(
            "INSERT OR IGNORE INTO credit_weeks (member_id, week) VALUES (?, ?)", (member_id, week)
        )
        return count == 1

    async def has_pending_timer(self, kind: str) -> bool:
        """Whether a timer of this kind is pending (agency-wide timers are set once)."""
        row = await self._one(
            "SELECT 1 FROM timers WHERE kind = ? AND state = 'pending' LIMIT 1", (kind,)
        )
        return row is not None

    async def ledger_between(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """Every ledger line in [start, end), for the accountant's export."""
        rows = await self._heavy(
            "SELECT * FROM ledger WHERE created_at >= ? AND created_at < ? ORDER BY id",
            (ts(start), ts(end)),
        )
        return [dict(r) for r in rows]

    async def payouts(
        self, provider_id: str, start: datetime, end: datetime
    ) -> list[tuple[int | None, Decimal, datetime]]:
        """What a provider is owed per appointment in [start, end): (request, amount, when)."""
        rows = await self._all(
            "SELECT request_id, SUM(amount_minor) AS m, MIN(created_at) AS t "
            "FROM ledger WHERE provider_id = ? AND created_at >= ? AND "
            "created_at < ? GROUP BY request_id ORDER BY t",
            (provider_id, ts(start), ts(end)),
        )
        return [(r["request_id"], from_minor(int(r["m"])), from_ts(r["t"])) for r in rows]

    # --- offers and escalations --------------------------------------------------------

    async def add_offer(
        self, request_id: int, provider_id: str, sent_at: datetime, deadline: datetime
    ) -> Offer:
        """Record that a request was put to a provider."""
        _, oid = await self._run(
            "INSERT INTO offers (request_id, provider_id, sent_at, deadline) VALUES (?, ?, ?, ?)",
            (request_id, provider_id, ts(sent_at), ts(deadline)),
        )
        return Offer(oid, request_id, provider_id, sent_at, deadline, None)

    async def offer(self, offer_id: int) -> Offer | None:
        """An offer by id."""
        row = await self._one("SELECT * FROM offers WHERE id = ?", (offer_id,))
        return None if row is None else _offer(row)

    async def open_offers(self, provider_id: str) -> list[Offer]:
        """Offers a provider has not answered yet, oldest first."""
        rows = await self._all(
            "SELECT * FROM offers WHERE provider_id = ? AND answer IS NULL ORDER BY id",
            (provider_id,),
        )
        return [_offer(r) for r in rows]

    async def answer_offer(self, offer_id: int, answer: str, at: datetime) -> bool:
        """Record an answer once; False when the offer was already answered."""
        count, _ = await self._run(
            "UPDATE offers SET answer = ?, answered_at = ? WHERE id = ? AND answer IS NULL",
            (answer, ts(at), offer_id),
        )
        return count == 1

    async def providers_asked(self, request_id: int) -> set[str]:
        """Providers who already declined or let a request lapse."""
        rows = await self._all(
            "SELECT provider_id FROM offers WHERE request_id = ? "
            "AND (answer IN ('decline', 'timeout') OR cancelled_at IS NOT NULL)",
            (request_id,),
        )
        return {r["provider_id"] for r in rows}

    async def add_escalation(
        self, request_id: int, reason: str, about: str | None, at: datetime
    ) -> Escalation:
        """Hand a request to staff."""
        _, eid = await self._run(
            "INSERT INTO escalations (request_id, reason, about, created_at) VALUES (?, ?, ?, ?)",
            (request_id, reason, about, ts(at)),
        )
        return Escalation(eid, request_id, reason, about, None, None)

    async def escalation(self, escalation_id: int) -> Escalation | None:
        """An escalation by id."""
        row = await self._one("SELECT * FROM escalations WHERE id = ?", (escalation_id,))
        return None if row is None else _escalation(row)

    async def escalations_of(self, request_id: int) -> list[Escalation]:
        """Every escalation a request has had, oldest first."""
        rows = await self._all(
            "SELECT * FROM escalations WHERE request_id = ? ORDER BY id", (request_id,)
        )
        return [_escalation(r) for r in rows]

    async def claim_escalation(
        self, escalation_id: int, staff_id: str, outcome: str, at: datetime
    ) -> bool:
        """Mark an escalation handled by one staff member; False when someone already did."""
        count, _ = await self._run(
            "UPDATE escalations SET handled_by = ?, handled_at = ?, outcome = ? "
            "WHERE id = ? AND handled_by IS NULL AND outcome IS NULL",
            (staff_id, ts(at), outcome, escalation_id),
        )
        return count == 1

    async def close_escalation(self, escalation_id: int, outcome: str, at: datetime) -> bool:
        """Close an escalation by the bot itself (no staff member); False if already handled."""
        count, _ = await self._run(
            "UPDATE escalations SET handled_at = ?, outcome = ? "
            "WHERE id = ? AND handled_by IS NULL AND outcome IS NULL",
            (ts(at), outcome, escalation_id),
        )
        return count == 1

    async def open_escalations(self) -> list[Escalation]:
        """Escalations nobody has handled yet, oldest first."""
        rows = await self._all(
            "SELECT * FROM escalations WHERE handled_by IS NULL AND outcome IS NULL ORDER BY id"
        )
        return [_escalation(r) for r in rows]

    # --- money -----------------------------------------------------------------------

    async def add_ledger(
        self,
        *,
        at: datetime,
        kind: str,
        amount: Decimal,
        member_id: str | None = None,
        provider_id: str | None = None,
        request_id: int | None = None,
        balance_delta: Decimal = Decimal(0),
        credits_delta: int = 0,
    ) -> None:
        """Append one movement of money or credits."""
        await self._run(
            "INSERT INTO ledger (created_at, member_id, provider_id, request_id, kind, "
            "amount_minor, balance_minor, credits) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                ts(at),
                member_id,
                provider_id,
                request_id,
                kind,
                to_minor(amount),
                to_minor(balance_delta),
                credits_delta,
            ),
        )

    async def balance(self, member_id: str) -> tuple[Decimal, int]:
        """A member's money balance and session credits: the sums of their history."""
        row = await self._one(
            "SELECT COALESCE(SUM(balance_minor), 0) AS b, "
            "COALESCE(SUM(credits), 0) AS c FROM ledger WHERE member_id = ?",
            (member_id,),
        )
        assert row is not None
        return from_minor(int(row["b"])), int(row["c"])

    async def history(self, member_id: str, limit: int) -> list[LedgerLine]:
        """A member's latest ledger lines, newest first."""
        rows = await self._all(
            "SELECT * FROM ledger WHERE member_id = ? ORDER BY id DESC LIMIT ?", (member_id, limit)
        )
        return [_ledger_line(r) for r in rows]

    async def member_ledger(self, member_id: str) -> list[LedgerLine]:
        """Every ledger line of a member, oldest first (their whole account)."""
        rows = await self._all(
            "SELECT * FROM ledger WHERE member_id = ? ORDER BY id", (member_id,)
        )
        return [_ledger_line(r) for r in rows]

    # --- timers ------------------------------------------------------------------------

    async def add_timer(
        self, kind: str, due_at: datetime, request_id: int | None = None, ref_id: int | None = None
    ) -> None:
        """Schedule something to happen at `due_at`."""
        self._writes.timers += 1
        await self._run(
            "INSERT INTO timers (kind, request_id, ref_id, due_at) VALUES (?, ?, ?, ?)",
            (kind, request_id, ref_id, ts(due_at)),
        )

    async def add_timers(
        self, timers: Sequence[tuple[str, datetime, int | None, int | None]]
    ) -> None:
        """Schedule many (kind, due_at, request_id, ref_id) at once."""
        self._writes.timers += 1
        await self._many(
            "INSERT INTO timers (kind, request_id, ref_id, due_at) VALUES (?, ?, ?, ?)",
            [(kind, request_id, ref_id, ts(due)) for kind, due, request_id, ref_id in timers],
        )

    async def due_timers(self, until: datetime, limit: int) -> list[Timer]:
        """The earliest pending timers due at or before `until`, in due order."""
        rows = await self._all(
            "SELECT * FROM timers WHERE state = 'pending' AND due_at <= ? "
            "ORDER BY due_at, id LIMIT ?",
            (ts(until), limit),
        )
        return [
            Timer(r["id"], r["kind"], r["request_id"], r["ref_id"], from_ts(r["due_at"]))
            for r in rows
        ]

    async def next_due(self) -> datetime | None:
        """When the earliest pending timer falls due (an index lookup, cheap)."""
        row = await self._one("SELECT MIN(due_at) AS first FROM timers WHERE state = 'pending'")
        return _maybe_ts(row["first"]) if row else None

    async def timer_stats(self) -> tuple[int, datetime | None]:
        """How many timers are pending, and when the earliest falls due."""
        row = await self._one(
            "SELECT COUNT(*) AS n, MIN(due_at) AS first FROM timers WHERE state = 'pending'"
        )
        assert row is not None
        return int(row["n"]), _maybe_ts(row["first"])

    async def claim_timer(self, timer_id: int, at: datetime) -> bool:
        """Take a timer for firing; False when another process already did."""
        count, _ = await self._run(
            "UPDATE timers SET state = 'fired', fired_at = ? WHERE id = ? AND state = 'pending'",
            (ts(at), timer_id),
        )
        return count == 1

    async def cancel_timers(self, request_id: int, kinds: Iterable[str] | None = None) -> None:
        """Drop a request's pending timers (all, or only these kinds)."""
        if kinds is None:
            await self._run(
                "UPDATE timers SET state = 'cancelled' WHERE request_id = ? AND state = 'pending'",
                (request_id,),
            )
            return
        wanted = list(kinds)
        await self._run(
            f"UPDATE timers SET state = 'cancelled' WHERE request_id = ? AND "
            f"state = 'pending' AND kind IN ({','.join('?' * len(wanted))})",
            (request_id, *wanted),
        )

    # --- outbox and inbound ------------------------------------------------------------

    async def enqueue(
        self,
        *,
        at: datetime,
        person_id: str | None,
        channel: str,
        address: str,
        text: str,
        options: Sequence[tuple[str, str]] = (),
        broadcast: str | None = None,
    ) -> int:
        """Queue a message to send; it leaves with this transaction's commit or not at all.

        An SMS to an opted-out number is stored as dropped, never sent.
        """
        _, mid = await self._run(
            "INSERT INTO outbox (created_at, person_id, channel, address, text, options_json, "
            "broadcast, state) VALUES (?, ?, ?, ?, ?, ?, ?, CASE WHEN ? = 'sms' AND EXISTS "
            "(SELECT 1 FROM people WHERE id = ? AND opted_out = 1) THEN 'dropped' "
            "ELSE 'queued' END)",
            (
                ts(at),
                person_id,
                channel,
                address,
                text,
                json.dumps([list(o) for o in options], ensure_ascii=False) if options else None,
                broadcast,
                channel,
                person_id,
            ),
        )
        return mid

    async def outbox_after(self, after_id: int) -> list[OutboxMessage]:
        """Messages queued after a given id, in order."""
        rows = await self._all(
            "SELECT * FROM outbox WHERE id > ? AND state != 'dropped' ORDER BY id", (after_id,)
        )
        return [_outbox(r) for r in rows]

    async def last_outbox_id(self) -> int:
        """The id of the newest queued message (0 when none)."""
        row = await self._one("SELECT COALESCE(MAX(id), 0) AS m FROM outbox")
        return int(row["m"]) if row else 0

    async def last_message_to(self, person_id: str) -> OutboxMessage | None:
        """The newest message queued for a person."""
        row = await self._one(
            "SELECT * FROM outbox WHERE person_id = ? ORDER BY id DESC LIMIT 1", (person_id,)
        )
        return None if row is None else _outbox(row)

    async def claim_outbox(
        self, channel: str, now: datetime, limit: int, *, owner: str, until: datetime
    ) -> list[OutboxMessage]:
        """Lease queued messages that are due to `owner` until `until`, the oldest per recipient
        only (order is kept); a row whose lease expired is taken back, its outcome unknown."""
        rows = await self._all(
            "SELECT o.id FROM outbox o WHERE o.channel = ? AND o.state = 'queued' "
            "AND (o.in_flight = 0 OR o.lease_until <= ?) "
            "AND (o.next_attempt_at IS NULL OR o.next_attempt_at <= ?) "
            "AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.channel = o.channel AND "
            "e.address = o.address AND e.state = 'queued' AND e.id < o.id) "
            "ORDER BY o.id LIMIT ?",
            (channel, ts(now), ts(now), limit),
        )
        if not rows:
            return []
        ids = [r["id"] for r in rows]
        # An expired lease: its holder died (or lost the database) somewhere between claim and
        # settle, so whether that attempt went out is unknown.
        taken = await self._all(
            "UPDATE outbox SET unsure_since = CASE WHEN in_flight = 1 THEN "
            "COALESCE(unsure_since, attempted_at, created_at) ELSE unsure_since END, "
            "in_flight = 1, attempts = attempts + 1, lease_owner = ?, lease_until = ?, "
            f"attempted_at = ? WHERE id IN ({','.join('?' * len(ids))}) RETURNING *",
            (owner, ts(until), ts(now), *ids),
        )
        return sorted((_outbox(r) for r in taken), key=lambda m: m.id)

    async def renew_leases(self, owner: str, until: datetime) -> int:
        """Extend the leases `owner` holds (it is alive and still sending them)."""
        count, _ = await self._run(
            "UPDATE outbox SET lease_until = ? WHERE in_flight = 1 AND lease_owner = ?",
            (ts(until), owner),
        )
        return count

    async def lease_owners(self, channel: str) -> list[str]:
        """The workers holding leases on a channel's rows."""
        rows = await self._all(
            "SELECT DISTINCT lease_owner FROM outbox WHERE in_flight = 1 AND channel = ? "
            "AND lease_owner IS NOT NULL",
            (channel,),
        )
        return [str(r["lease_owner"]) for r in rows]

    async def release_leases(self, channel: str, owners: Sequence[str]) -> int:
        """End the leases of workers known to be gone: their rows may be taken at once."""
        if not owners:
            return 0
        count, _ = await self._run(
            f"UPDATE outbox SET lease_until = '' WHERE in_flight = 1 AND channel = ? "
            f"AND lease_owner IN ({','.join('?' * len(owners))})",
            (channel, *owners),
        )
        return count

    async def known_external_ids(self, channel: str, external_ids: Sequence[str]) -> set[str]:
        """Which of these provider ids are already recorded on a row of ours."""
        if not external_ids:
            return set()
        rows = await self._all(
            f"SELECT external_id FROM outbox WHERE channel = ? AND external_id IN "
            f"({','.join('?' * len(external_ids))})",
            (channel, *external_ids),
        )
        return {str(r["external_id"]) for r in rows}

    async def mark_sent(self, message_id: int, external_id: str | None, at: datetime) -> None:
        """A transport accepted the message (whoever holds its lease now: it went out)."""
        await self._run(
            "UPDATE outbox SET state = 'sent', in_flight = 0, sent_at = ?, external_id = ?, "
            "last_error = NULL, lease_owner = NULL, lease_until = NULL WHERE id = ?",
            (ts(at), external_id, message_id),
        )

    async def mark_retry(
        self,
        message_id: int,
        when: datetime,
        error: str,
        *,
        counted: bool = True,
        unknown: bool = False,
        owner: str | None = None,
    ) -> None:
        """Try again later (5xx, timeout, 429); an uncounted try (a 429) is not an attempt; an
        `unknown` outcome (the request may have gone out) is checked before the next send.
        With an `owner`, only while it still holds the lease (else its new holder decides)."""
        await self._run(
            "UPDATE outbox SET in_flight = 0, next_attempt_at = ?, last_error = ?, "
            "attempts = attempts - ?, lease_owner = NULL, lease_until = NULL, "
            "unsure_since = CASE WHEN ? THEN COALESCE(unsure_since, attempted_at) "
            "ELSE unsure_since END WHERE id = ? AND state = 'queued' "
            "AND (? IS NULL OR lease_owner = ?)",
            (ts(when), error[:500], 0 if counted else 1, unknown, message_id, owner, owner),
        )

    async def mark_failed(
        self, message_id: int, error: str, *, dropped: bool = False, owner: str | None = None
    ) -> None:
        """Give up on a message (a permanent error), or drop it (opted out, merged); with an
        `owner`, only while it still holds the lease."""
        await self._run(
            "UPDATE outbox SET state = ?, in_flight = 0, last_error = ?, lease_owner = NULL, "
            "lease_until = NULL WHERE id = ? AND state = 'queued' "
            "AND (? IS NULL OR lease_owner = ?)",
            ("dropped" if dropped else "failed", error[:500], message_id, owner, owner),
        )

    async def touch_health(self, at: datetime) -> None:
        """A write that costs nothing: does the database take writes right now?"""
        await self._run("INSERT OR REPLACE INTO health_probe (id, at) VALUES (1, ?)", (ts(at),))

    async def broadcast_rows(self, key: str) -> list[OutboxMessage]:
        """Every row of one staff notification."""
        rows = await self._all("SELECT * FROM outbox WHERE broadcast = ? ORDER BY id", (key,))
        return [_outbox(r) for r in rows]

    async def advance_delivery(
        self, external_id: str, status: str, over: Sequence[str]
    ) -> tuple[OutboxMessage, bool] | None:
        """Record a carrier's status only over none or one of `over` (earlier ones).

        None when no message has this id; else the message and whether the status was recorded.
        """
        marks = ",".join("?" * len(over)) or "NULL"
        count, _ = await self._run(
            f"UPDATE outbox SET delivery = ? WHERE external_id = ? AND "
            f"(delivery IS NULL OR delivery IN ({marks}))",
            (status, external_id, *over),
        )
        row = await self._one(
            "SELECT * FROM outbox WHERE external_id = ? ORDER BY id LIMIT 1", (external_id,)
        )
        return None if row is None else (_outbox(row), count > 0)

    async def is_opted_out(self, person_id: str) -> bool:
        """Whether a person opted out of SMS."""
        row = await self._one("SELECT opted_out FROM people WHERE id = ?", (person_id,))
        return bool(row and row["opted_out"])

    async def set_telegram_id(self, person_id: str, telegram_id: int) -> None:
        """Link a roster person to the Telegram account that shared their phone number."""
        await self._run(
            "UPDATE people SET telegram_id = NULL WHERE telegram_id = ?", (telegram_id,)
        )
        await self._run("UPDATE people SET telegram_id = ? WHERE id = ?", (telegram_id, person_id))

    async def set_channel(self, person_id: str, channel: str) -> None:
        """Move a person to another channel ("telegram" once they linked their account)."""
        await self._run("UPDATE people SET channel = ? WHERE id = ?", (channel, person_id))

    async def record_telegram_message(self, outbox_id: int, chat_id: int, message_id: int) -> None:
        """Remember which Telegram message carries an outbox row's buttons."""
        await self._run(
            "INSERT OR REPLACE INTO telegram_messages (outbox_id, chat_id, "
            "message_id) VALUES (?, ?, ?)",
            (outbox_id, chat_id, message_id),
        )

    async def telegram_message(self, chat_id: int, message_id: int) -> OutboxMessage | None:
        """The outbox row a Telegram message was sent for."""
        row = await self._one(
            "SELECT o.* FROM outbox o JOIN telegram_messages t ON "
            "t.outbox_id = o.id WHERE t.chat_id = ? AND t.message_id = ?",
            (chat_id, message_id),
        )
        return None if row is None else _outbox(row)

    async def accept_inbound(
        self, channel: str, external_id: str, address: str, payload: str, at: datetime
    ) -> bool:
        """Store an inbound delivery for processing; False when it was seen before."""
        row = await self._one("SELECT COALESCE(MAX(seq), 0) + 1 AS n FROM inbound")
        count, _ = await self._run(
            "INSERT OR IGNORE INTO inbound (channel, external_id, received_at, address, payload, "
            "seq) VALUES (?, ?, ?, ?, ?, ?)",
            (channel, external_id, ts(at), address, payload, int(row["n"]) if row else 1),
        )
        return count == 1

    async def unprocessed_inbound(self, limit: int) -> list[tuple[str, str, str, str]]:
        """Accepted deliveries not yet processed, oldest first: (channel, id, address, payload)."""
        rows = await self._all(
            "SELECT channel, external_id, address, payload FROM inbound "
            "WHERE processed_at IS NULL AND payload IS NOT NULL "
            "ORDER BY seq LIMIT ?",
            (limit,),
        )
        return [(r["channel"], r["external_id"], r["address"], r["payload"]) for r in rows]

    async def mark_processed(self, channel: str, external_id: str, at: datetime) -> bool:
        """Claim an accepted delivery for processing; False when it already was."""
        count, _ = await self._run(
            "UPDATE inbound SET processed_at = ? WHERE channel = ? AND "
            "external_id = ? AND processed_at IS NULL",
            (ts(at), channel, external_id),
        )
        return count == 1

    async def first_delivery(self, channel: str, external_id: str, at: datetime) -> bool:
        """Record an inbound delivery id; False when it was seen before."""
        count, _ = await self._run(
            "INSERT OR IGNORE INTO inbound (channel, external_id, received_at) VALUES (?, ?, ?)",
            (channel, external_id, ts(at)),
        )
        return count == 1

    # --- conversations -----------------------------------------------------------------

    async def conversation(self, person_id: str) -> tuple[str, dict[str, Any]] | None:
        """The flow a person is in and its state."""
        row = await self._one(
            "SELECT flow, state_json FROM conversations WHERE person_id = ?", (person_id,)
        )
        return None if row is None else (row["flow"], json.loads(row["state_json"]))

    async def save_conversation(
        self, person_id: str, flow: str, state: dict[str, Any], at: datetime
    ) -> None:
        """Store where a person is in a flow."""
        await self._run(
            "INSERT INTO conversations (person_id, flow, state_json, updated_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT(person_id) DO UPDATE SET flow = excluded.flow, "
            "state_json = excluded.state_json, updated_at = excluded.updated_at",
            (person_id, flow, json.dumps(state, ensure_ascii=False), ts(at)),
        )

    async def end_conversation(self, person_id: str) -> None:
        """Leave whatever flow a person is in."""
        await self._run("DELETE FROM conversations WHERE person_id = ?", (person_id,))

    # --- import ------------------------------------------------------------------------

    async def import_agency(
        self,
        data: AgencyFile,
        at: datetime,
        *,
        force: bool = False,
        reset_schedules: bool = False,
    ) -> RosterChanges:
        """Write an agency file and say what changed; re-importing the same file changes nothing.

        People left out are removed, but RosterInUse is raised instead when some still hold
        open requests, unless `force`. Hours providers changed by chat are kept unless
        `reset_schedules` (§9.3).
        """
        a = data.agency
        listed = {p.id for p in data.people}
        rows = await self._all("SELECT id FROM people WHERE removed_at IS NULL ORDER BY position")
        leaving = [r["id"] for r in rows if r["id"] not in listed]
        holders = await self._open_requests_of(leaving)
        if holders and not force:
            raise RosterInUse(holders)
        before = {pid: await self._snapshot(pid) for pid in listed}
        old_settings = await self._settings_snapshot()
        await self._run(
            "INSERT INTO agency (id, name, timezone, currency, language, policy_json, version) "
            "VALUES (1, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET name = excluded.name, "
            "timezone = excluded.timezone, currency = excluded.currency, "
            "language = excluded.language, policy_json = excluded.policy_json, "
            "version = excluded.version",
            (
                a.name,
                a.timezone,
                a.currency,
                a.language,
                policy_to_json(a.policy),
                # The same file gives the same fingerprint: re-importing it changes nothing.
                hashlib.sha256(repr(data).encode()).hexdigest()[:16],
            ),
        )
        for pos, s in enumerate(data.services):
            await self._run(
                "INSERT INTO services (id, name_json, hourly_rate_minor, checkin, position) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET name_json = "
                "excluded.name_json, hourly_rate_minor = excluded.hourly_rate_minor, "
                "checkin = excluded.checkin, position = excluded.position",
                (
                    s.id,
                    json.dumps(dict(s.name), ensure_ascii=False),
                    to_minor(s.hourly_rate),
                    int(s.checkin),
                    pos,
                ),
            )
        people: list[tuple[str, Person]] = [
            *(("member", p) for p in data.members),
            *(("provider", p) for p in data.providers),
            *(("staff", p) for p in data.staff),
        ]
        seen: dict[str, int] = {}
        for pos, (role, p) in enumerate(people):
            seen[role] = seen.get(role, 0) + 1
            try:
                await self._upsert_person(role, p, pos)
            except sqlite3.IntegrityError as exc:
                key = "telegram_id" if "telegram_id" in str(exc) else "phone"
                raise RosterConflict(
                    role,
                    seen[role],
                    p.id,
                    key,
                    "already belongs to someone in the database who is not in this file",
                ) from exc
            if isinstance(p, Provider):
                await self._replace_provider_details(p, reset_schedules)
            if isinstance(p, Member):
                await self._opening_balance(p, at)
        for pid in leaving:
            await self._remove_person(pid, at)
        after = {pid: await self._snapshot(pid) for pid in listed}
        return RosterChanges(
            added=tuple(p.id for p in data.people if before[p.id] is None),
            updated=tuple(
                p.id
                for p in data.people
                if before[p.id] is not None and before[p.id] != after[p.id]
            ),
            removed=tuple(leaving),
            settings=old_settings != await self._settings_snapshot(),
        )

    async def _settings_snapshot(self) -> tuple[object, ...]:
        """The agency, its policy and its services as stored, to tell whether they changed."""
        agency = await self._all(
            "SELECT name, timezone, currency, language, policy_json FROM agency"
        )
        services = await self._all("SELECT * FROM services ORDER BY id")
        return tuple(tuple(r) for r in agency), tuple(tuple(r) for r in services)

    async def _open_requests_of(self, people: list[str]) -> dict[str, int]:
        """How many open requests each of these people holds, as member or provider."""
        held: dict[str, int] = {}
        marks = ",".join("?" * len(OPEN))
        for pid in people:
            row = await self._one(
                f"SELECT count(*) AS n FROM requests WHERE (member_id = ? OR provider_id = ?) "
                f"AND status IN ({marks})",
                (pid, pid, *sorted(OPEN)),
            )
            if row is not None and row["n"]:
                held[pid] = int(row["n"])
        return held

    async def _snapshot(self, pid: str) -> tuple[object, ...] | None:
        """What the roster stores about a person (not their place in the file); None if absent."""
        row = await self._one("SELECT * FROM people WHERE id = ? AND removed_at IS NULL", (pid,))
        if row is None:
            return None
        details = []
        for table, order in (
            ("provider_services", "service_id"),
            ("availability", "weekday, start_min"),
            ("days_off", "day"),
        ):
            rows = await self._all(
                f"SELECT * FROM {table} WHERE provider_id = ? ORDER BY {order}", (pid,)
            )
            details.append(tuple(tuple(r) for r in rows))
        return (*(v for k, v in dict(row).items() if k != "position"), *details)

    async def _remove_person(self, pid: str, at: datetime) -> None:
        """Take a person off the roster, keeping the row their history points at.

        Their number and Telegram account are freed (a newcomer may take them over, and their
        messages now come from a stranger); as a provider they offer nothing any more.
        """
        for table in ("provider_services", "availability", "days_off"):
            await self._run(f"DELETE FROM {table} WHERE provider_id = ?", (pid,))
        await self._run(
            "UPDATE people SET removed_at = ?, telegram_id = NULL, phone = NULL, "
            "subscription_service = NULL, subscription_per_week = NULL WHERE id = ?",
            (ts(at), pid),
        )

    async def _upsert_person(self, role: str, p: Person, pos: int) -> None:
        sub = p.subscription if isinstance(p, Member) else None
        rating = p.rating if isinstance(p, Provider) else None
        bio = json.dumps(dict(p.bio), ensure_ascii=False) if isinstance(p, Provider) else "{}"
        await self._run(
            "INSERT INTO people (id, role, name, channel, telegram_id, phone, language, "
            "subscription_service, subscription_per_week, rating, bio_json, position) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
            "role = excluded.role, name = excluded.name, "
            "channel = CASE WHEN excluded.telegram_id IS NULL AND people.telegram_id IS NOT NULL "
            "THEN people.channel ELSE excluded.channel END, "
            # A Telegram account linked through /start survives re-importing the file.
            "telegram_id = COALESCE(excluded.telegram_id, people.telegram_id), "
            "phone = excluded.phone, "
            "language = COALESCE(excluded.language, people.language), "
            "subscription_service = excluded.subscription_service, "
            "subscription_per_week = excluded.subscription_per_week, rating = excluded.rating, "
            "bio_json = excluded.bio_json, position = excluded.position, removed_at = NULL",
            (
                p.id,
                role,
                p.name,
                p.channel,
                p.telegram_id,
                p.phone,
                p.language,
                sub.service if sub else None,
                sub.per_week if sub else None,
                rating,
                bio,
                pos,
            ),
        )

    async def _replace_provider_details(self, p: Provider, reset_schedule: bool) -> None:
        await self._run("DELETE FROM provider_services WHERE provider_id = ?", (p.id,))
        await self._many(
            "INSERT INTO provider_services (provider_id, service_id) VALUES (?, ?)",
            [(p.id, s) for s in p.services],
        )
        own = await self._one("SELECT schedule_by_chat FROM people WHERE id = ?", (p.id,))
        if own is not None and own["schedule_by_chat"] and not reset_schedule:
            return  # the provider's own hours win over the file's (§9.3)
        await self._write_schedule(p.id, p.availability, p.unavailable)
        await self._run("UPDATE people SET schedule_by_chat = 0 WHERE id = ?", (p.id,))

    async def set_schedule(
        self, provider_id: str, windows: Iterable[AvailabilityWindow], days_off: Iterable[date]
    ) -> None:
        """Replace a provider's weekly windows and days off, as changed by the provider (§9)."""
        await self._write_schedule(provider_id, windows, days_off)
        await self._run("UPDATE people SET schedule_by_chat = 1 WHERE id = ?", (provider_id,))

    async def _write_schedule(
        self, provider_id: str, windows: Iterable[AvailabilityWindow], days_off: Iterable[date]
    ) -> None:
        await self._run("DELETE FROM availability WHERE provider_id = ?", (provider_id,))
        await self._run("DELETE FROM days_off WHERE provider_id = ?", (provider_id,))
        await self._many(
            "INSERT INTO availability (provider_id, weekday, start_min, end_min) "
            "VALUES (?, ?, ?, ?)",
            [(provider_id, w.weekday, w.start, w.end) for w in windows],
        )
        await self._many(
            "INSERT INTO days_off (provider_id, day) VALUES (?, ?)",
            [(provider_id, d.isoformat()) for d in sorted(set(days_off))],
        )

    async def _opening_balance(self, m: Member, at: datetime) -> None:
        """Credits and balance from the file are opening entries, written once per member."""
        row = await self._one(
            "SELECT 1 FROM ledger WHERE member_id = ? AND kind = 'opening'", (m.id,)
        )
        if row is None and (m.balance or m.credits):
            await self.add_ledger(
                at=at,
                kind="opening",
                amount=m.balance,
                member_id=m.id,
                balance_delta=m.balance,
                credits_delta=m.credits,
            )
