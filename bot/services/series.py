"""Weekly series (§8): who can take them, creating occurrences up to the horizon, rolling it.

Each occurrence is a request of its own (reminders, check-in, billing as in §2). The provider
is asked once, on the first occurrence; their answer applies to every occurrence waiting for
it (bot.services.booking). A daily timer creates the occurrences that enter the booking
horizon; the database refuses an occurrence made twice, so restarts never double one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from bot.domain.agency import Member, Provider, Service
from bot.domain.availability import covers
from bot.domain.booking import Request, Series, Status, session_price
from bot.domain.errors import DoubleBooking, SeriesDayTaken
from bot.services import appointments
from bot.services.asking import ask_series, at
from bot.services.booking import charge_fee
from bot.services.desk import Desk
from bot.services.escalations import escalate
from bot.services.matching import SHOWN
from bot.services.ports import NewRequest
from bot.services.wording import described

SERIES_ROLL = "series_roll"
MAX_WEEKS = 104  # a series without an end still has one: two years, then it is booked again


@dataclass(frozen=True)
class Choice:
    """A provider for a series and how many of its occurrences in the horizon they can take."""

    provider: Provider
    free: int
    of: int


def first_day(desk: Desk, weekday: int, start_min: int) -> date:
    """The first such weekday whose start leaves the minimum notice."""
    today = desk.local(desk.now).date()
    day = today + timedelta(days=(weekday - today.weekday()) % 7)
    while at(desk, day, start_min) < desk.now + desk.agency.policy.min_notice:
        day += timedelta(days=7)
    return day


def horizon(desk: Desk) -> date:
    """The last day occurrences exist for now (booking_horizon ahead)."""
    return desk.local(desk.now + desk.agency.policy.booking_horizon).date()


def days_of(series: Series, through: date) -> list[date]:
    """The series' days up to `through`, within its end (a last day or a number of weeks)."""
    days: list[date] = []
    day = series.first_day
    last = series.until_day or series.first_day + timedelta(weeks=MAX_WEEKS)
    while day <= min(through, last):
        if series.max_count is not None and len(days) >= series.max_count:
            break
        days.append(day)
        day += timedelta(weeks=1)
    return days


def is_over(series: Series, through: date) -> bool:
    """Whether every occurrence the series will ever have falls on or before `through`."""
    last = series.until_day or series.first_day + timedelta(weeks=MAX_WEEKS)
    if series.max_count is not None:
        last = min(last, series.first_day + timedelta(weeks=series.max_count - 1))
    return last <= through


async def choices(
    desk: Desk, member: Member, service_id: str, windows: list[tuple[datetime, datetime]]
) -> list[Choice]:
    """Providers of the service, those free for the most occurrences first (§8.1)."""
    busy = [await desk.tx.availability.busy(start, end) for start, end in windows]
    known = await desk.tx.availability.had_before(member.id)
    found = []
    for provider in await desk.tx.roster.providers_offering(service_id):
        free = sum(
            1
            for (start, end), taken in zip(windows, busy, strict=True)
            if provider.id not in taken
            and covers(
                provider.availability, provider.unavailable, desk.local(start), desk.local(end)
            )
        )
        if free:
            found.append(Choice(provider, free, len(windows)))
    found.sort(
        key=lambda c: (
            -c.free,
            c.provider.id not in known,
            -(c.provider.rating if c.provider.rating is not None else -1.0),
            c.provider.id,
        )
    )
    return found[:SHOWN]


async def _occurrence(
    desk: Desk, series: Series, member: Member, service: Service, day: date, status: Status
) -> Request | None:
    """Create one occurrence; with staff when the provider cannot take it; None if it exists."""
    start, end = at(desk, day, series.start_min), at(desk, day, series.end_min)
    sub = member.subscription
    by_credit = sub is not None and sub.service == service.id  # weekly subscriptions (§8.4)
    fee = Decimal(0) if by_credit else desk.agency.policy.fee_for_notice(start - desk.now)
    provider = await desk.tx.roster.person(series.provider_id) if series.provider_id else None
    free = isinstance(provider, Provider) and covers(
        provider.availability, provider.unavailable, desk.local(start), desk.local(end)
    )

    async def add(status: Status, provider_id: str | None) -> Request:
        return await desk.tx.requests.add(
            NewRequest(
                member_id=member.id,
                service_id=service.id,
                start=start,
                end=end,
                status=status,
                provider_id=provider_id,
                price=session_price(service.hourly_rate, start, end),
                fee=fee,
                paid_by_credit=by_credit,
                series_id=series.id,
                series_day=day,
            ),
            desk.now,
        )

    try:
        try:
            request = await add(
                status if free else Status.ESCALATED, series.provider_id if free else None
            )
        except DoubleBooking:
            free = False
            request = await add(Status.ESCALATED, None)
    except SeriesDayTaken:
        return None
    await charge_fee(desk, member, request)
    if not free:
        # Never dropped silently: that occurrence goes to staff (§8.3).
        reason = "series_clash" if series.provider_id else "no_provider"
        await escalate(desk, request, reason, series.provider_id)
    elif request.status is Status.CONFIRMED:
        await appointments.schedule(desk, request)
    return request


