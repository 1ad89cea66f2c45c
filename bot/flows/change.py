"""Change (§7): appointment -> what to change -> the new value -> summary -> sent."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from bot.domain.agency import Member
from bot.domain.booking import Status, check_window
from bot.flows.cancel import booking_options, upcoming
from bot.flows.conversation import FlowState, leave, load, save
from bot.i18n import N_, fmt_window
from bot.nlu.commands import find_service
from bot.nlu.when import WhenError, parse_when
from bot.services import changes
from bot.services.actions import Verb
from bot.services.desk import Desk
from bot.services.notices import Label, Lines, Localized, Notice, phrase
from bot.services.ports import NewChange
from bot.services.wording import described


@dataclass
class Changing(FlowState):
    """A change under way: steps pick, what, value, confirm."""

    FLOW = Verb.CHANGE
    GAVE_UP = Notice("All right, nothing was changed.")
    cands: list[int] = field(default_factory=list)  # the appointments offered
    request: int = 0  # the one picked
    kind: str | None = None  # "time" | "service" | "notes"
    start: datetime | None = None
    end: datetime | None = None
    service: str | None = None
    notes: str | None = None


async def begin(desk: Desk, member: Member) -> None:
    """'modifier', 'change booking', /change."""
    bookings = await upcoming(desk, member, (Status.CONFIRMED,))
    if not bookings:
        await leave(desk, member, Notice("You have no confirmed upcoming booking to change."))
        return
    state = await save(desk, member, Changing(step="pick", cands=[r.id for r in bookings]))
    options = await booking_options(desk, state, bookings)
    options.append(state.give_up())
    await desk.tell(member, "Which booking do you want to change?", options)


async def on_press(desk: Desk, member: Member, state: Changing, args: tuple[str, ...]) -> None:
    """A tapped option of the change flow."""
    choice, rest = args[0], args[1:]
    if choice == "r" and rest and rest[0].isdigit() and int(rest[0]) in state.cands:
        state.step, state.request = "what", int(rest[0])
        state = await save(desk, member, state)
        options: list[tuple[Label, str]] = [
            (N_("Date and time"), state.act("k", "time")),
            (N_("Service"), state.act("k", "service")),
            (N_("Notes for the provider"), state.act("k", "notes")),
            state.give_up(),
        ]
        await desk.tell(member, "What do you want to change?", options)
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
        others = [s for s in desk.services.values() if s.id != request.service_id]
        await desk.tell(member, "Which service instead?", state.service_options(others))


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
    request = await desk.tx.requests.get(state.request)
    price = request.price
    new: Localized
    if state.kind == "time" and state.start and state.end:
        start, end = state.start, state.end
        window = partial(fmt_window, desk.local(start), desk.local(end))
        new = phrase("new time: {window}", window=window)
        price = changes.new_price(desk, request, start=start, end=end)
    elif state.kind == "service" and state.service:
        new = phrase("new service: {service}", service=desk.services[state.service].label)
        price = changes.new_price(desk, request, service=state.service)
    else:
        new = phrase("notes: {notes}", notes=state.notes or "")
    state.step = "confirm"
    state = await save(desk, member, state)
    lines: list[Notice | Localized] = [
        Notice("Change {what}: {new}.", {"what": described(desk, request), "new": new})
    ]
    if changes.price_line(desk, request, price, desk.lang(member)):
        lines.append(partial(changes.price_line, desk, request, price))
    if desk.agency.policy.change_requests != "auto":
        lines.append(Notice("The agency reviews changes before they apply."))
    options: list[tuple[Label, str]] = [
        (N_("Send the change"), state.act("ok")),
        state.give_up(),
    ]
    await desk.notify(member, Lines(lines, options))


async def _send(desk: Desk, member: Member, state: Changing) -> None:
    await leave(desk, member)
    request = await desk.tx.requests.get(state.request)
    if request.member_id != member.id or request.status is not Status.CONFIRMED:
        await desk.tell(member, "This booking can no longer be changed.")
        return
    if state.kind == "time":
        asked = NewChange("time", new_start=state.start, new_end=state.end)
    elif state.kind == "service":
        asked = NewChange("service", new_service=state.service)
    else:
        asked = NewChange("notes", notes=state.notes)
    await changes.submit(desk, member, request, asked)
