"""Where every inbound message goes: commands first, then options, then the flow in progress.

An inbound is typed text or a pressed option (a packed action). On SMS an option is picked
by its number or by words that match exactly one option of the latest message, which makes
the two channels reach the same commands.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot.domain.agency import Member, Person, Provider
from bot.flows import (
    booking,
    cancel,
    change,
    common,
    dispute,
    hours,
    keywords,
    payment,
    provider,
    schedule,
    series,
    staff,
)
from bot.flows.conversation import S, leave, on_step, pressed
from bot.nlu.commands import fold, match_command
from bot.nlu.replies import parse_reply
from bot.services import billing, changes, dayof
from bot.services.actions import SHAPES, STEP, Action, Refused, Verb, unpack
from bot.services.desk import Desk, Option
from bot.services.notices import Label, as_shown

log = logging.getLogger(__name__)
MAX_TEXT = 2000  # longer messages are cut: nobody books care in a novel


@dataclass(frozen=True)
class Text:
    """Something a person typed."""

    text: str


@dataclass(frozen=True)
class Press:
    """An option a person tapped (Telegram button) or picked by number."""

    action: str


Inbound = Text | Press


def encode(inbound: Inbound) -> str:
    """An inbound as stored until it is processed."""
    if isinstance(inbound, Press):
        return json.dumps({"press": inbound.action}, ensure_ascii=False)
    return json.dumps({"text": inbound.text}, ensure_ascii=False)


def decode(payload: str) -> Inbound:
    """The inverse of encode."""
    data = json.loads(payload)
    return Press(str(data["press"])) if "press" in data else Text(str(data.get("text", "")))


async def handle(desk: Desk, person: Person, inbound: Inbound) -> None:
    """Handle one inbound message from a person on the roster."""
    if isinstance(inbound, Press):
        await _press(desk, person, inbound.action)
        return
    text = "".join(c for c in inbound.text[:MAX_TEXT] if c.isprintable() or c in "\n\t").strip()
    if not text:
        await common.send_help(desk, person)
        return
    if person.channel == "sms" and await keywords.on_sms(desk, person, text):
        return
    if await _command(desk, person, text) or await payment.on_payment(desk, person, text):
        return
    options = await _options_on_screen(desk, person, text)
    if options and await _answers_one_of_several(desk, person, text, options):
        # A typed OUI with two requests waiting must not go to the newest by default.
        options = ()
    if options:
        picked = _pick(text, options)
        if picked == "out_of_range":
            # The same options again, as they were written for this person.
            shown: list[tuple[Label, str]] = [(as_shown(label), act) for label, act in options]
            await desk.tell(
                person, "Please answer with a number from 1 to {n}.", shown, n=len(options)
            )
            return
        if picked is not None:
            await _press(desk, person, picked)
            return
    await _free_text(desk, person, text)


async def _options_on_screen(desk: Desk, person: Person, text: str) -> tuple[Option, ...]:
    """The options a typed reply answers: the latest message's.

    On SMS a reply without options (a balance, a notice) does not hide the numbered list
    above it: a number in that list's range answers it, unless the list was a flow's step
    that has moved on since (the flow then reads the number itself).
    """
    last = await desk.tx.outbox.last_to(person.id)
    number = _number(text)
    if last is None or last.options or person.channel != "sms" or number is None:
        return () if last is None else last.options
    listed = await desk.tx.outbox.last_with_options_to(person.id)
    if listed is None or not 1 <= number <= len(listed.options):
        return ()
    for _, packed in listed.options:
        act = unpack(packed)
        if isinstance(act, Refused) or SHAPES[act.verb] is not STEP:
            continue
        if not await on_step(desk, person, act.verb, act.args[0]):
            return ()
    return listed.options


MEMBER_ONLY = frozenset({"cancel", "change", "waiver", "book", "balance"})
PROVIDER_ONLY = frozenset({"earnings"})


async def _answers_one_of_several(
    desk: Desk, person: Person, text: str, options: tuple[Option, ...]
) -> bool:
    """A provider typing yes/no (not a number) while several requests await their answer."""
    if not isinstance(person, Provider) or text.strip().isdecimal():
        return False
    if not all(act.startswith(f"{Verb.ANSWER_OFFER}:") for _, act in options):
        return False
    if parse_reply(text, desk.lang(person)).intent not in ("confirm", "decline"):
        return False
    return len(await desk.tx.offers.open_for(person.id)) > 1


async def _command(desk: Desk, person: Person, text: str) -> bool:
    """Whole-message commands, which also leave any flow in progress."""
    command = match_command(text)
    if command is None:
        return False
    # A provider's "annuler" is about their session (free text), not the members' cancel flow.
    if (command in MEMBER_ONLY and not isinstance(person, Member)) or (
        command in PROVIDER_ONLY and not isinstance(person, Provider)
    ):
        return False
    await _run_command(desk, person, command)
    return True


# Commands answered on the spot: the flow in progress, if any, goes on after them.
_ON_THE_SPOT: dict[str, Callable[[Desk, Person], Awaitable[None]]] = {
    "menu": common.send_menu,
    "help": common.send_help,
    "language": common.ask_language,
    "pending": staff.list_pending,
    "unresolved": staff.list_unresolved,
    "console": staff.send_console_link,
}


async def _run_command(desk: Desk, person: Person, command: str) -> None:
    if command in ("english", "french"):
        await common.set_language(desk, person, "en" if command == "english" else "fr")
        return
    if command in _ON_THE_SPOT:
        await _ON_THE_SPOT[command](desk, person)
        return
    await leave(desk, person)
    if command == "book" and isinstance(person, Member):
        await booking.begin(desk, person)
    elif command == "cancel" and isinstance(person, Member):
        await cancel.begin(desk, person)
    elif command == "change" and isinstance(person, Member):
        await change.begin(desk, person)
    elif command == "waiver" and isinstance(person, Member):
        await cancel.ask_waiver(desk, person, None)
    elif command in ("bookings", "appointments") and isinstance(person, Provider):
        await schedule.list_appointments(desk, person)
    elif command == "earnings" and isinstance(person, Provider):
        await schedule.earnings(desk, person)
    elif command == "bookings":
        await common.list_bookings(desk, person)
    elif command == "balance":
        await common.show_balance(desk, person)
    else:
        await common.send_help(desk, person)


def _number(text: str) -> int | None:
    """A reply that is an option's number ("3", "3.", "٣"), as a number."""
    stripped = text.strip().rstrip(".)")
    return int(stripped) if stripped.isdecimal() else None  # not "²", which int() refuses


