"""The web console's intents: what a signed-in staff member reads and does on the web.

The console (bot.handlers.webconsole) calls these and nothing below them. Reads come back as
read models written in the staff member's language (bot.app.console_views); actions go
through the same services as the chat, so that everyone hears of them the same way: a
staff button runs the very action the chat's button runs (the same packed action, the same
router), a payment is the back office's record_payment.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import partial

from bot.app.console_views import (
    WEEK_DAYS,
    Card,
    Entry,
    HoursEdit,
    MemberStatement,
    ProviderPage,
    Week,
    WeekRow,
    appointment_line,
    blocks,
    card,
    clock_text,
    language,
    statement,
    status_text,
    weekday_name,
)
from bot.app.office import OfficeIntents
from bot.domain.agency import Member, Provider, Staff
from bot.domain.booking import OPEN
from bot.domain.errors import NotFound
from bot.flows import payment
from bot.flows.payment import parse_amount
from bot.flows.router import Press, handle
from bot.i18n import fmt_day, fmt_month
from bot.nlu.hours import HoursChange
from bot.services import hours, wording
from bot.services.billing import PaymentRefused
from bot.services.console_links import SEEN_ONCE, LinkClaim
from bot.services.desk import Desk
from bot.services.notices import render

log = logging.getLogger(__name__)
STAFF_VERBS = frozenset({"eo", "eu", "wa", "wd", "ca", "cd"})  # what a staff button may do
PAGE_SIZE = 50  # providers per page of the week view (an agency may have thousands)


class ConsoleIntents(OfficeIntents):
    """The console's intents (over the back office's); mixed into Carebot."""

    # Names and phones of everyone, as of an agency file version: only an import changes
    # them, and reading 5,000 providers' whole rows took most of a week view's time.
    _directory: tuple[str, list[Entry]] = ("", [])

    async def warm_console(self) -> None:
        """Read the directory now (at start), so that the first page served is not the slow one."""
        async with self._desk() as desk:
            await self._people(desk)

    async def _people(self, desk: Desk) -> list[Entry]:
        """Members and providers by name (from the cache while the agency file is the same)."""
        version = await desk.tx.roster.agency_version()
        if version != self._directory[0] or not version:
            entries = [
                Entry(p.id, p.name, p.phone or "", role, p.name.casefold())
                for role in ("member", "provider")
                for p in await desk.tx.roster.people(role)
            ]
            entries.sort(key=lambda e: (e.folded, e.id))
            self._directory = (version, entries)
        return self._directory[1]

    async def console_staff(self, staff_id: str) -> tuple[Staff, str] | None:
        """A staff member and their language; None for anyone else or someone removed."""
        async with self._desk() as desk:
            try:
                person = await desk.tx.roster.person(staff_id)
            except NotFound:
                return None
            if not isinstance(person, Staff):
                return None
            return person, language(person, desk.agency.language)

    async def use_console_link(self, claim: LinkClaim) -> Staff | None:
        """Use a sign-in link up: the staff member it names, or None (not staff, used before)."""
        async with self._desk() as desk:
            try:
                person = await desk.tx.roster.person(claim.staff_id)
            except NotFound:
                return None
            if not isinstance(person, Staff):
                return None
            if not await desk.tx.once.first(SEEN_ONCE, claim.nonce, desk.now):
                return None
        log.info("console: %s signed in", person.id)
        return person

    async def console_week(self, lang: str, first: date | None, page: int, query: str) -> Week:
        """One page of providers (by name, filtered) and their appointments over 7 days."""
        async with self._desk() as desk:
            first = first or desk.local(desk.now).date()
            start = datetime.combine(first, time(0), tzinfo=desk.tz)
            end = start + timedelta(days=WEEK_DAYS)
            wanted = query.strip().casefold()
            digits = "".join(c for c in wanted if c.isdigit())
            providers = [
                e
                for e in await self._people(desk)
                if e.role == "provider"
                and (
                    not wanted
                    or wanted in e.folded
                    or (len(digits) >= 3 and digits in "".join(filter(str.isdigit, e.phone)))
                )
            ]
            pages = max(1, -(-len(providers) // PAGE_SIZE))
            page = min(max(page, 1), pages)
            ids = [e.id for e in providers[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]]
            found = {p.id: p for p in await desk.tx.roster.providers(ids)}
            shown = [found[i] for i in ids if i in found]
            rows = {p.id: WeekRow(p) for p in shown}
            members: dict[str, str] = {}
            for request in await desk.tx.requests.between(start, end, list(rows)):
                if request.provider_id not in rows:
                    continue
                if request.member_id not in members:
                    member = await desk.tx.roster.person(request.member_id)
                    members[request.member_id] = member.name
                rows[request.provider_id].blocks += blocks(
                    desk, request, start, members[request.member_id], lang
                )
            days = [fmt_day(start + timedelta(days=i), lang) for i in range(WEEK_DAYS)]
        return Week(days, first, list(rows.values()), page, pages, len(providers), query)

    async def console_inbox(self, lang: str, staff: Staff) -> list[Card]:
        """Open escalations, change requests and waiver requests, oldest first."""
        async with self._desk() as desk:
            return [await card(desk, e, lang, staff) for e in await desk.tx.escalations.open()]

    async def console_card(self, lang: str, staff: Staff, escalation_id: int) -> Card | None:
        """One escalation, open or handled."""
        async with self._desk() as desk:
            escalation = await desk.tx.escalations.get(escalation_id)
            return None if escalation is None else await card(desk, escalation, lang, staff)

    async def staff_press(self, staff: Staff, packed: str) -> bool:
        """Press a staff button as the chat does (same router, one unit of work); False for
        anything that is not one."""
        verb, _, rest = packed.partition(":")
        if verb not in STAFF_VERBS or not rest:
            return False
        log.info("console: %s pressed %s", staff.id, packed)

        async def press(desk: Desk) -> None:
            await handle(desk, staff, Press(packed))

        await self._change(press)
        return True

    async def console_member(
        self, lang: str, member_id: str
    ) -> tuple[Member, list[str], MemberStatement]:
        """A member, their upcoming appointments and their statement; NotFound otherwise."""
        async with self._desk() as desk:
            member = await desk.tx.roster.person(member_id)
            if not isinstance(member, Member):
                raise NotFound(member_id)
            upcoming = [
                await appointment_line(desk, r, lang)
                for r in await desk.tx.requests.of_member(member.id, OPEN)
                if r.end > desk.now
            ]
            return member, upcoming, await statement(desk, member, lang)

    async def console_payment(
        self, lang: str, staff: Staff, member_id: str, typed: str
    ) -> tuple[bool, str]:
        """Record a payment as `/paid` does (the back office's record_payment); (recorded,
        what to show)."""
        amount = parse_amount(typed)
        if amount is None:
            return False, render(lang, payment.not_an_amount(typed[:30]))[0]
        async with self._desk() as desk:
            member = await desk.tx.roster.person(member_id)
            if not isinstance(member, Member):
                raise NotFound(member_id)
        try:
            after = await self.record_payment(staff.id, member.id, amount)
        except PaymentRefused as refused:
            if refused.reason == "not_positive":
                return False, render(lang, payment.not_an_amount(typed[:30]))[0]
            return False, render(lang, payment.refusal(desk, refused, member, amount))[0]
        log.info("console: %s recorded a payment of %s for %s", staff.id, amount, member.id)
        return True, render(lang, payment.recorded(desk, member, amount, after.owed))[0]

    async def console_provider(self, lang: str, provider_id: str) -> ProviderPage:
        """A provider's page; NotFound for anyone else."""
        async with self._desk() as desk:
            provider = await desk.tx.roster.person(provider_id)
            if not isinstance(provider, Provider):
                raise NotFound(provider_id)
            appointments = []
            for request in await desk.tx.requests.of_provider(provider.id, OPEN):
                if request.end > desk.now:
                    member = await desk.tx.roster.person(request.member_id)
                    appointments.append(
                        (
                            wording.describe(desk, request, lang),
                            member.name,
                            status_text(request, lang),
                        )
                    )
            this_month = desk.local(desk.now).replace(
                day=1, hour=0, minute=0, second=0, microsecond=0
            )
            last_month = (this_month - timedelta(days=1)).replace(day=1)
            next_month = (this_month + timedelta(days=32)).replace(day=1)
            owed = []
            for start, end in ((last_month, this_month), (this_month, next_month)):
                rows = await desk.tx.ledger.payouts(provider.id, start, end)
                total = sum((amount for _, amount, _ in rows), Decimal("0.00"))
                owed.append((fmt_month(start, lang), _money(desk, total, lang)))
            today = desk.local(desk.now).date()
            weekly = [
                (w.weekday, weekday_name(w.weekday, lang), clock_text(w.start), clock_text(w.end))
                for w in sorted(provider.availability, key=lambda w: (w.weekday, w.start))
            ]
            off = [
                (d.isoformat(), fmt_day(datetime.combine(d, time(12)), lang))
                for d in sorted(provider.unavailable)
                if d >= today
            ]
        return ProviderPage(provider, appointments, owed, weekly, off)

    async def change_hours(
        self, lang: str, staff: Staff, provider_id: str, change: HoursChange
    ) -> HoursEdit:
        """Change a provider's hours with §9's checks, and tell them; a change that would
        break what they hold is refused, naming it, and nothing changes."""

        async def edit(desk: Desk) -> HoursEdit:
            provider = await desk.tx.roster.person(provider_id)
            if not isinstance(provider, Provider):
                raise NotFound(provider_id)
            today = desk.local(desk.now).date()
            schedule = hours.changed(provider, change, today)
            if schedule is None:
                return HoursEdit(False, provider.name, not_a_day_off=True)
            broken = await hours.at_risk(desk, provider, schedule)
            if broken:
                listed = [wording.describe(desk, r, lang) for r in broken]
                return HoursEdit(False, provider.name, broken=listed)
            await hours.apply(desk, provider, schedule)
            await desk.tell(
                provider,
                "The agency changed your hours.\n{hours}",
                hours=partial(hours.describe_schedule, desk, schedule),
            )
            log.info("console: %s changed the hours of %s: %s", staff.id, provider.id, change)
            return HoursEdit(True, provider.name)

        return await self._change(edit)

    async def console_search(self, query: str) -> list[Entry]:
        """Members and providers whose name or phone holds the query (at most 50)."""
        wanted = query.strip().casefold()
        digits = "".join(c for c in wanted if c.isdigit())
        if not wanted:
            return []
        async with self._desk() as desk:
            return [
                e
                for e in await self._people(desk)
                if wanted in e.folded
                or (len(digits) >= 3 and digits in "".join(filter(str.isdigit, e.phone)))
            ][:50]


def weekdays(lang: str) -> list[str]:
    """Monday to Sunday in a language."""
    return [weekday_name(i, lang) for i in range(7)]


def _money(desk: Desk, amount: Decimal, lang: str) -> str:
    return wording.money(desk, amount, lang)
