"""Change (§7): appointment -> what to change -> the new value -> summary -> sent."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.domain.agency import Member
from bot.domain.booking import Status, check_window
from bot.flows.cancel import label, upcoming
from bot.flows.conversation import FlowState, leave, load, pressed, save
from bot.i18n import fmt_window, tr
from bot.nlu.commands import find_service
from bot.nlu.when import WhenError, parse_when
from bot.services import changes
from bot.services.actions import Verb
from bot.services.desk import Desk, Option
from bot.services.wording import describe


@dataclass
class Changing(FlowState):
    """A change under way: steps pick, what, value, confirm."""

    FLOW = Verb.CHANGE
    cands: list[int] = field(default_factory=list)  # the appointments offered
    request: int = 0  # the one picked
    kind: str | None = None  # "time" | "service" | "notes"
    start: datetime | None = None
    end: datetime | None = None
    service: str | None = None
    notes: str | None = None


async def begin(desk: Desk, member: Member) -> None:
    """'modifier', 'change booking', /change."""
    lang = desk.lang(member)
    bookings = await upcoming(desk, member, (Status.CONFIRMED,))
    if not bookings:
        await leave(desk, member)
        await desk.tell(member, "You have no confirmed upcoming booking to change.")
        return
    state = await save(desk, member, Changing(step="pick", cands=[r.id for r in bookings]))
    options: list[Option] = [(await label(desk, r, lang), state.act("r", r.id)) for r in bookings]
    options.append(state.give_up(lang))
    await desk.send(member, tr(lang, "Which booking do you want to change?"), options)


async def on_press(desk: Desk, member: Member, tok: str, args: tuple[str, ...]) -> None:
    """A tapped option of the change flow."""
    state = await pressed(desk, member, Changing, tok, args)
    if state is None:
        return
    lang = desk.lang(member)
    choice, rest = args[0], args[1:]
    if choice == "x":
        await leave(desk, member)
        await desk.tell(member, "All right, nothing was changed.")
    elif choice == "r" and rest and rest[0].isdigit() and int(rest[0]) in state.cands:
        state.step, state.request = "what", int(rest[0])
        state = await save(desk, member, state)
        await desk.send(
            member,
            tr(lang, "What do you want to change?"),
            [
                (tr(lang, "Date and time"), state.act("k", "time")),
                (tr(lang, "Service"), state.act("k", "service")),
                (tr(lang, "Notes for the provider"), state.act("k", "notes")),
                state.give_up(lang),
            ],
        )
    elif choice == "k" and rest and rest[0] in ("time", "service", "notes"):
        await _ask_value(desk, member, state, rest[0])
    elif choice == "s" and rest and rest[0] in desk.services and state.kind == "service":
        state.service = rest[0]
        await _summary(desk, member, state)
    elif choice == "ok" and state.step == "confirm":
        await _send(desk, member, state)
    else:
        await desk.stale(member)


async def _ask_value(desk: Desk, member: Member, state: Changing, kind: str) -> None:
    lang = desk.lang(member)
    state.step, state.kind = "value", kind
    state = await save(desk, member, state)
    if kind == "time":
        await desk.tell(
            member, 'What is the new day and time? For example: "thursday 2pm to 6pm".'
        )
    elif kind == "notes":
        await desk.tell(member, "Write your notes for the provider in one message.")
    else:
        request = await desk.tx.requests.get(state.request)
        options: list[Option] = [
            (s.label(lang), state.act("s", s.id))
            for s in desk.services.values()
            if s.id != request.service_id
        ]
        options.append(state.give_up(lang))
        await desk.send(member, tr(lang, "Which service instead?"), options)


async def on_text(desk: Desk, member: Member, text: str) -> bool:
    """The new value, typed."""
    state = await load(desk, member, Changing)
    if state is None:
        return False
    if state.step != "value" or state.kind is None:
        return False
    lang = desk.lang(member)
    kind = state.kind
    if kind == "notes":
        state.notes = text.strip()[:500]
    elif kind == "service":
        service = find_service(text, desk.services.values())
        if service is None:
            await _ask_value(desk, member, state, kind)
            return True
        state.service = service
    else:
        request = await desk.tx.requests.get(state.request)
        window = _parse(desk, text, lang, desk.local(request.start).date().isoformat())
        problem = (
            check_window(window[0], window[1], desk.now, desk.agency.policy) if window else None
        )
        if window is None or problem is not None:
            await desk.tell(
                member,
                "Sorry, I cannot use that time. Give a day and hours at least {hours} h from now.",
                hours=int(desk.agency.policy.min_notice.total_seconds() // 3600),
            )
            return True
        state.start, state.end = window
    await _summary(desk, member, state)
    return True


def _parse(desk: Desk, text: str, lang: str, day: str) -> tuple[datetime, datetime] | None:
    now = desk.local(desk.now).replace(tzinfo=None)
    for attempt in (text, f"{day} {text}"):
        try:
            when = parse_when(attempt, now, lang)
        except WhenError:
            continue
        if when.start is not None and when.end is not None:
            return when.start.replace(tzinfo=desk.tz), when.end.replace(tzinfo=desk.tz)
    return None


async def _summary(desk: Desk, member: Member, state: Changing) -> None:
    lang = desk.lang(member)
    request = await desk.tx.requests.get(state.request)
    price = request.price
    if state.kind == "time" and state.start and state.end:
        start, end = state.start, state.end
        new = tr(
            lang, "new time: {window}", window=fmt_window(desk.local(start), desk.local(end), lang)
        )
        price = changes.new_price(desk, request, start=start, end=end)
    elif state.kind == "service" and state.service:
        new = tr(lang, "new service: {service}", service=desk.services[state.service].label(lang))
        price = changes.new_price(desk, request, service=state.service)
    else:
        new = tr(lang, "notes: {notes}", notes=state.notes or "")
    state.step = "confirm"
    state = await save(desk, member, state)
    review = desk.agency.policy.change_requests != "auto"
    text = tr(lang, "Change {what}: {new}.", what=describe(desk, request, lang), new=new)
    if priced := changes.price_line(desk, request, price, lang):
        text += "\n" + priced
    if review:
        text += "\n" + tr(lang, "The agency reviews changes before they apply.")
    await desk.send(
        member,
        text,
        [
            (tr(lang, "Send the change"), state.act("ok")),
            state.give_up(lang),
        ],
    )


async def _send(desk: Desk, member: Member, state: Changing) -> None:
    await leave(desk, member)
    request = await desk.tx.requests.get(state.request)
    if request.member_id != member.id or request.status is not Status.CONFIRMED:
        await desk.tell(member, "This booking can no longer be changed.")
        return
    if state.kind == "time":
        await changes.submit(desk, member, request, "time", start=state.start, end=state.end)
    elif state.kind == "service":
        await changes.submit(desk, member, request, "service", service=state.service)
    else:
        await changes.submit(desk, member, request, "notes", notes=state.notes)
