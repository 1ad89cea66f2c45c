"""Booking (product §1, skeleton §7): service -> window -> provider -> summary -> sent."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial

from bot.domain.agency import Member, Provider
from bot.domain.booking import NoticeProblem, check_window, session_price
from bot.domain.errors import DoubleBooking
from bot.domain.ranking import Candidate
from bot.flows.conversation import FlowState, leave, load, save
from bot.i18n import N_, fmt_day, fmt_day_time, fmt_hours, fmt_window, tr
from bot.nlu.commands import find_service, parse_info, wants_booking
from bot.nlu.replies import parse_reply
from bot.nlu.when import When, WhenError, parse_when
from bot.services.actions import Verb
from bot.services.booking import credit_available, leave_to_staff, send_request
from bot.services.desk import Desk
from bot.services.matching import Wanted, available_providers, partly_available
from bot.services.notices import Label, Lines, Localized, Notice
from bot.services.ports import UnitOfWork
from bot.services.wording import priced, spans_text

BIO_SHORT = 48
Day = date  # the state's field `date` (its stored name) hides the type inside the class


@dataclass
class Booking(FlowState):
    """A booking under way: steps service, window, provider (or nobody), confirm."""

    FLOW = Verb.BOOK
    GAVE_UP = Notice("All right, nothing was booked.")
    service: str | None = None
    date: Day | None = None  # the day named, kept when only hours follow
    start: datetime | None = None
    end: datetime | None = None
    cands: list[str] = field(default_factory=list)  # the providers offered, best first
    provider: str | None = None  # the one chosen


async def start(desk: Desk, member: Member, text: str) -> bool:
    """Begin a booking from free text; False when the text is not about booking."""
    service_id = find_service(text, desk.services.values())
    when = _parse(desk, member, text, None)
    if service_id is None and when is None and not wants_booking(text):
        return False
    state = Booking(service=service_id)
    if service_id is None:
        if when is not None:
            _keep_window(desk, state, when)
        await _ask_service(desk, member, state)
        return True
    if when is None:
        await _ask_window(desk, member, state)
        return True
    await _take_window(desk, member, state, when)
    return True


async def begin(desk: Desk, member: Member) -> None:
    """Begin a booking from the menu or /book."""
    await _ask_service(desk, member, Booking())


async def on_text(desk: Desk, member: Member, text: str) -> bool:
    """Continue a booking with typed text; False when the member is not booking."""
    state = await load(desk, member, Booking)
    if state is None:
        return False
    step = state.step
    if step == "window":
        when = _parse(desk, member, text, state.date)
        if when is None:
            await _ask_window(desk, member, state, misunderstood=True)
        else:
            await _take_window(desk, member, state, when)
        return True
    if step == "provider" and (wanted := parse_info(text)) is not None:
        await _show_profile(desk, member, state, wanted)
        return True
    if step == "confirm":
        intent = parse_reply(text, desk.lang(member)).intent
        if intent in ("confirm", "decline"):
            await _finish(desk, member, state, send=intent == "confirm")
            return True
    # Something new ("plutôt samedi", "ménage demain") restarts the booking with it.
    if await start(desk, member, text):
        return True
    await _repeat(desk, member, state)
    return True


async def on_press(desk: Desk, member: Member, state: Booking, args: tuple[str, ...]) -> None:
    """A tapped option (or its number on SMS) of the booking flow."""
    choice, rest = args[0], args[1:]
    if choice == "s" and rest and rest[0] in desk.services:
        state.service = rest[0]
        if state.start is not None:
            await _offer_providers(desk, member, state)
        else:
            await _ask_window(desk, member, state)
    elif choice == "p" and rest:
        await _summary(desk, member, state, rest[0])
    elif choice == "ok":
        await _finish(desk, member, state, send=True)
    elif choice == "staff":
        await _leave_to_staff(desk, member, state)
    elif choice == "w":
        await _ask_window(desk, member, state)
    else:
        await desk.stale(member)


def _parse(desk: Desk, member: Member, text: str, day: date | None) -> When | None:
    """Read a window; a day already given earlier is used when the text names only hours."""
    now = desk.local(desk.now).replace(tzinfo=None)
    lang = desk.lang(member)
    # A newly named day wins; the day given earlier only fills in when the text has none.
    attempts = [text, f"{day.isoformat()} {text}"] if day else [text]
    for attempt in attempts:
        try:
            return parse_when(attempt, now, lang)
        except WhenError:
            continue
    return None


def _keep_window(desk: Desk, state: Booking, when: When) -> None:
    state.date = when.date
    if when.start is not None and when.end is not None:
        state.start = when.start.replace(tzinfo=desk.tz)
        state.end = when.end.replace(tzinfo=desk.tz)


def _window(state: Booking) -> tuple[datetime, datetime]:
    assert state.start is not None and state.end is not None
    return state.start, state.end


async def _ask_service(desk: Desk, member: Member, state: Booking) -> None:
    state.step = "service"
    state = await save(desk, member, state)
    await desk.tell(
        member, "Which service do you need?", state.service_options(desk.services.values())
    )


async def _ask_window(
    desk: Desk,
    member: Member,
    state: Booking,
    *,
    misunderstood: bool = False,
    problem: Notice | None = None,
) -> None:
    state.step = "window"
    state.start = state.end = None
    state = await save(desk, member, state)
    lines: list[Notice | Localized] = []
    if problem:
        lines.append(problem)
    elif misunderstood:
        lines.append(Notice("Sorry, I did not understand that date."))
    if state.date and not problem:
        day = datetime.combine(state.date, datetime.min.time())
        lines.append(
            Notice(
                'From what time to what time on {day}? For example: "2pm to 6pm".',
                {"day": partial(fmt_day, day)},
            )
        )
    else:
        lines.append(
            Notice(
                "When do you need care? Give the day and the hours, for example: "
                '"tomorrow 2pm to 6pm".'
            )
        )
    await desk.notify(member, Lines(lines, sep=" "))


async def _take_window(desk: Desk, member: Member, state: Booking, when: When) -> None:
    """Check a parsed window against the notice rules, then list the providers."""
    _keep_window(desk, state, when)
    if state.start is None:
        await _ask_window(desk, member, state)
        return
    start, end = _window(state)
    problem = check_window(start, end, desk.now, desk.agency.policy)
    if problem is not None:
        state.date = None
        await _ask_window(desk, member, state, problem=_notice_text(desk, problem))
        return
    await _offer_providers(desk, member, state)


def _notice_text(desk: Desk, problem: NoticeProblem) -> Notice:
    policy = desk.agency.policy
    if problem is NoticeProblem.TOO_SOON:
        earliest = desk.local(desk.now + policy.min_notice)
        return Notice(
            "Care must be booked at least {hours} in advance, so it can start "
            "{earliest} at the earliest.",
            {
                "hours": partial(fmt_hours, int(policy.min_notice.total_seconds() // 60)),
                "earliest": partial(fmt_day_time, earliest),
            },
        )
    if problem is NoticeProblem.TOO_FAR:
        return Notice(
            "Care can be booked at most {days} days ahead.", {"days": policy.max_advance.days}
        )
    return Notice("The end must come after the start.")


async def _offer_providers(desk: Desk, member: Member, state: Booking) -> None:
    """The reading of the window, then the ranked available providers as options."""
    if state.service is None:
        await _ask_service(desk, member, state)
        return
    start, end = _window(state)
    service = desk.services[state.service]

    def reading_of(lang: str) -> str:
        return f"{service.label(lang)}: {fmt_window(desk.local(start), desk.local(end), lang)}"

    reading: list[Notice | Localized] = [reading_of]
    wanted = Wanted(service.id, start, end)
    candidates = await available_providers(desk, member.id, wanted)
    state.cands = [c.provider.id for c in candidates]
    partly = await partly_available(desk, wanted)
    if partly:
        # Near misses help the member pick another time; they are not bookable for this one.
        def who(lang: str) -> str:
            return ", ".join(f"{p.name} ({spans_text(spans, lang)})" for p, spans in partly)

        reading.append(Notice("Free for part of this window only: {who}.", {"who": who}))
    if not candidates:
        state.step = "nobody"
        state = await save(desk, member, state)
        fee = desk.agency.policy.fee_for_notice(start - desk.now)
        nobody = Notice(
            "Nobody is available for this window. Our team can look for someone for you "
            "(booking fee {fee}, credited back if nobody is found), or you can choose "
            "another time.",
            {"fee": priced(desk, fee)},
        )
        options: list[tuple[Label, str]] = [
            (N_("Leave it to the team"), state.act("staff")),
            (N_("Another time"), state.act("w")),
            state.give_up(),
        ]
        await desk.notify(member, Lines([*reading, nobody], options))
        return
    state.step = "provider"
    state = await save(desk, member, state)
    available = Notice(
        'Available, best match first. Choose your first choice ("info 1" shows a full profile):'
    )
    await desk.notify(member, Lines([*reading, available], _provider_options(state, candidates)))


def _provider_options(state: Booking, candidates: list[Candidate]) -> list[tuple[Label, str]]:
    options: list[tuple[Label, str]] = [
        (partial(_short_profile, c.provider, c.had_before), state.act("p", c.provider.id))
        for c in candidates
    ]
    options.append(state.give_up())
    return options


def _short_profile(provider: Provider, known: bool, lang: str) -> str:
    parts = [provider.name]
    if provider.rating is not None:
        parts.append(f"★{provider.rating:.1f}")
    bio = provider.bio.get(lang) or next(iter(provider.bio.values()), "")
    if known:
        parts.append(tr(lang, "already came to you"))
    elif bio:
        # A long bio ends at a word ("info N" shows it whole), never inside one.
        short = bio[:BIO_SHORT].rsplit(" ", 1)[0].rstrip(" ,;:.-")
        parts.append(bio if len(bio) <= BIO_SHORT or " " not in bio[:BIO_SHORT] else short + "…")
    return " · ".join(parts)


async def _candidates(tx: UnitOfWork, state: Booking) -> list[Provider]:
    people = [await tx.roster.person(pid) for pid in state.cands]
    return [p for p in people if isinstance(p, Provider)]


async def _show_profile(desk: Desk, member: Member, state: Booking, wanted: str) -> None:
    """'info 2': the full profile, with the same options so the member can go on choosing."""
    providers = await _candidates(desk.tx, state)
    chosen = None
    if wanted.isdigit() and 1 <= int(wanted) <= len(providers):
        chosen = providers[int(wanted) - 1]
    else:
        named = [p for p in providers if wanted in p.name.casefold()]
        chosen = named[0] if len(named) == 1 else None
    if chosen is None:
        await _repeat(desk, member, state)
        return
    start, end = _window(state)
    candidates = await available_providers(
        desk, member.id, Wanted(state.service or "", start, end)
    )
    profile = partial(_profile, desk, chosen)
    await desk.notify(member, Lines([profile], _provider_options(state, candidates)))


def _profile(desk: Desk, chosen: Provider, lang: str) -> str:
    """A provider's name, rating, services and bio, one per line."""
    services = ", ".join(
        desk.services[s].label(lang) for s in chosen.services if s in desk.services
    )
    lines = [chosen.name]
    if chosen.rating is not None:
        lines.append(tr(lang, "Rating: {rating}/5", rating=f"{chosen.rating:.1f}"))
    lines.append(tr(lang, "Services: {services}", services=services))
    bio = chosen.bio.get(lang) or next(iter(chosen.bio.values()), "")
    if bio:
        lines.append(bio)
    return "\n".join(lines)