def _pick(text: str, options: tuple[Option, ...]) -> str | None:
    """The action a typed reply picks among options: by number, or by unambiguous words."""
    number = _number(text)
    if number is not None:
        return options[number - 1][1] if 1 <= number <= len(options) else "out_of_range"
    words = fold(text).split()
    if not words:
        return None
    matches = [
        act
        for label, act in options
        if all(any(lw.startswith(w) for lw in fold(label).split()) for w in words)
        and (len(words) > 1 or len(words[0]) >= 3)
    ]
    return matches[0] if len(matches) == 1 else None


async def _free_text(desk: Desk, person: Person, text: str) -> None:
    """Text that is neither a command nor an option: the flow in progress, else by role."""
    if isinstance(person, Member):
        if await dayof.forward_during_wait(desk, person, text):
            return
        if await dispute.on_text(desk, person, text):
            return
        for flow_text in (
            cancel.on_text,
            cancel.on_waiver_text,
            change.on_text,
            series.on_text,
            series.start,
            booking.on_text,
            booking.start,
        ):
            if await flow_text(desk, person, text):
                return
    elif isinstance(person, Provider) and (
        await schedule.on_text(desk, person, text)
        or await hours.on_text(desk, person, text)
        or await provider.on_text(desk, person, text)
    ):
        return
    await common.send_help(desk, person, misunderstood=True)


async def _staff_decision(desk: Desk, person: Person, verb: Verb, escalation_id: str) -> None:
    """Approve or deny a waiver or a dispute (wa/wd) or a change request (ca/cd)."""
    number = await staff.escalation_number(desk, person, escalation_id)
    if number is None:
        return
    if verb in (Verb.APPROVE_WAIVER, Verb.DENY_WAIVER):
        await billing.decide_waiver(desk, person, number, verb is Verb.APPROVE_WAIVER)
    else:
        await changes.decide(desk, person, number, verb is Verb.APPROVE_CHANGE)


