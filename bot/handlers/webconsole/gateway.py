"""Everything the web console asks of the bot, in one place: reads and staff actions.

The console writes no SQL and sends no message of its own: a staff action here runs the
very action the chat's button runs (the same packed action, through the chat's router), so
that the same rule holds on both sides: one action wins, and every staff member is told who
acted. When the application gets intent methods (issue #11), this module is what switches.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from bot.app import Carebot
from bot.domain.agency import Member, Person, Provider, Staff
from bot.domain.booking import OPEN, Request
from bot.domain.errors import NotFound
from bot.flows.payment import parse_amount
from bot.flows.router import Press, handle
from bot.i18n import N_, fmt_day, fmt_day_time, fmt_month, fmt_time, normalize_language, tr
from bot.nlu.hours import HoursChange
from bot.services import escalations, hours, wording
from bot.services.billing import PaymentRefused, member_account, record_payment, signed_money
from bot.services.changes import review_lines
from bot.services.console_links import SEEN_ONCE, LinkClaim
from bot.services.desk import Desk, Option, open_desk
from bot.services.notices import status_words
from bot.services.ports import Escalation

log = logging.getLogger(__name__)
STAFF_VERBS = frozenset({"eo", "eu", "wa", "wd", "ca", "cd"})  # what a staff button may do
PAGE_SIZE = 50  # providers per page of the week view (an agency may have thousands)
WEEK_DAYS = 7
# The hours a day's cell spans: care happens in the day, and a 24-hour cell makes it tiny.
DAY_FROM, DAY_TO = timedelta(hours=6), timedelta(hours=23)


@dataclass(frozen=True)
class Block:
    """One appointment in the week view: where it sits in its day and how it is coloured."""

    day: int  # 0 = the first day shown
    left: float  # percent of the day
    width: float
    status: str
    label: str
    title: str


@dataclass
class WeekRow:
    """A provider's line of the week view."""

    provider: Provider
    blocks: list[Block] = field(default_factory=list)


@dataclass(frozen=True)
class Week:
    """The week view: its days, one page of providers, and how many pages there are."""

    days: list[str]
    first: date
    rows: list[WeekRow]
    page: int
    pages: int
    total: int
    query: str


@dataclass(frozen=True)
class Card:
    """An escalation as the console shows it: what it is, its actions, who handled it."""

    id: int
    text: str
    kind: str  # "escalation" | "change" | "waiver"
    options: Sequence[Option]
    handled: str | None  # "Handled by Sophie: ..." once closed


@dataclass(frozen=True)
class Statement:
    """A member's statement: totals and every line signed."""

    owed: str
    credit: str
    credits: int
    lines: list[tuple[str, str, str]]  # when, what, signed amount


@dataclass(frozen=True)
class ProviderPage:
    """A provider's appointments, what they are owed, weekly hours and days off."""

    provider: Provider
    appointments: list[tuple[str, str, str]]  # when, member, status
    owed: list[tuple[str, str]]  # month, total
    hours: list[tuple[int, str, str, str]]  # weekday, its name, start, end
    days_off: list[tuple[str, str]]  # iso date, shown


@dataclass(frozen=True)
class HoursEdit:
    """What came of a change to a provider's hours: saved, or refused and why."""

    saved: bool
    provider: str
    broken: list[str] = field(default_factory=list)  # the appointments it would break
    not_a_day_off: bool = False


def language(person: Person, agency_language: str) -> str:
    """The staff member's language for the web (never the SMS wording)."""
    return normalize_language(person.language, agency_language)


@dataclass(frozen=True)
class Entry:
    """Who someone is in the directory: enough to list, sort and find them."""

    id: str
    name: str
    phone: str
    role: str  # "member" | "provider"
    folded: str  # the name, case-folded, for sorting and filtering


