"""The day of care (product §2): reminders, arrival, incidents, no-show, declarations."""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from functools import partial

import phonenumbers

from bot.domain.agency import Member, Person, Provider
from bot.domain.availability import covers
from bot.domain.booking import Request, Status, billed_price, noshow_fee
from bot.domain.errors import DoubleBooking
from bot.i18n import N_, fmt_day, fmt_day_time, fmt_window
from bot.services import appointments
from bot.services.actions import action
from bot.services.billing import charge_text, settle
from bot.services.desk import Desk
from bot.services.escalations import escalate
from bot.services.notices import Label, Lines, Localized, Notice, clock
from bot.services.ports import Timer
from bot.services.wording import described, priced

log = logging.getLogger(__name__)
UNDER_WAY = (Status.CONFIRMED, Status.IN_PROGRESS)
# A reminder that comes this late is worse than none (a restart after a long outage).
REMINDER_USEFUL_FOR = timedelta(hours=1)
# What each side is told at the start: (has a number, session begun) -> message.
PHONES = {
    (True, True): N_("Your session has begun. {name}'s phone number: {phone}."),
    (True, False): N_("To reach each other: {name}'s phone number: {phone}."),
    (False, True): N_(
        "Your session has begun. {name} has no phone number on file: "
        "contact the agency if you need to reach them."
    ),
    (False, False): N_(
        "{name} has no phone number on file: contact the agency if you need to reach them."
    ),
}
COLLIDES = N_("That time collides with another of your sessions; nothing was changed.")


async def _people(desk: Desk, request: Request) -> tuple[Member, Provider]:
    member = await desk.tx.roster.person(request.member_id)
    provider = await desk.tx.roster.person(request.provider_id or "")
    assert isinstance(member, Member) and isinstance(provider, Provider)
    return member, provider


def _phone(person: Person) -> str:
    """A phone number as people dial it (+33 6 12 34 56 78), or '' when none is on file."""
    if not person.phone:
        return ""
    number = phonenumbers.parse(person.phone, None)
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL))


# --- timers -----------------------------------------------------------------------------


async def on_timer(desk: Desk, timer: Timer) -> None:
    """Run the effect of an appointment timer; each re-checks the state, so twice is harmless."""
    if timer.request_id is None:
        return
    request = await desk.tx.requests.get(timer.request_id)
    if request.status not in UNDER_WAY or request.provider_id is None:
        return  # cancelled, escalated, settled: nothing left to do
    kind = timer.kind
    if kind in (appointments.REMIND_MEMBER, appointments.REMIND_PROVIDER):
        if desk.now - timer.due_at > REMINDER_USEFUL_FOR or desk.now >= request.start:
            log.info(
                "reminder %s for request %s skipped: %s late",
                timer.id,
                request.id,
                desk.now - timer.due_at,
            )
            return
        await _remind(desk, request, kind == appointments.REMIND_MEMBER)
    elif kind == appointments.CHECKIN and request.status is Status.CONFIRMED:
        await _checkin_prompt(desk, request)
    elif kind == appointments.START:
        if request.expected_at is not None and request.arrived_at is None:
            return  # a late provider has not begun: the numbers come with their arrival
        await share_phones(desk, request)
    elif kind == appointments.NOSHOW:
        await _noshow(desk, request)
    elif kind == appointments.DECLARE:
        await _declare_reminder(desk, request)
    elif kind == appointments.EXPIRE:
        await _expire(desk, request)


async def _remind(desk: Desk, request: Request, to_member: bool) -> None:
    member, provider = await _people(desk, request)
    what = described(desk, request)
    if to_member:
        await desk.tell(
            member,
            "Reminder: your session with {provider}, {what}.",
            provider=provider.name,
            what=what,
        )
        return
    await desk.tell(
        provider, "Reminder: your session with {member}, {what}.", member=member.name, what=what
    )


def checkin_options(request_id: int) -> list[tuple[Label, str]]:
    """The arrival prompt's options: arrived, 15 minutes late, client absent."""
    return [
        (N_("I have arrived"), action("in", request_id, "arr")),
        (N_("Late 15 min"), action("in", request_id, "late", 15)),
        (N_("Client absent"), action("in", request_id, "abs")),
    ]