Args = tuple[str, ...]
# A verb's handler gets the person (of the route's role) and the unpacked arguments.
Run = Callable[[Desk, Any, Args], Awaitable[object]]


@dataclass(frozen=True)
class Route:
    """Who may press a verb, and what it runs; anyone else is told the choice is stale."""

    role: type[Person]
    run: Run


def _step(flow: type[S], on_press: Callable[[Desk, Any, S, Args], Awaitable[None]]) -> Run:
    """A flow step's verb: the step token first, then what was picked. A press on any other
    step is stale; "give up" ends the flow; the flow's `on_press` gets the rest."""

    async def run(desk: Desk, person: Person, args: Args) -> None:
        state = await pressed(desk, person, flow, args[0], args[1:])
        if state is None:
            return
        if args[1] == "x":
            await leave(desk, person, state.GAVE_UP)
        else:
            await on_press(desk, person, state, args[1:])

    return run


def _decision(verb: Verb) -> Run:
    return lambda desk, person, args: _staff_decision(desk, person, verb, args[0])


# The handler table: one entry per verb that a person may press (Verb.LINK is Telegram's own
# contact keyboard, answered by the Telegram adapter, so it has none).
ROUTES: dict[Verb, Route] = {
    Verb.MENU: Route(Person, lambda desk, person, args: _run_command(desk, person, args[0])),
    Verb.LANGUAGE: Route(
        Person, lambda desk, person, args: common.set_language(desk, person, args[0])
    ),
    Verb.BOOK: Route(Member, _step(booking.Booking, booking.on_press)),
    Verb.SERIES: Route(Member, _step(series.Weekly, series.on_press)),
    Verb.CANCEL: Route(Member, _step(cancel.Cancelling, cancel.on_press)),
    Verb.CHANGE: Route(Member, _step(change.Changing, change.on_press)),
    Verb.CONTEST: Route(Member, dispute.on_press),
    Verb.WAIVER: Route(
        Member, lambda desk, person, args: cancel.ask_waiver(desk, person, next(iter(args), None))
    ),
    Verb.ANSWER_OFFER: Route(
        Provider, lambda desk, person, args: provider.on_answer(desk, person, args[0], args[1])
    ),
    Verb.REPORT: Route(Provider, provider.on_report),
    Verb.PROVIDER_CANCEL: Route(Provider, provider.on_cancel_confirmation),
    Verb.HOURS: Route(Provider, _step(hours.NewHours, hours.on_press)),
    Verb.MOVE: Route(Provider, _step(schedule.Moving, schedule.on_press)),
    # Staff verbs are routed for anyone: a non-staff press is told the action is staff-only.
    Verb.APPROVE_WAIVER: Route(Person, _decision(Verb.APPROVE_WAIVER)),
    Verb.DENY_WAIVER: Route(Person, _decision(Verb.DENY_WAIVER)),
    Verb.APPROVE_CHANGE: Route(Person, _decision(Verb.APPROVE_CHANGE)),
    Verb.DENY_CHANGE: Route(Person, _decision(Verb.DENY_CHANGE)),
    Verb.STAFF_OFFER: Route(
        Person, lambda desk, person, args: staff.on_offer(desk, person, args[0], args[1])
    ),
    Verb.STAFF_UNFILLED: Route(
        Person, lambda desk, person, args: staff.on_unfilled(desk, person, args[0])
    ),
}


async def _press(desk: Desk, person: Person, data: str) -> None:
    """Dispatch a packed action to the flow that owns its verb, through the table."""
    act = unpack(data)
    route = ROUTES.get(act.verb) if isinstance(act, Action) else None
    if not isinstance(act, Action) or route is None or not isinstance(person, route.role):
        why = act.reason if isinstance(act, Refused) else "not theirs"
        log.info("stale or foreign action %r from %s (%s)", data, person.id, why)
        await desk.stale(person)
        return
    await route.run(desk, person, act.args)
