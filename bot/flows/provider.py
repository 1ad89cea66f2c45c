"""What providers type or tap: answers to requests, and the day of care (product §2).

A report is about the provider's current appointment (its arrival prompt has opened and it
has not ended) or, for a move or a cancellation, their next one; when two are plausible,
the bot asks which with options rather than guess.
"""

from __future__ import annotations

from datetime import date
from functools import partial

from bot.domain.agency import Member, Provider
from bot.domain.booking import Request
from bot.i18n import fmt_day_time
from bot.nlu.replies import Reply, parse_reply
from bot.services import cancellations, dayof
from bot.services.actions import action
from bot.services.booking import answer_offer
from bot.services.desk import Desk
from bot.services.notices import Label
from bot.services.wording import described

# Intent name <-> short code in packed actions.
CODES = {
    "arrived": "arr",
    "late": "late",
    "modified": "mod",
    "absent": "abs",
    "client_cancel": "cc",
    "provider_cancel": "pc",
    "done": "done",
}
INTENTS = {code: intent for intent, code in CODES.items()}
LOOKS_AHEAD = ("modified", "provider_cancel")


async def on_text(desk: Desk, provider: Provider, text: str) -> bool:
    """A typed reply ('OUI', 'retard 15', 'terminé'); False when it is none of these."""
    # Naive agency time: a "moved" reply naming a day is read against today's date.
    reply = parse_reply(text, desk.lang(provider), desk.local(desk.now).replace(tzinfo=None))
    if reply.intent in ("confirm", "decline"):
        await _answer(desk, provider, reply.intent == "confirm")
        return True
    if reply.intent in CODES:
        await _report(desk, provider, reply)
        return True
    return False


async def _answer(desk: Desk, provider: Provider, accept: bool) -> None:
    offers = await desk.tx.offers.open_for(provider.id)
    if not offers:
        await desk.tell(provider, "No request is waiting for your answer.")
    elif len(offers) == 1:
        await answer_offer(desk, provider, offers[0], accept)
    else:
        verb = "y" if accept else "n"
        options: list[tuple[Label, str]] = []
        for offer in offers:
            request = await desk.tx.requests.get(offer.request_id)
            options.append((described(desk, request), action("oa", offer.id, verb)))
        await desk.tell(provider, "Several requests are waiting. Which one do you mean?", options)


async def on_answer(desk: Desk, provider: Provider, offer_id: str, verb: str) -> None:
    """A tapped Yes/No on a request (or its number on SMS)."""
    offer = await desk.tx.offers.get(int(offer_id)) if offer_id.isdigit() else None
    if offer is None or offer.provider_id != provider.id or verb not in ("y", "n"):
        await desk.stale(provider)
        return
    await answer_offer(desk, provider, offer, verb == "y")


def _value(reply: Reply) -> str:
    if reply.minutes is not None:
        return str(reply.minutes)
    if not reply.time:
        return ""
    # A move to another day packs it first: YYYYMMDDHHMM, else HHMM.
    return (reply.date or "").replace("-", "") + reply.time.replace(":", "")


async def _report(desk: Desk, provider: Provider, reply: Reply) -> None:
    """Find the appointment a report is about, or ask which one."""
    held = await desk.tx.requests.of_provider(provider.id, dayof.UNDER_WAY)
    if reply.intent == "done":
        plausible = [r for r in held if r.start <= desk.now]
    else:
        plausible = [r for r in held if dayof.open_since(desk, r) <= desk.now < r.end]
        if not plausible and reply.intent in LOOKS_AHEAD:
            plausible = [r for r in held if r.start > desk.now]
    if len(plausible) == 1:
        await apply(desk, provider, plausible[0], reply.intent, _value(reply))
        return
    if not plausible:
        upcoming = [r for r in held if r.start > desk.now]
        if upcoming:
            await desk.tell(
                provider,
                "Your next session starts {when}; you can report on it from {opens}.",
                when=partial(fmt_day_time, desk.local(upcoming[0].start)),
                opens=partial(fmt_day_time, desk.local(dayof.open_since(desk, upcoming[0]))),
            )
        else:
            await desk.tell(provider, "You have no session under way to report on.")
        return
    code, value = CODES[reply.intent], _value(reply)
    options: list[tuple[Label, str]] = [
        (described(desk, r), action("in", r.id, code, *([value] if value else [])))
        for r in plausible
    ]
    await desk.tell(provider, "Which session is this about?", options)


async def on_report(desk: Desk, provider: Provider, args: tuple[str, ...]) -> None:
    """A tapped report ('in:<request>:<code>[:<value>]'), from a prompt or a 'which one?'."""
    request = await _own(desk, provider, args[0] if args else "")
    intent = INTENTS.get(args[1]) if len(args) > 1 else None
    if request is None or intent is None or request.status not in dayof.UNDER_WAY:
        await desk.stale(provider)
        return
    await apply(desk, provider, request, intent, args[2] if len(args) > 2 else "")


async def _own(desk: Desk, provider: Provider, request_id: str) -> Request | None:
    """A request by id, only if this provider holds it (no acting on someone else's)."""
    if not request_id.isdigit():
        return None
    try:
        request = await desk.tx.requests.get(int(request_id))
    except LookupError:
        return None
    return request if request.provider_id == provider.id else None


async def apply(desk: Desk, provider: Provider, request: Request, intent: str, value: str) -> None:
    """Carry out one report on one appointment."""
    if intent == "arrived":
        await dayof.arrived(desk, provider, request)
    elif intent == "late":
        await dayof.late(desk, provider, request, int(value) if value.isdigit() else None)
    elif intent == "modified":
        await dayof.modified(desk, provider, request, *_unpack_move(value))
    elif intent == "absent":
        await dayof.absent(desk, provider, request)
    elif intent == "client_cancel":
        member = await desk.tx.roster.person(request.member_id)
        assert isinstance(member, Member)
        await cancellations.cancel(desk, member, [request], reported_by=provider)
    elif intent == "provider_cancel":
        await dayof.ask_provider_cancel(desk, provider, request)
    elif intent == "done":
        await dayof.done(desk, provider, request)


def _unpack_move(value: str) -> tuple[str | None, str | None]:
    """'HHMM' or 'YYYYMMDDHHMM' (from _value, or a tapped option) as ('HH:MM', 'YYYY-MM-DD')."""
    if not value.isdigit() or len(value) not in (3, 4, 12):
        return None, None
    day, clock = (value[:8], value[8:]) if len(value) == 12 else (None, value)
    try:
        iso = date(int(day[:4]), int(day[4:6]), int(day[6:])).isoformat() if day else None
    except ValueError:
        return None, None  # a forged or garbled option: ask again rather than guess
    return f"{clock[:-2]}:{clock[-2:]}", iso


async def on_cancel_confirmation(desk: Desk, provider: Provider, args: tuple[str, ...]) -> None:
    """'pc:<request>:y|n' - the provider confirms or withdraws their cancellation."""
    request = await _own(desk, provider, args[0] if args else "")
    if request is None or request.status not in dayof.UNDER_WAY or len(args) < 2:
        await desk.stale(provider)
    elif args[1] == "y":
        await dayof.provider_cancels(desk, provider, request)
    else:
        await desk.tell(provider, "All right, the session is kept.")
