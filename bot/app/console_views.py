"""What the web console shows, in the staff member's language: the week, escalation cards, a
member's statement, a provider's page (read models the console intents return)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from bot.domain.agency import Member, Person, Provider, Staff
from bot.domain.booking import Request
from bot.domain.ledger import signed
from bot.flows.common import LEDGER_LABELS, OTHER_MOVEMENT
from bot.i18n import N_, fmt_day, fmt_day_time, fmt_time, normalize_language, tr
from bot.services import escalations, wording
from bot.services.billing import member_account, signed_money
from bot.services.changes import review_lines
from bot.services.desk import Desk, Option
from bot.services.notices import Notice, phrase, render, status_words
from bot.services.ports import Escalation

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
class MemberStatement:
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


def clock_text(minutes: int) -> str:
    """Minutes since midnight as '09:30'."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def weekday_name(weekday: int, lang: str) -> str:
    """A weekday's name (0 = Monday) in a language."""
    return fmt_day(datetime(2024, 1, 1 + weekday, 12), lang).split()[0]  # 2024-01-01: Monday


def status_text(request: Request, lang: str) -> str:
    """A request's status as staff read it."""
    return status_words(lang, request.status, staff=True)


def blocks(desk: Desk, request: Request, start: datetime, member: str, lang: str) -> list[Block]:
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
        title = f"{when} {member} ({status_text(request, lang)})"
        out.append(Block(day, round(left, 2), round(width, 2), request.status.value, when, title))
    return out


async def appointment_line(desk: Desk, request: Request, lang: str) -> str:
    """'Childcare, Tuesday ..., Léa Moreau (confirmed)': an appointment on a member's page."""
    who = "-"
    if request.provider_id:
        who = (await desk.tx.roster.person(request.provider_id)).name
    return f"{wording.describe(desk, request, lang)}, {who} ({status_text(request, lang)})"


async def statement(desk: Desk, member: Member, lang: str) -> MemberStatement:
    """The member's statement as the chat's balance shows it, every line."""
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
    return MemberStatement(
        wording.money(desk, account.owed, lang),
        wording.money(desk, account.credit, lang),
        account.credits,
        lines,
    )


WAIVER_KINDS = {"waiver": "waiver", "dispute": "waiver", "change_review": "change"}


async def card(desk: Desk, escalation: Escalation, lang: str, staff: Staff) -> Card:
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

        head = Notice(
            "Request from {member} ({what}). {why}",
            {
                "member": member.name,
                "what": what,
                "why": phrase(escalations.REASONS.get(escalation.reason, ""), provider=about),
            },
        )
        text, options = render(
            lang, await escalations.with_actions(desk, escalation, request, head)
        )
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
