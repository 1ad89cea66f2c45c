"""The front desk of one unit of work: the agency, the clock's now, and the outbox."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.agency import Agency, Person, Provider, Service, Staff
from bot.i18n import for_channel, normalize_language, typeset
from bot.services.console_links import ConsoleLinks
from bot.services.notices import Label, Lines, Notice, render
from bot.services.notices import Option as Option
from bot.services.ports import Clock, OutgoingMessage, Store, UnitOfWork


@dataclass
class Desk:
    """What every use case and flow needs inside one transaction."""

    tx: UnitOfWork
    now: datetime
    agency: Agency
    services: dict[str, Service]
    # Each person's conversation as read once in this unit of work (flows ask several times
    # per message); bot.flows.conversation keeps it in step with what it writes.
    conversations: dict[str, tuple[str, dict[str, Any]] | None] = field(default_factory=dict)
    # Sign-in links to the web console; None when the console is not configured.
    console: ConsoleLinks | None = None

    @cached_property
    def tz(self) -> ZoneInfo:
        """The agency's time zone."""
        return ZoneInfo(self.agency.timezone)

    def local(self, moment: datetime) -> datetime:
        """A stored UTC moment in agency time."""
        return moment.astimezone(self.tz)

    def lang(self, person: Person) -> str:
        """The language to speak to a person: their preference, else the agency's (marked
        for SMS when they are on SMS, so that they get the SMS wording)."""
        return for_channel(
            normalize_language(person.language, self.agency.language), person.channel
        )

    async def send(
        self,
        person: Person,
        text: str,
        options: Sequence[Option] = (),
        broadcast: str | None = None,
    ) -> None:
        """Queue a message to a person on their channel, in this transaction."""
        address = str(person.telegram_id) if person.channel == "telegram" else person.phone
        lang = self.lang(person)
        text = typeset(lang, text)
        options = tuple((typeset(lang, label), action) for label, action in options)
        message = OutgoingMessage(
            self.now, person.id, person.channel, address or "", text, options, broadcast
        )
        await self.tx.outbox.enqueue(message)

    def help(self, person: Person) -> str:
        """Every command of this person's role, in their language (§3); it fits two SMS."""
        return render(self.lang(person), self.help_notice(person))[0]

    def help_notice(self, person: Person) -> Notice:
        """Every command of this person's role (§3), as a notice."""
        if isinstance(person, Provider):
            return Notice(
                'Answer a request with YES or NO. On the day: "arrived", "late 15", '
                '"moved 14:30", "absent" (client not there), "client cancels", "I cancel", '
                '"done". Also: "appointments" (your schedule), "my availability" (your hours), '
                '"earnings", "language", "menu".',
            )
        if isinstance(person, Staff):
            return Notice(
                "Escalations arrive here with their actions. Commands: /pending (escalations "
                "waiting), /unresolved (past appointments not settled), /paid NAME AMOUNT "
                '(record a payment, e.g. "/paid alice 82.00"), /console (web console), '
                '"language", "menu".',
            )
        return Notice(
            'To book, say the service and when, e.g. "childcare tomorrow 2pm to 6pm". '
            'Commands: "my bookings", "cancel booking", "change booking", "waiver" (late '
            'cancellation charge), "balance" (your account), "language", "menu".',
        )

    async def tell(
        self,
        person: Person,
        message: str,
        options: Sequence[tuple[Label, str]] = (),
        /,
        **data: object,
    ) -> None:
        """Tell a person a catalogue message, written for them (see notices.render)."""
        await self.notify(person, Notice(message, data, options))

    async def notify(
        self, person: Person, notice: Notice | Lines, broadcast: str | None = None
    ) -> None:
        """Send a notice to a person in their language and channel wording."""
        text, options = render(self.lang(person), notice)
        await self.send(person, text, options, broadcast=broadcast)

    async def notify_staff(self, notice: Notice | Lines, *, but: Person | None = None) -> None:
        """One notice to every staff member, each in their language (one broadcast); `but`
        (the staff member who acted, told otherwise) is left out."""
        key = uuid.uuid4().hex[:16]
        for member in await self.staff():
            if but is None or member.id != but.id:
                await self.notify(member, notice, broadcast=key)

    async def stale(self, person: Person) -> None:
        """Answer a press on an option that no longer applies (changes nothing else), then
        say what the person can do instead: their role's help."""
        await self.tell(person, "This choice is no longer available.")
        await self.notify(person, self.help_notice(person))

    async def staff(self) -> list[Staff]:
        """Every staff member."""
        return [p for p in await self.tx.roster.people("staff") if isinstance(p, Staff)]


@dataclass
class AgencyCache:
    """The agency and its services as of an import version, kept between units of work."""

    version: str | None = None
    agency: Agency | None = None
    services: dict[str, Service] = field(default_factory=dict)


@asynccontextmanager
async def open_desk(
    store: Store,
    clock: Clock,
    cache: AgencyCache | None = None,
    console: ConsoleLinks | None = None,
) -> AsyncIterator[Desk]:
    """Begin a unit of work and load what every step needs (from the cache while current)."""
    async with store.transaction() as tx:
        yield await desk_in(tx, clock, cache, console)


async def desk_in(
    tx: UnitOfWork,
    clock: Clock,
    cache: AgencyCache | None = None,
    console: ConsoleLinks | None = None,
) -> Desk:
    """A desk over a unit of work already begun (one that first checked it has work)."""
    if cache is None:
        agency, services = (
            await tx.roster.agency(),
            {s.id: s for s in await tx.roster.services()},
        )
    else:
        version = await tx.roster.agency_version()
        if version != cache.version or cache.agency is None:
            cache.agency = await tx.roster.agency()
            cache.services = {s.id: s for s in await tx.roster.services()}
            cache.version = version
        agency, services = cache.agency, cache.services
    return Desk(tx, clock.now(), agency, services, console=console)