async def book(
    desk: Desk,
    member: Member,
    service: Service,
    provider: Provider,
    weekday: int,
    window: tuple[int, int],
    first: date,
    until: date | None,
    weeks: int | None,
) -> list[Request]:
    """Record a series, create its occurrences up to the horizon and ask the provider once."""
    series = await desk.tx.series.add(
        Series(
            id=0,
            member_id=member.id,
            service_id=service.id,
            provider_id=provider.id,
            weekday=weekday,
            start_min=window[0],
            end_min=window[1],
            first_day=first,
            until_day=until,
            max_count=weeks,
            status="pending",
            created_at=desk.now,
        )
    )
    made = []
    for day in days_of(series, horizon(desk)):
        request = await _occurrence(desk, series, member, service, day, Status.PENDING)
        if request is not None:
            made.append(request)
    asked = [r for r in made if r.status is Status.PENDING]
    if asked:
        await ask_series(desk, series, member, service, provider, asked)
    else:
        await desk.tx.series.set_status(series.id, "active")
    await ensure_roll(desk)
    return made


async def ensure_roll(desk: Desk) -> None:
    """Arm the daily roll of the horizon once per database."""
    if not await desk.tx.timers.has_pending(SERIES_ROLL):
        await desk.tx.timers.add(SERIES_ROLL, _next_midnight(desk, desk.now))


def _next_midnight(desk: Desk, after: datetime) -> datetime:
    local = desk.local(after)
    return datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=desk.tz)


async def roll(desk: Desk, due_at: datetime) -> int:
    """Create the occurrences that entered the horizon since the last roll; re-arm. Returns
    how many were created (each occurrence exists once, whatever the restarts)."""
    created = 0
    through = horizon(desk)
    # Only the days that entered the horizon since the roll before this one (due a day
    # earlier; a late wake-up after downtime covers every day it missed) can need a new
    # occurrence: the series on other weekdays are left alone.
    since = desk.local(due_at - timedelta(days=1) + desk.agency.policy.booking_horizon).date()
    span = (through - since).days
    weekdays = (
        set(range(7))
        if span >= 7
        else {(since + timedelta(days=i + 1)).weekday() for i in range(max(span, 0))}
    )
    for series in await desk.tx.series.live():
        if series.status != "active":
            continue  # still waiting for the provider's answer
        if series.weekday in weekdays:
            created += await extend(desk, series, through)
        elif is_over(series, through):
            await desk.tx.series.set_status(series.id, "ended")
    await desk.tx.timers.add(SERIES_ROLL, _next_midnight(desk, max(due_at, desk.now)))
    return created


async def extend(desk: Desk, series: Series, through: date) -> int:
    """Create a series' missing occurrences up to `through`; end it once all exist."""
    member = await desk.tx.roster.person(series.member_id)
    service = desk.services[series.service_id]
    assert isinstance(member, Member)
    have = await desk.tx.series.days(series.id)
    created = 0
    for day in days_of(series, through):
        if day in have or at(desk, day, series.start_min) <= desk.now:
            continue
        request = await _occurrence(desk, series, member, service, day, Status.CONFIRMED)
        if request is None:
            continue
        created += 1
        if request.status is Status.ESCALATED:
            await _tell_handed_to_staff(desk, series, member, request)
    if is_over(series, through):
        await desk.tx.series.set_status(series.id, "ended")
    return created


async def _tell_handed_to_staff(
    desk: Desk, series: Series, member: Member, request: Request
) -> None:
    """A session the roll added went to staff (the provider's day off, a clash, no provider
    since they declined): the member hears it from us, not first from a stranger's call."""
    if series.provider_id is None:
        await desk.tell(
            member,
            "Your weekly session ({what}) has no provider yet. Our team is finding someone "
            "for you: no need to book again.",
            what=described(desk, request),
        )
        return
    provider = await desk.tx.roster.person(series.provider_id)
    await desk.tell(
        member,
        "{provider} cannot take your weekly session ({what}). Our team is finding "
        "someone for that day: no need to book again.",
        provider=provider.name,
        what=described(desk, request),
    )


async def end_series(desk: Desk, series_id: int) -> None:
    """No more occurrences will be created for this series."""
    await desk.tx.series.set_status(series_id, "ended")