class Gateway:
    """The console's way into the bot: one unit of work per call."""

    def __init__(self, bot: Carebot) -> None:
        self.bot = bot
        # Names and phones of everyone, as of an agency file version: only an import changes
        # them, and reading 5,000 providers' whole rows took most of a week view's time.
        self._directory: tuple[str, list[Entry]] = ("", [])

    async def warm(self) -> None:
        """Read the directory now (at start), so that the first page served is not the slow one."""
        async with open_desk(self.bot.db, self.bot.clock, self.bot.agency_cache) as desk:
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

    def now(self) -> datetime:
        """The bot's clock."""
        return self.bot.clock.now()

    async def staff(self, staff_id: str) -> tuple[Staff, str] | None:
        """A staff member and their language; None for anyone else or someone removed."""
        async with open_desk(self.bot.db, self.bot.clock, self.bot.agency_cache) as desk:
            try:
                person = await desk.tx.roster.person(staff_id)
            except NotFound:
                return None
            if not isinstance(person, Staff):
                return None
            return person, language(person, desk.agency.language)

    async def use_link(self, claim: LinkClaim) -> Staff | None:
        """Use a sign-in link up: the staff member it names, or None (not staff, used before)."""
        async with open_desk(self.bot.db, self.bot.clock, self.bot.agency_cache) as desk:
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

    # --- the week -------------------------------------------------------------------

    async def week(self, lang: str, first: date | None, page: int, query: str) -> Week:
        """One page of providers (by name, filtered) and their appointments over 7 days."""
        async with open_desk(self.bot.db, self.bot.clock, self.bot.agency_cache) as desk:
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
                rows[request.provider_id].blocks += _blocks(
                    desk, request, start, members[request.member_id], lang
                )
            days = [fmt_day(start + timedelta(days=i), lang) for i in range(WEEK_DAYS)]
        return Week(days, first, list(rows.values()), page, pages, len(providers), query)

    # --- escalations ----------------------------------------------------------------

    async def inbox(self, lang: str, staff: Staff) -> list[Card]:
        """Open escalations, change requests and waiver requests, oldest first."""
        async with open_desk(self.bot.db, self.bot.clock, self.bot.agency_cache) as desk:
            return [await _card(desk, e, lang, staff) for e in await desk.tx.escalations.open()]

    async def card(self, lang: str, staff: Staff, escalation_id: int) -> Card | None:
        """One escalation, open or handled."""
        async with open_desk(self.bot.db, self.bot.clock, self.bot.agency_cache) as desk:
            escalation = await desk.tx.escalations.get(escalation_id)
            return None if escalation is None else await _card(desk, escalation, lang, staff)

    async def act(self, staff: Staff, packed: str) -> bool:
        """Press a staff button as the chat does; False for anything that is not one."""
        verb, _, rest = packed.partition(":")
        if verb not in STAFF_VERBS or not rest:
            return False
        log.info("console: %s pressed %s", staff.id, packed)
        await self._as_chat(staff, packed)
        return True

    async def _as_chat(self, staff: Staff, packed: str) -> None:
        """Run a packed action exactly as a press in chat (same router, same transaction)."""
        async with open_desk(
            self.bot.db, self.bot.clock, self.bot.agency_cache, self.bot.console_links
        ) as desk:
            await handle(desk, staff, Press(packed))
        for hook in self.bot.after_commit:
            await hook()

    # --- members --------------------------------------------------------------------

    async def member(self, lang: str, member_id: str) -> tuple[Member, list[str], Statement]:
        """A member, their upcoming appointments and their statement; NotFound otherwise."""
        async with open_desk(self.bot.db, self.bot.clock, self.bot.agency_cache) as desk:
            member = await desk.tx.roster.person(member_id)
            if not isinstance(member, Member):
                raise NotFound(member_id)
            upcoming = [
                await _appointment_line(desk, r, lang)
                for r in await desk.tx.requests.of_member(member.id, OPEN)
                if r.end > desk.now
            ]
            return member, upcoming, await _statement(desk, member, lang)

    async def record_payment(
        self, lang: str, staff: Staff, member_id: str, typed: str
    ) -> tuple[bool, str]:
        """Record a payment as `/paid` does; (recorded, what to show)."""
        amount = parse_amount(typed)
        if amount is None:
            return False, tr(lang, '"{text}" is not an amount.', text=typed[:30])
        async with open_desk(self.bot.db, self.bot.clock, self.bot.agency_cache) as desk:
            member = await desk.tx.roster.person(member_id)
            if not isinstance(member, Member):
                raise NotFound(member_id)
            try:
                after = await record_payment(desk, staff, member, amount)
            except PaymentRefused as refused:
                if refused.reason == "nothing_owed":
                    return False, tr(
                        lang, "{member} owes nothing: no payment recorded.", member=member.name
                    )
                if refused.reason == "not_positive":
                    return False, tr(lang, '"{text}" is not an amount.', text=typed[:30])
                return False, tr(
                    lang,
                    "{member} owes {owed}: a payment of {amount} is more than that. "
                    "Nothing recorded.",
                    member=member.name,
                    owed=wording.money(desk, refused.owed, lang),
                    amount=wording.money(desk, amount, lang),
                )
            log.info("console: %s recorded a payment of %s for %s", staff.id, amount, member.id)
            shown = tr(
                lang,
                "Payment of {amount} recorded for {member}. Still to pay: {owed}.",
                amount=wording.money(desk, amount, lang),
                member=member.name,
                owed=wording.money(desk, after.owed, lang),
            )
        for hook in self.bot.after_commit:
            await hook()
        return True, shown

    # --- providers ------------------------------------------------------------------

    async def provider(self, lang: str, provider_id: str) -> ProviderPage:
        """A provider's page; NotFound for anyone else."""
        async with open_desk(self.bot.db, self.bot.clock, self.bot.agency_cache) as desk:
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
                            _status(request, lang),
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
                owed.append((fmt_month(start, lang), wording.money(desk, total, lang)))
            today = desk.local(desk.now).date()
            hours = [
                (w.weekday, _weekday(w.weekday, lang), _clock(w.start), _clock(w.end))
                for w in sorted(provider.availability, key=lambda w: (w.weekday, w.start))
            ]
            off = [
                (d.isoformat(), fmt_day(datetime.combine(d, time(12)), lang))
                for d in sorted(provider.unavailable)
                if d >= today
            ]
        return ProviderPage(provider, appointments, owed, hours, off)

    async def edit_hours(
        self, lang: str, staff: Staff, provider_id: str, change: HoursChange
    ) -> HoursEdit:
        """Change a provider's hours with §9's checks; a change that would break what they
        hold is refused, naming it, and nothing changes."""
        async with open_desk(self.bot.db, self.bot.clock, self.bot.agency_cache) as desk:
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
            plang = desk.lang(provider)
            await desk.send(
                provider,
                tr(plang, "The agency changed your hours.")
                + "\n"
                + hours.describe_schedule(desk, schedule, plang),
            )
            log.info("console: %s changed the hours of %s: %s", staff.id, provider.id, change)
        for hook in self.bot.after_commit:
            await hook()
        return HoursEdit(True, provider.name)

    def weekdays(self, lang: str) -> list[str]:
        """Monday to Sunday in a language."""
        return [_weekday(i, lang) for i in range(7)]

    # --- search and export --------------------------------------------------------------

    async def search(self, query: str) -> list[Entry]:
        """Members and providers whose name or phone holds the query (at most 50)."""
        wanted = query.strip().casefold()
        digits = "".join(c for c in wanted if c.isdigit())
        if not wanted:
            return []
        async with open_desk(self.bot.db, self.bot.clock, self.bot.agency_cache) as desk:
            return [
                e
                for e in await self._people(desk)
                if wanted in e.folded
                or (len(digits) >= 3 and digits in "".join(filter(str.isdigit, e.phone)))
            ][:50]

    async def ledger_csv(self, first: date, last: date) -> str:
        """The ledger export of `carebot export ledger`, for the days [first, last]."""
        from bot.handlers.export import write_ledger  # the CLI's export, shared

        out = io.StringIO()
        await write_ledger(self.bot, first, last, out)
        return out.getvalue()


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _weekday(weekday: int, lang: str) -> str:
    return fmt_day(datetime(2024, 1, 1 + weekday, 12), lang).split()[0]  # 2024-01-01: Monday


