"""The back office's intents: what staff do and look up, from the chat or the web console.

Each method is one unit of work; changes go through the same services the chat uses (so the
member, the provider and the other staff hear about them the same way), and lookups return
domain values for the caller to show in its own language.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Literal, TypeVar
from zoneinfo import ZoneInfo

from bot.app.backend import Backend
from bot.domain.agency import Agency, Member, Person, Provider, Staff
from bot.domain.booking import HOLDING, Request
from bot.domain.errors import Contention, NotFound, RequestChanged
from bot.domain.ledger import Account
from bot.i18n import use_language
from bot.nlu.commands import fold
from bot.services import billing, booking, changes
from bot.services.console_links import ConsoleLinks
from bot.services.desk import AgencyCache, Desk, open_desk
from bot.services.hours import Schedule
from bot.services.ports import AccountLine, Clock, Escalation, LedgerLine, UnitOfWork

log = logging.getLogger(__name__)
T = TypeVar("T")
# A staff action crossed by other workers' units of work is run again, at most this often.
AGAIN = 3

# What staff decide on an escalation; ("offer", provider id) hands a request to a provider.
Decision = Literal["approve", "deny", "unfilled"] | tuple[Literal["offer"], str]


class NotAllowed(Exception):
    """The person is not allowed to do this (not staff, or not of the expected role)."""


@dataclass(frozen=True)
class Statement:
    """A member's statement: their totals and their latest ledger lines, newest first."""

    member: Member
    account: Account
    lines: list[LedgerLine]


@dataclass(frozen=True)
class Payout:
    """What a provider is owed for one appointment (request None: an adjustment)."""

    request: Request | None
    amount: Decimal
    at: datetime


@dataclass(frozen=True)
class WaitingEscalation:
    """An escalation nobody has handled yet, with its request and member."""

    escalation: Escalation
    request: Request
    member: Person


@dataclass(frozen=True)
class LedgerExport:
    """Ledger rows of a period, the rows before it (for opening balances), and the currency."""

    agency: Agency
    rows: list[AccountLine]
    before: list[AccountLine]