async def _summary(desk: Desk, member: Member, state: Booking, provider_id: str) -> None:
    """Price and fee before anything is charged, with confirm / give up."""
    if provider_id not in state.cands or state.service is None:
        await desk.stale(member)
        return
    provider = await desk.tx.roster.person(provider_id)
    start, end = _window(state)
    service = desk.services[state.service]
    price = session_price(service.hourly_rate, start, end)
    fee = desk.agency.policy.fee_for_notice(start - desk.now)
    state.step, state.provider = "confirm", provider_id
    state = await save(desk, member, state)
    head = Notice(
        "{service} with {provider}, {window} ({hours}).",
        {
            "service": service.label,
            "provider": provider.name,
            "window": partial(fmt_window, desk.local(start), desk.local(end)),
            "hours": partial(fmt_hours, int((end - start).total_seconds() // 60)),
        },
    )
    assert isinstance(member, Member)
    if await credit_available(desk, member, service.id):
        cost = Notice("Paid with 1 session credit from your subscription: no booking fee.")
    else:
        cost = Notice(
            "Session price: {price}.\nBooking fee: {fee}, charged when the request "
            "is sent; it is credited back to your balance if nobody can be found.",
            {"price": priced(desk, price), "fee": priced(desk, fee)},
        )
    options: list[tuple[Label, str]] = [
        (N_("Confirm and send"), state.act("ok")),
        state.give_up(),
    ]
    await desk.notify(member, Lines([head, cost, Notice("Send the request?")], options))


async def _finish(desk: Desk, member: Member, state: Booking, *, send: bool) -> None:
    if not send or state.step != "confirm" or state.provider is None or state.service is None:
        await leave(desk, member, state.GAVE_UP)
        return
    provider = await desk.tx.roster.person(state.provider)
    start, end = _window(state)
    problem = check_window(start, end, desk.now, desk.agency.policy)
    if problem is not None:  # the member took long enough for the notice to run out
        await _ask_window(desk, member, state, problem=_notice_text(desk, problem))
        return
    assert isinstance(provider, Provider)
    try:
        await send_request(desk, member, desk.services[state.service], start, end, provider)
    except DoubleBooking:
        await desk.tell(
            member,
            "Sorry, {provider} was just booked by someone else for this time.",
            provider=provider.name,
        )
        await _offer_providers(desk, member, state)
        return
    await leave(desk, member)


async def _leave_to_staff(desk: Desk, member: Member, state: Booking) -> None:
    if state.step != "nobody" or state.service is None:
        await desk.stale(member)
        return
    start, end = _window(state)
    await leave_to_staff(desk, member, desk.services[state.service], start, end)
    await leave(desk, member)


async def _repeat(desk: Desk, member: Member, state: Booking) -> None:
    """Say the current step again when the answer did not fit it."""
    step = state.step
    if step == "service":
        await _ask_service(desk, member, state)
    elif step in ("provider", "nobody"):
        await desk.tell(member, "Please choose one of the options.")
        await _offer_providers(desk, member, state)
    elif step == "confirm" and state.provider is not None:
        await _summary(desk, member, state, state.provider)
    else:
        await _ask_window(desk, member, state, misunderstood=True)