def _status(request: Request, lang: str) -> str:
    return status_words(lang, request.status, staff=True)


def _blocks(desk: Desk, request: Request, start: datetime, member: str, lang: str) -> list[Block]:
    """Where an appointment sits in the week, one block per day it touches."""
    out = []
    for day in range(WEEK_DAYS):
        midnight = start + timedelta(days=day)
        lo = max(request.start, midnight)
        hi = min(request.end, midnight + timedelta(days=1))
        if lo >= hi:
            continue
        day_start, day_end = midnight + DAY_FROM, midnight + DAY_TO
        span = (day_end - day_start).total_seconds()
        # Night care shows at the cell's edge rather than not at all.
        left = min(max((lo - day_start).total_seconds() / span * 100, 0), 96)
        width = max(min((hi - lo).total_seconds() / span * 100, 100 - left), 4)
        local_start, local_end = desk.local(request.start), desk.local(request.end)
        when = f"{fmt_time(local_start, lang)}-{fmt_time(local_end, lang)}"
        title = f"{when} {member} ({_status(request, lang)})"
        out.append(Block(day, round(left, 2), round(width, 2), request.status.value, when, title))
    return out


async def _appointment_line(desk: Desk, request: Request, lang: str) -> str:
    who = "-"
    if request.provider_id:
        who = (await desk.tx.roster.person(request.provider_id)).name
    return f"{wording.describe(desk, request, lang)}, {who} ({_status(request, lang)})"