class OfficeIntents:
    """Staff and console intents; mixed into Carebot, which provides the database."""

    db: Backend
    clock: Clock
    agency_cache: AgencyCache
    console_links: ConsoleLinks | None

    @asynccontextmanager
    async def _desk(self) -> AsyncIterator[Desk]:
        async with open_desk(self.db, self.clock, self.agency_cache, self.console_links) as desk:
            yield desk

    async def _change(self, work: Callable[[Desk], Awaitable[T]]) -> T:
        """Run `work` in one unit of work and wake the senders after its commit; again when
        another worker's unit of work crossed it (Contention: a deadlock the database broke)
        or moved a request it acted on (RequestChanged): nothing of it was written, and the
        staff member's tap must not fail for another worker's timing."""
        for attempt in range(1, AGAIN + 1):
            try:
                async with self._desk() as desk:
                    result = await work(desk)
            except (Contention, RequestChanged) as exc:
                if attempt == AGAIN:
                    raise
                log.info("a staff action met another unit of work (%s); again", exc)
                continue
            await self.run_after_commit()
            return result
        raise AssertionError("unreachable")

    async def _staff(self, desk: Desk, staff_id: str) -> Staff:
        person = await desk.tx.roster.person(staff_id)
        if not isinstance(person, Staff):
            raise NotAllowed(f"{staff_id} is not staff")
        return person

    async def resolve_escalation(self, staff_id: str, number: int, decision: Decision) -> None:
        """Staff `staff_id` decides escalation `number` as the chat's buttons do.

        approve/deny: a waiver, a dispute or a change request; unfilled: close a request
        nobody could take; ("offer", provider_id): ask that provider. Someone else deciding
        first, or a decision that does not fit the escalation, is answered in the staff
        member's chat, exactly as a stale button is.
        """

        async def decide(desk: Desk) -> None:
            staff = await self._staff(desk, staff_id)
            with use_language(desk.lang(staff)):
                if isinstance(decision, tuple):
                    await booking.staff_offer(desk, staff, number, decision[1])
                elif decision == "unfilled":
                    await booking.staff_close_unfilled(desk, staff, number)
                else:
                    found = await desk.tx.escalations.get(number)
                    if found is not None and found.reason == "change_review":
                        await changes.decide(desk, staff, number, decision == "approve")
                    else:
                        await billing.decide_waiver(desk, staff, number, decision == "approve")

        await self._change(decide)

    async def record_payment(self, staff_id: str, member_id: str, amount: Decimal) -> Account:
        """Staff record money a member paid outside carebot; the member is told.

        Raises billing.PaymentRefused (not positive, nothing owed, more than owed) and
        NotAllowed (not staff); nothing changes then."""

        async def record(desk: Desk) -> Account:
            staff = await self._staff(desk, staff_id)
            member = await desk.tx.roster.person(member_id)
            if not isinstance(member, Member):
                raise NotAllowed(f"{member_id} is not a member")
            return await billing.record_payment(desk, staff, member, amount)

        return await self._change(record)

    async def waiting_escalations(self) -> list[WaitingEscalation]:
        """The escalations nobody has handled yet (the chat's /pending)."""
        async with self.db.read() as tx:
            found = []
            for escalation in await tx.escalations.open():
                request = await tx.requests.get(escalation.request_id)
                member = await tx.roster.person(request.member_id)
                found.append(WaitingEscalation(escalation, request, member))
            return found

    async def statement(self, member_id: str, lines: int = 20) -> Statement:
        """A member's totals and latest `lines` ledger lines (what the chat's balance shows)."""
        async with self.db.read() as tx:
            member = await tx.roster.person(member_id)
            if not isinstance(member, Member):
                raise NotFound(f"member {member_id}")
            account = await billing.member_account(tx, member_id)
            return Statement(member, account, await tx.ledger.history(member_id, lines))

    async def provider_appointments(self, provider_id: str) -> list[Request]:
        """A provider's appointments still to come or under way, soonest first."""
        now = self.clock.now()
        async with self.db.read() as tx:
            await _provider(tx, provider_id)
            held = await tx.requests.of_provider(provider_id, HOLDING)
        return [r for r in held if r.end > now]

    async def provider_owed(
        self, provider_id: str, start: datetime, end: datetime
    ) -> list[Payout]:
        """What a provider is owed per appointment in [start, end) (the chat's earnings)."""
        async with self.db.read() as tx:
            await _provider(tx, provider_id)
            rows = await tx.ledger.payouts(provider_id, start, end)
            return [
                Payout(await tx.requests.get(rid) if rid is not None else None, amount, at)
                for rid, amount, at in rows
            ]

    async def provider_hours(self, provider_id: str) -> Schedule:
        """A provider's weekly windows and days off (what 'my hours' shows)."""
        async with self.db.read() as tx:
            provider = await _provider(tx, provider_id)
        return provider.availability, provider.unavailable

    async def week_schedule(self, day: date) -> list[Request]:
        """Every held appointment of the agency-time week (Monday to Sunday) holding `day`."""
        async with self.db.read() as tx:
            tz = ZoneInfo((await tx.roster.agency()).timezone)
            monday = day - timedelta(days=day.weekday())
            start = datetime.combine(monday, time(0), tzinfo=tz)
            end = start + timedelta(days=7)
            found: list[Request] = []
            for provider in await tx.roster.people("provider"):
                held = await tx.requests.of_provider(provider.id, HOLDING)
                found += [r for r in held if r.start < end and r.end > start]
        return sorted(found, key=lambda r: (r.start, r.id))

    async def search_people(self, text: str, role: str | None = None) -> list[Person]:
        """Roster people whose id, name (or one of its words) or phone match `text`."""
        wanted = fold(text)
        digits = "".join(c for c in text if c.isdigit())
        roles = (role,) if role else ("member", "provider", "staff")
        async with self.db.read() as tx:
            people = [p for r in roles for p in await tx.roster.people(r)]
        if not wanted:
            return []
        return [
            p
            for p in people
            if wanted in fold(p.id)
            or wanted in fold(p.name)
            or (len(digits) >= 6 and (p.phone or "").endswith(digits[-9:]))
        ]

    async def ledger_export(self, start_day: date, end_day: date) -> LedgerExport:
        """The ledger rows of agency-time days [start_day, end_day] (carebot export ledger)."""
        async with self.db.read() as tx:
            agency = await tx.roster.agency()
            tz = ZoneInfo(agency.timezone)
            start = datetime.combine(start_day, time(0), tzinfo=tz)
            end = datetime.combine(end_day + timedelta(days=1), time(0), tzinfo=tz)
            rows = await tx.ledger.between(start, end)
            before = await tx.ledger.between(datetime(1970, 1, 1, tzinfo=UTC), start)
        return LedgerExport(agency, rows, before)

    async def run_after_commit(self) -> None:
        """Run the after-commit hooks: re-aim the timer job, wake the senders. One that fails
        (the database gone for the timer look-up) is logged and the others still run: the
        work itself committed, and what the hook would have woken the sweep and the polls
        find."""
        for hook in getattr(self, "after_commit", ()):
            try:
                await hook()
            except Exception:
                log.exception("an after-commit hook failed; the polls will find its work")


async def _provider(tx: UnitOfWork, provider_id: str) -> Provider:
    person = await tx.roster.person(provider_id)
    if not isinstance(person, Provider):
        raise NotFound(f"provider {provider_id}")
    return person
