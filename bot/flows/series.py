"""Booking a weekly series (§8, in the booking skeleton of §7): service -> providers, each with
how many occurrences they can take -> summary with the price per session and the fee ->
request sent, once, to the provider."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial

from bot.domain.agency import Member, Provider
from bot.domain.booking import Series, Status, session_price
from bot.flows.conversation import FlowState, leave, load, save
from bot.i18n import N_, fmt_day
from bot.nlu.commands import find_service
from bot.nlu.series import is_series, parse_series
from bot.services import asking
from bot.services import series as weekly
from bot.services.actions import Verb
from bot.services.desk import Desk
from bot.services.notices import Label, Lines, Localized, Notice, Plural, phrase
from bot.services.wording import priced


@dataclass
class Weekly(FlowState):
    """A weekly series being asked for: steps service, provider, confirm."""

    FLOW = Verb.SERIES
    GAVE_UP = Notice("All right, nothing was booked.")
    service: str | None = None
    weekday: int = 0  # 0 = Monday
    start: int = 0  # minutes since midnight, agency time
    end: int = 0  # may pass 1440 for a window across midnight
    first: date | None = None
    until: date | None = None
    weeks: int | None = None
    provider: str | None = None


def _draft(desk: Desk, member: Member, state: Weekly) -> Series:
    """The series as asked so far (not stored)."""
    assert state.first is not None
    return Series(
        id=0,
        member_id=member.id,
        service_id=state.service or "",
        provider_id=state.provider,
        weekday=state.weekday,
        start_min=state.start,
        end_min=state.end,
        first_day=state.first,
        until_day=state.until,
        max_count=state.weeks,
        status="pending",
        created_at=desk.now,
    )


async def start(desk: Desk, member: Member, text: str) -> bool:
    """Begin a weekly series from one message; False when the text asks for no series."""
    if not is_series(text):
        return False
    lang = desk.lang(member)
    spec = parse_series(text, desk.local(desk.now).replace(tzinfo=None), lang)
    if spec is None or spec.start is None or spec.end is None:
        await desk.tell(
            member,
            'For care every week, give one day and the hours, for example "childcare '
            'every Tuesday 6pm to 8pm", optionally "until 30 June" or "for 8 weeks".',
        )
        return True
    end = spec.end if spec.end > spec.start else spec.end + 24 * 60
    state = Weekly(
        service=find_service(text, desk.services.values()),
        weekday=spec.weekday,
        start=spec.start,
        end=end,
        first=weekly.first_day(desk, spec.weekday, spec.start),
        until=spec.until,
        weeks=spec.weeks,
    )
    if state.service is None:
        state.step = "service"
        state = await save(desk, member, state)
        await desk.tell(member, "Which service?", state.service_options(desk.services.values()))
        return True
    await _providers(desk, member, state)
    return True


def _windows(desk: Desk, draft: Series) -> list[tuple[date, tuple]]:  # type: ignore[type-arg]
    return [
        (day, (asking.at(desk, day, draft.start_min), asking.at(desk, day, draft.end_min)))
        for day in weekly.days_of(draft, weekly.horizon(desk))
    ]


async def _providers(desk: Desk, member: Member, state: Weekly) -> None:
    draft = _draft(desk, member, state)
    service = desk.services[draft.service_id]
    windows = [w for _, w in _windows(desk, draft)]
    what = partial(asking.describe_series, desk, draft, service)
    if not windows:
        await leave(desk, member, Notice("That series has no session left to book."))
        return
    found = await weekly.choices(desk, member, service.id, windows)
    if not found:
        await leave(desk, member, Notice("Sorry, no provider is free for {what}.", {"what": what}))
        return
    state.step = "provider"
    state = await save(desk, member, state)
    options: list[tuple[Label, str]] = [
        (
            phrase("{name} · {free} of {of} sessions", name=c.provider.name, free=c.free, of=c.of),
            state.act("p", c.provider.id),
        )
        for c in found
    ]
    options.append(state.give_up())
    await desk.tell(
        member,
        "{what}, from {first}: {n} sessions in the next {days} days. Who can take them:",
        options,
        what=what,
        first=partial(fmt_day, asking.at(desk, draft.first_day, draft.start_min)),
        n=len(windows),
        days=desk.agency.policy.booking_horizon.days,
    )


async def on_press(desk: Desk, member: Member, state: Weekly, args: tuple[str, ...]) -> None:
    """A service, a provider or confirm."""
    verb = args[0]
    if verb == "s" and len(args) > 1 and args[1] in desk.services:
        state.service = args[1]
        await _providers(desk, member, state)
    elif verb == "p" and len(args) > 1 and state.step == "provider":
        state.provider = args[1]
        await _summary(desk, member, state)
    elif verb == "ok" and state.step == "confirm":
        await leave(desk, member)
        await _book(desk, member, state)
    else:
        await leave(desk, member, state.GAVE_UP)


async def on_text(desk: Desk, member: Member, text: str) -> bool:
    """A typed yes/no at the summary is left to the options; a new series starts over."""
    state = await load(desk, member, Weekly)
    if state is None:
        return False
    return await start(desk, member, text)


async def _summary(desk: Desk, member: Member, state: Weekly) -> None:
    draft = _draft(desk, member, state)
    service = desk.services[draft.service_id]
    provider = await desk.tx.roster.person(str(state.provider))
    windows = _windows(desk, draft)
    first_start, first_end = windows[0][1]
    price = session_price(service.hourly_rate, first_start, first_end)
    sub = member.subscription
    if sub is not None and sub.service == service.id:
        cost = Notice("Each session uses one of your session credits: no booking fee.")
    else:
        fee = desk.agency.policy.fee_for_notice(first_start - desk.now)
        later = desk.agency.policy.fee_for_notice(timedelta(days=3650))
        cost = Notice(
            "Price per session: {price}. Booking fee per session, charged as each is "
            "created: {fee} for the first, {later} with a week's notice or more.",
            {
                "price": priced(desk, price),
                "fee": priced(desk, fee),
                "later": priced(desk, later),
            },
        )
    state.step = "confirm"
    state = await save(desk, member, state)
    until = (
        phrase("until {day}", day=partial(fmt_day, asking.at(desk, draft.until_day, 0)))
        if draft.until_day
        else phrase("for {n} weeks", n=draft.max_count)
        if draft.max_count
        else phrase("with no end date")
    )
    # The cost first, then the question: together they would not fit two SMS.
    await desk.notify(member, cost)
    options: list[tuple[Label, str]] = [
        (N_("Confirm and send"), state.act("ok")),
        state.give_up(),
    ]
    await desk.tell(
        member,
        "{what} with {provider}, from {first}, {until}. Send the request?",
        options,
        what=partial(asking.describe_series, desk, draft, service),
        provider=provider.name,
        first=partial(fmt_day, first_start),
        until=until,
    )


async def _book(desk: Desk, member: Member, state: Weekly) -> None:
    draft = _draft(desk, member, state)
    service = desk.services[draft.service_id]
    provider = await desk.tx.roster.person(str(state.provider))
    assert isinstance(provider, Provider)
    made = await weekly.book(
        desk,
        member,
        service,
        provider,
        draft.weekday,
        (draft.start_min, draft.end_min),
        draft.first_day,
        draft.until_day,
        draft.max_count,
    )
    asked = sum(1 for r in made if r.status is Status.PENDING)
    staff = sum(1 for r in made if r.status is Status.ESCALATED)
    told: list[Notice | Localized] = [
        Notice(
            "Request sent to {provider} for {what}: {n} sessions so far, more as the weeks go "
            "by. It is not guaranteed until {provider} confirms.",
            {
                "provider": provider.name,
                "what": partial(asking.describe_series, desk, draft, service),
                "n": asked,
            },
        )
    ]
    if staff:
        told.append(
            Plural(
                "{n} other session, when {provider} is not free, goes to our team, who will "
                "find someone.",
                "{n} other sessions, when {provider} is not free, go to our team, who will "
                "find someone.",
                staff,
                {"provider": provider.name},
            )
        )
    await desk.notify(member, Lines(told, sep=" "))