async def _statement(desk: Desk, member: Member, lang: str) -> Statement:
    """The member's statement as the chat's balance shows it, every line."""
    from bot.domain.ledger import signed
    from bot.flows.common import LEDGER_LABELS, OTHER_MOVEMENT

    account = await member_account(desk.tx, member.id)
    lines = []
    for line in reversed(await desk.tx.ledger.of_member(member.id)):
        amount = signed(line.kind, line.amount)
        lines.append(
            (
                fmt_day_time(desk.local(line.created_at.replace(tzinfo=UTC)), lang),
                tr(lang, LEDGER_LABELS.get(line.kind, OTHER_MOVEMENT)),
                signed_money(desk, amount, lang) if amount else "",
            )
        )
    return Statement(
        wording.money(desk, account.owed, lang),
        wording.money(desk, account.credit, lang),
        account.credits,
        lines,
    )


WAIVER_KINDS = {"waiver": "waiver", "dispute": "waiver", "change_review": "change"}


async def _card(desk: Desk, escalation: Escalation, lang: str, staff: Staff) -> Card:
    """What an escalation says and the chat's buttons for it, in the staff member's language."""
    request = await desk.tx.requests.get(escalation.request_id)
    member = await desk.tx.roster.person(request.member_id)
    what = wording.describe(desk, request, lang)
    kind = WAIVER_KINDS.get(escalation.reason, "escalation")
    options: Sequence[Option] = []
    if escalation.reason in ("waiver", "dispute"):
        text = tr(lang, "Waiver request from {member}: {what}.", member=member.name, what=what)
        if escalation.about:
            text += " " + tr(lang, "Reason: {reason}", reason=escalation.about[:300])
        if escalation.reason == "waiver":
            options = [
                (tr(lang, "Approve the waiver"), f"wa:{escalation.id}"),
                (tr(lang, "Deny the waiver"), f"wd:{escalation.id}"),
            ]
        else:
            options = [
                (tr(lang, "Waive the charge"), f"wa:{escalation.id}"),
                (tr(lang, "Keep the charge"), f"wd:{escalation.id}"),
            ]
    elif escalation.reason == "change_review":
        text = tr(lang, "Change request from {member}: {what}.", member=member.name, what=what)
        change = await desk.tx.changes.get(int(escalation.about or "0"))
        if change is not None:
            text += "\n" + await review_lines(desk, request, change, lang)
        options = [
            (tr(lang, "Approve the change"), f"ca:{escalation.id}"),
            (tr(lang, "Deny the change"), f"cd:{escalation.id}"),
        ]
    else:
        about = (await desk.tx.roster.person(escalation.about)).name if escalation.about else ""

        def head(lang: str) -> str:
            return tr(
                lang,
                "Request from {member} ({what}). {why}",
                member=member.name,
                what=what,
                why=tr(lang, escalations.REASONS.get(escalation.reason, ""), provider=about),
            )

        composed = (await escalations._with_actions(desk, escalation, request, head))(lang, staff)
        text, options = composed if isinstance(composed, tuple) else (composed, [])
    handled = None
    if not escalation.is_open:
        if escalation.handled_by is None:
            handled = tr(lang, "Closed by the bot: nobody had confirmed by the start.")
        else:
            handler = await desk.tx.roster.person(escalation.handled_by)
            outcome = escalation.outcome or ""
            if outcome.startswith("offered:"):
                offered = await desk.tx.roster.person(outcome.removeprefix("offered:"))
                done = tr(lang, "offered the request to {provider}.", provider=offered.name)
            else:
                done = tr(lang, OUTCOMES.get(outcome, N_("done.")))
            handled = tr(lang, "Handled by {staff}: {outcome}", staff=handler.name, outcome=done)
    return Card(escalation.id, text, kind, options, handled)


OUTCOMES = {
    "unfilled": N_("closed the request as unfilled."),
    "approved": N_("approved."),
    "denied": N_("denied."),
}
