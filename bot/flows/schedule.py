"""A provider's own list: upcoming appointments, rescheduling (§4.5) and what they are owed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial

from bot.domain.agency import Provider
from bot.domain.booking import Request, Status
from bot.flows.conversation import FlowState, leave, load, save
from bot.i18n import N_, fmt_day, fmt_day_time, fmt_month, fmt_time
from bot.nlu.when import WhenError, parse_when
from bot.services import dayof
from bot.services.actions import Verb
from bot.services.desk import Desk
from bot.services.notices import Label, Lines, Localized, Notice, phrase
from bot.services.wording import describe, described, money

HELD = (Status.CONFIRMED, Status.IN_PROGRESS)


@dataclass
class Moving(FlowState):
    """A provider moving an appointment: steps pick, when, confirm."""

    FLOW = Verb.MOVE
    GAVE_UP = Notice("All right, nothing was changed.")
    cands: list[int] = field(default_factory=list)  # the appointments listed
    request: int = 0  # the one being moved
    start: datetime | None = None  # its new start


async def list_appointments(desk: Desk, provider: Provider) -> None:
    """/today, 'mes rendez-vous': upcoming appointments, each with a 'move' option."""
    held = [r for r in await desk.tx.requests.of_provider(provider.id, HELD) if r.end > desk.now]
    if not held:
        await desk.tell(provider, "You have no upcoming session.")
        return
    state = await save(desk, provider, Moving(step="pick", cands=[r.id for r in held]))
    lines: list[Notice | Localized] = [Notice("Your upcoming sessions:")]
    options: list[tuple[Label, str]] = []
    for request in held:
        member = await desk.tx.roster.person(request.member_id)
        lines.append(partial(_session_line, desk, request, member.name))
        if request.status is Status.CONFIRMED:
            when = partial(fmt_day_time, desk.local(request.start))
            options.append((phrase("Move {when}", when=when), state.act("r", request.id)))
    await desk.notify(provider, Lines(lines, options))


def _session_line(desk: Desk, request: Request, member: str, lang: str) -> str:
    return f"• {describe(desk, request, lang)} - {member}"


async def on_press(desk: Desk, provider: Provider, state: Moving, args: tuple[str, ...]) -> None:
    """'Move ...' then 'yes, agreed with the client'."""
    if args[0] == "r" and len(args) > 1 and args[1].isdigit() and int(args[1]) in state.cands:
        state.step, state.request = "when", int(args[1])
        await save(desk, provider, state)
        await desk.tell(
            provider,
            "What is the new day and start time, agreed with the "
            'client? For example: "thursday 16:30".',
        )
    elif args[0] == "ok" and state.step == "confirm":
        await leave(desk, provider)
        await _move(desk, provider, state)
    else:
        await leave(desk, provider, state.GAVE_UP)


async def on_text(desk: Desk, provider: Provider, text: str) -> bool:
    """The new day and time of an appointment being moved."""
    state = await load(desk, provider, Moving)
    if state is None or state.step != "when":
        return False
    lang = desk.lang(provider)
    request = await desk.tx.requests.get(state.request)
    now = desk.local(desk.now).replace(tzinfo=None)
    start = None
    for attempt in (text, f"{desk.local(request.start).date().isoformat()} {text}"):
        try:
            when = parse_when(attempt, now, lang)
        except WhenError:
            continue
        if when.start is not None:
            start = when.start.replace(tzinfo=desk.tz)
            break
    if start is None or start <= desk.now:
        await desk.tell(
            provider, 'Sorry, I did not understand that time. For example: "thursday 16:30".'
        )
        return True
    state.step, state.start = "confirm", start
    state = await save(desk, provider, state)
    member = await desk.tx.roster.person(request.member_id)
    options: list[tuple[Label, str]] = [
        (N_("Yes, agreed with the client"), state.act("ok")),
        state.give_up(),
    ]
    await desk.tell(
        provider,
        "Move {what} to {when}? Only with {member}'s agreement.",
        options,
        what=described(desk, request),
        when=partial(fmt_day_time, desk.local(start)),
        member=member.name,
    )
    return True


async def _move(desk: Desk, provider: Provider, state: Moving) -> None:
    request = await desk.tx.requests.get(state.request)
    if request.provider_id != provider.id or state.start is None:
        await desk.tell(provider, "This session can no longer be moved.")
        return
    # Refused with the reason when the provider is not free then; nothing changes (§4.5).
    await dayof.reschedule(desk, provider, request, state.start)


async def earnings(desk: Desk, provider: Provider) -> None:
    """What a provider is owed, per appointment and in total, last month and this month."""
    this_month = desk.local(desk.now).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    next_month = (this_month + timedelta(days=32)).replace(day=1)
    lines: list[Notice | Localized] = [Notice("What you are owed:")]
    for start, end in ((last_month, this_month), (this_month, next_month)):
        rows = await desk.tx.ledger.payouts(provider.id, start, end)
        total = sum((amount for _, amount, _ in rows), Decimal("0.00"))
        lines.append(partial(_month_line, desk, start, total))
        for request_id, amount, _ in rows:
            if request_id is not None:
                request = await desk.tx.requests.get(request_id)
                lines.append(partial(_payout_line, desk, desk.local(request.start), amount))
    await desk.notify(provider, Lines(lines))


def _month_line(desk: Desk, month: datetime, total: Decimal, lang: str) -> str:
    return f"{fmt_month(month, lang)}: {money(desk, total, lang)}"


def _payout_line(desk: Desk, start: datetime, amount: Decimal, lang: str) -> str:
    return f"  • {fmt_day(start, lang)} {fmt_time(start, lang)}: {money(desk, amount, lang)}"