async def _checkin_prompt(desk: Desk, request: Request) -> None:
    member, provider = await _people(desk, request)
    await desk.tell(
        provider,
        "Your session with {member} starts at {time} ({what}). Tell me when you "
        'arrive ("arrived"), or report "late 15", "absent".',
        checkin_options(request.id),
        member=member.name,
        time=clock(desk.local(request.start)),
        what=described(desk, request),
    )


async def share_phones(desk: Desk, request: Request, begun: bool = True) -> None:
    """At the start (or the declared arrival, if earlier) each side gets the other's number.

    `begun` False: before the start, for a member reported absent, so that they can call.
    """
    if request.phones_at is not None:
        return
    await desk.tx.requests.mark(request.id, desk.now, "phones_at", desk.now)
    member, provider = await _people(desk, request)
    for me, other in ((member, provider), (provider, member)):
        number = _phone(other)
        await desk.tell(me, PHONES[bool(number), begun], name=other.name, phone=number)


async def _declare_reminder(desk: Desk, request: Request) -> None:
    """After the end, and every day until declared: ask the provider to declare the session."""
    member, provider = await _people(desk, request)
    declared: list[tuple[Label, str]] = [(N_("Session done"), action("in", request.id, "done"))]
    await desk.tell(
        provider,
        'Please declare your session with {member} ({what}): reply "done" once it is over.',
        declared,
        member=member.name,
        what=described(desk, request),
    )
    following = desk.now + appointments.DECLARE_EVERY
    if following < request.end + desk.agency.policy.declare_within:
        await desk.tx.timers.add(appointments.DECLARE, following, request.id)


async def _expire(desk: Desk, request: Request) -> None:
    """No declaration in time: billing is cancelled and staff are told (§2.5)."""
    request = await settle(desk, request.expire(desk.now))
    member, provider = await _people(desk, request)
    what = described(desk, request)
    await desk.tell(
        provider,
        "Your session with {member} ({what}) was never declared: "
        "it has expired and will not be billed.",
        member=member.name,
        what=what,
    )
    await desk.notify_staff(
        Notice(
            "Expired: {provider} never declared the session with {member} ({what}); it is "
            "not billed.",
            {"provider": provider.name, "member": member.name, "what": what},
        )
    )


# --- what providers report ------------------------------------------------------------------


async def arrived(desk: Desk, provider: Provider, request: Request) -> None:
    """Arrival declared: under way, the no-show wait (if any) is over, numbers are shared."""
    if request.status is Status.IN_PROGRESS:
        await desk.tell(provider, "Your arrival is already noted.")
        return
    await desk.tx.requests.mark(request.id, desk.now, "arrived_at", desk.now)
    await desk.tx.timers.cancel(request.id, [appointments.NOSHOW])
    request = await desk.tx.requests.save(request.begin(desk.now))
    member, _ = await _people(desk, request)
    await desk.tell(
        provider, "Arrival noted at {time}. Have a good session!", time=clock(desk.local(desk.now))
    )
    await desk.tell(member, "{provider} has arrived.", provider=provider.name)
    await share_phones(desk, request)


async def late(desk: Desk, provider: Provider, request: Request, minutes: int | None) -> None:
    """Running late: the member is told the new arrival time."""
    if not minutes:
        await desk.tell(provider, 'How late will you be? For example: "late 15".')
        return
    base = max(request.start, desk.now)
    arrival = desk.local(base + timedelta(minutes=minutes))
    # Remembered: the session begins (numbers shared) with the arrival, and is billed from it.
    await desk.tx.requests.mark(request.id, desk.now, "expected_at", arrival)
    member, _ = await _people(desk, request)
    told: list[Notice | Localized] = [
        Notice(
            "{provider} is running late and will arrive at about {time}.",
            {"provider": provider.name, "time": clock(arrival)},
        )
    ]
    if not request.paid_by_credit:
        told.append(Notice("You only pay from their arrival."))
    await desk.notify(member, Lines(told, sep=" "))
    await desk.tell(
        provider,
        "Noted: {member} knows you will arrive at about {time}.",
        member=member.name,
        time=clock(arrival),
    )


async def modified(
    desk: Desk, provider: Provider, request: Request, hhmm: str | None, day: str | None = None
) -> None:
    """The start moves (agreed with the member), same duration; timers move with it.

    A report naming another day ("déplacé jeudi 10 décembre 9h") is a reschedule (§4.5).
    """
    if not hhmm:
        await desk.tell(provider, 'What is the new start time? For example: "moved 16:30".')
        return
    hour, minute = (int(part) for part in hhmm.split(":"))
    local = desk.local(request.start)
    if day is not None and date.fromisoformat(day) != local.date():
        start = datetime.combine(date.fromisoformat(day), time(hour, minute), tzinfo=desk.tz)
        await reschedule(desk, provider, request, start)
        return
    start = local.replace(hour=hour, minute=minute).astimezone(request.start.tzinfo)
    end = start + request.duration
    try:
        request = await desk.tx.requests.move(request.id, start, end, desk.now)
    except DoubleBooking:
        await desk.tell(provider, COLLIDES)
        return
    # The start and end moved by agreement: any lateness is absorbed, the whole session counts.
    await desk.tx.requests.mark(request.id, desk.now, "expected_at", None)
    request = await desk.tx.requests.get(request.id)
    await appointments.schedule(desk, request)
    member, _ = await _people(desk, request)
    await desk.tell(
        member,
        "{provider} has moved your session: it now starts at {time} ({what}).",
        provider=provider.name,
        time=clock(desk.local(start)),
        what=described(desk, request),
    )
    await desk.tell(
        provider, "Noted: the session now starts at {time}.", time=clock(desk.local(start))
    )


async def reschedule(
    desk: Desk, provider: Provider, request: Request, start: datetime
) -> Request | None:
    """Move an appointment to another day and time agreed with the member (§4.5).

    Only if the provider is free then (weekly hours, days off, other appointments): otherwise
    they are told why and nothing changes. The old time is freed, the timers move.
    """
    end = start + request.duration
    if request.status is not Status.CONFIRMED or request.arrived_at is not None:
        await desk.tell(provider, "This session can no longer be moved.")
        return None
    why = _not_free(desk, provider, start, end)
    if why is None:
        try:
            moved = await desk.tx.requests.move(request.id, start, end, desk.now)
        except DoubleBooking:
            why = Notice(COLLIDES)
    if why is not None:
        await desk.notify(provider, why)
        return None
    # The old day's incidents do not carry over to the new one.
    for mark in ("absent_at", "phones_at"):
        await desk.tx.requests.mark(moved.id, desk.now, mark, None)
    await appointments.schedule(desk, moved)
    member, _ = await _people(desk, moved)
    what = described(desk, moved)
    await desk.tell(
        member,
        "{provider} has moved your session, as agreed with you: {what}.",
        provider=provider.name,
        what=what,
    )
    await desk.tell(provider, "Done: {what}. The client is told.", what=what)
    return moved


def _not_free(desk: Desk, provider: Provider, start: datetime, end: datetime) -> Notice | None:
    """Why a provider cannot take a new window by their own calendar, or None when they can."""
    local_start, local_end = desk.local(start), desk.local(end)
    if start <= desk.now:
        return Notice(
            "That moment ({when}) is already past; nothing was changed.",
            {"when": partial(fmt_day_time, local_start)},
        )
    if local_start.date() in provider.unavailable or local_end.date() in provider.unavailable:
        return Notice(
            "You are off on {day}; nothing was changed.", {"day": partial(fmt_day, local_start)}
        )
    if not covers(provider.availability, provider.unavailable, local_start, local_end):
        return Notice(
            "That window ({window}) is outside your weekly hours; nothing was changed.",
            {"window": partial(fmt_window, local_start, local_end)},
        )
    return None


async def absent(desk: Desk, provider: Provider, request: Request) -> None:
    """Client absent: the member is reminded at once; the no-show comes after the wait."""
    policy = desk.agency.policy
    deadline = request.start + policy.noshow_wait
    if request.absent_at is None:
        await desk.tx.requests.mark(request.id, desk.now, "absent_at", desk.now)
        await desk.tx.timers.add(appointments.NOSHOW, max(deadline, desk.now), request.id)
    member, _ = await _people(desk, request)
    fee = noshow_fee(request.price, policy.noshow_fee_cap)
    await desk.tell(
        member,
        "{provider} is at your door for your {time} session and cannot find you. Please "
        "reply or come to the door: if you are still absent at {deadline}, the session "
        "will be billed as a no-show ({fee}).",
        provider=provider.name,
        time=clock(desk.local(request.start)),
        deadline=clock(desk.local(deadline)),
        fee=partial(charge_text, desk, request, fee),
    )
    await desk.tell(
        provider,
        "Noted. I have reminded {member}. If they are still "
        "absent at {deadline}, you may leave: I will tell you.",
        member=member.name,
        deadline=clock(desk.local(deadline)),
    )
    # Before the start, too: they can call each other at once (§2.3).
    await share_phones(desk, request, begun=False)


async def _noshow(desk: Desk, request: Request) -> None:
    if request.absent_at is None or request.arrived_at is not None:
        return
    fee = noshow_fee(request.price, desk.agency.policy.noshow_fee_cap)
    request = await settle(desk, request.mark_no_show(fee, desk.now))
    member, provider = await _people(desk, request)
    await desk.tell(
        provider,
        "{member} did not show up: you may leave. You will be paid {fee} for this session.",
        member=member.name,
        fee=priced(desk, fee),
    )
    await desk.tell(
        member,
        "{provider} waited until {time} and has left. The session is billed as a no-show: {fee}.",
        provider=provider.name,
        time=clock(desk.local(desk.now)),
        fee=partial(charge_text, desk, request, fee),
    )


async def done(desk: Desk, provider: Provider, request: Request) -> None:
    """Declared done after the end: completed and billable (charge = payout = price)."""
    if desk.now < request.end:
        await desk.tell(
            provider,
            "The session ends at {time}: declare it done after that.",
            time=clock(desk.local(request.end)),
        )
        return
    amount = billed_price(request)
    request = await settle(desk, request.complete(amount, desk.now))
    member, _ = await _people(desk, request)
    what = described(desk, request)
    await desk.tell(
        provider,
        "Thank you, session declared: {what}. You will be paid {amount}.",
        what=what,
        amount=priced(desk, amount),
    )
    await desk.tell(
        member,
        "Your session with {provider} is complete ({what}): {amount}. Thank you!",
        provider=provider.name,
        what=what,
        amount=partial(charge_text, desk, request, amount),
    )


def provider_cancel_options(request_id: int) -> list[tuple[Label, str]]:
    """Confirm or keep, before a provider's cancellation takes effect."""
    return [
        (N_("Yes, cancel the session"), action("pc", request_id, "y")),
        (N_("No, keep it"), action("pc", request_id, "n")),
    ]


async def ask_provider_cancel(desk: Desk, provider: Provider, request: Request) -> None:
    """A provider's cancellation needs a confirmation (never a bare carrier keyword)."""
    member, _ = await _people(desk, request)
    await desk.tell(
        provider,
        "Cancel your session with {member} ({what})? The client "
        "will be told at once and the agency will look for a "
        "replacement.",
        provider_cancel_options(request.id),
        member=member.name,
        what=described(desk, request),
    )


async def provider_cancels(desk: Desk, provider: Provider, request: Request) -> None:
    """The provider cancels: the member is warned, staff look for a replacement (§1.6-1.7)."""
    await desk.tx.offers.record_cancel(request.id, provider.id, desk.now)
    await appointments.drop(desk, request)
    request = await desk.tx.requests.save(request.escalate(desk.now))
    member = await desk.tx.roster.person(request.member_id)
    await desk.tell(
        member,
        "{provider} has had to cancel your session ({what}). "
        "Our team is looking for a replacement: no need to book "
        "again.",
        provider=provider.name,
        what=described(desk, request),
    )
    await desk.tell(
        provider, "Your session is cancelled; the agency is looking for a replacement."
    )
    await escalate(desk, request, "provider_cancelled", provider.id)


async def forward_during_wait(desk: Desk, member: Member, text: str) -> bool:
    """While a provider waits for an absent member, what the member writes goes to them."""
    waiting = [
        r
        for r in await desk.tx.requests.of_member(member.id, [Status.CONFIRMED])
        if r.absent_at is not None and r.arrived_at is None
    ]
    if not waiting:
        return False
    request = waiting[0]
    _, provider = await _people(desk, request)
    await desk.tell(provider, "Message from {member}: {text}", member=member.name, text=text)
    await desk.tell(member, "Passed on to {provider}.", provider=provider.name)
    return True


def open_since(desk: Desk, request: Request) -> datetime:
    """When a provider may start reporting on an appointment (the arrival prompt)."""
    return request.start - desk.agency.policy.checkin_opens
