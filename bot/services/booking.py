"""Booking use cases: send a request, take the answer, staff's offers, requests left unfilled."""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal
from functools import partial

from bot.domain.agency import Member, Person, Provider, Service
from bot.domain.booking import Request, Status, answer_deadline, session_price
from bot.domain.errors import NotFound
from bot.i18n import N_, fmt_day_time, tr
from bot.services import appointments
from bot.services.actions import action
from bot.services.asking import ANSWER_DEADLINE, ask_series
from bot.services.desk import Desk
from bot.services.escalations import claim, escalate, escalate_reassured, tell_other_staff
from bot.services.notices import Label, Notice, clock
from bot.services.ports import LedgerEntry, NewRequest, Offer
from bot.services.wording import describe, described, priced

log = logging.getLogger(__name__)


async def credit_available(desk: Desk, member: Member, service_id: str) -> bool:
    """Whether a session of this service can be paid with a credit not already spoken for."""
    sub = member.subscription
    if sub is None or sub.service != service_id:
        return False
    _, credits = await desk.tx.ledger.balance(member.id)
    return credits - await desk.tx.requests.open_on_credit(member.id) >= 1


async def charge_fee(desk: Desk, member: Member, request: Request) -> None:
    """Charge the scheduling fee, paid first from the member's balance (credited-back fees)."""
    if request.fee <= 0:
        return
    balance, _ = await desk.tx.ledger.balance(member.id)
    from_balance = min(max(balance, Decimal(0)), request.fee)
    fee = LedgerEntry.member_side(
        request, desk.now, "scheduling_fee", request.fee, balance_delta=-from_balance
    )
    await desk.tx.ledger.add(fee)


async def create_request(
    desk: Desk,
    member: Member,
    service: Service,
    start: datetime,
    end: datetime,
    provider_id: str | None,
) -> Request:
    """Record a request (pending with a provider, or escalated without one) and charge its fee."""
    # A subscription session is paid with a credit and carries no scheduling fee (§5).
    by_credit = await credit_available(desk, member, service.id)
    fee = Decimal(0) if by_credit else desk.agency.policy.fee_for_notice(start - desk.now)
    request = await desk.tx.requests.add(
        NewRequest(
            member_id=member.id,
            service_id=service.id,
            start=start,
            end=end,
            status=Status.PENDING if provider_id else Status.ESCALATED,
            provider_id=provider_id,
            price=session_price(service.hourly_rate, start, end),
            fee=fee,
            paid_by_credit=by_credit,
        ),
        desk.now,
    )
    await charge_fee(desk, member, request)
    return request


async def ask_provider(desk: Desk, request: Request, provider: Provider) -> Offer:
    """Put a request to a provider with Yes/No options and an answer deadline timer."""
    deadline = answer_deadline(desk.now, request.start, desk.agency.policy, desk.tz)
    offer = await desk.tx.offers.add(request.id, provider.id, desk.now, deadline)
    await desk.tx.timers.add(ANSWER_DEADLINE, deadline, request.id, offer.id)
    member = await desk.tx.roster.person(request.member_id)
    await desk.tell(
        provider,
        "New request from {member}: {what}. Can you take it? Please answer before {deadline}.",
        offer_options(offer.id),
        member=member.name,
        what=described(desk, request),
        deadline=partial(fmt_day_time, desk.local(deadline)),
    )
    return offer


def offer_options(offer_id: int) -> list[tuple[Label, str]]:
    """The Yes / No options of a request put to a provider."""
    return [
        (N_("Yes, I confirm"), action("oa", offer_id, "y")),
        (N_("No, I decline"), action("oa", offer_id, "n")),
    ]


async def send_request(
    desk: Desk,
    member: Member,
    service: Service,
    start: datetime,
    end: datetime,
    provider: Provider,
) -> Request:
    """Send a member's request to their first choice (raises DoubleBooking if just taken)."""
    request = await create_request(desk, member, service, start, end, provider.id)
    await ask_provider(desk, request, provider)
    await desk.tell(
        member,
        "Request sent to {provider}: {what}. It is not guaranteed until {provider} "
        "confirms; I will tell you as soon as they answer.",
        provider=provider.name,
        what=described(desk, request),
    )
    return request


async def leave_to_staff(
    desk: Desk, member: Member, service: Service, start: datetime, end: datetime
) -> Request:
    """No provider is free: the request goes to staff, who look for someone."""
    request = await create_request(desk, member, service, start, end, None)
    await escalate(desk, request, "no_provider", None)
    await desk.tell(
        member,
        "Your request ({what}) is with our team: they will look for someone and get back to you.",
        what=described(desk, request),
    )
    return request


async def answer_offer(desk: Desk, provider: Provider, offer: Offer, accept: bool) -> None:
    """A provider confirms or declines a request put to them."""
    if not await desk.tx.offers.answer(offer.id, "confirm" if accept else "decline", desk.now):
        await desk.tell(provider, "You have already answered this request.")
        return
    await desk.tx.timers.cancel(offer.request_id, [ANSWER_DEADLINE])
    request = await desk.tx.requests.get(offer.request_id)
    member = await desk.tx.roster.person(request.member_id)
    if accept:
        request = await desk.tx.requests.save(request.confirm(desk.now))
        await appointments.schedule(desk, request)
        weekly = request.series_id is not None
        if request.series_id is not None:
            await _confirm_rest_of_series(desk, request.series_id, provider.id)

        def what(lang: str) -> str:
            text = describe(desk, request, lang)
            # One answer for the series (§8.2): say that it covers the weeks after too.
            return tr(lang, "{what}, and every week after", what=text) if weekly else text

        await desk.tell(
            provider,
            "Thank you! Booking confirmed: {what}, for {member}.",
            what=what,
            member=member.name,
        )
        await desk.tell(
            member,
            "Good news: {provider} confirmed your booking: {what}.",
            provider=provider.name,
            what=what,
        )
        return
    await desk.tell(provider, "Noted, thank you. The request is withdrawn.")
    await provider_unavailable(desk, request, provider, "declined")


async def _confirm_rest_of_series(desk: Desk, series_id: int, provider_id: str) -> None:
    """One answer for the whole series (§8.2): every occurrence waiting for it is confirmed."""
    for other in await desk.tx.series.occurrences(series_id):
        if other.status is Status.PENDING and other.provider_id == provider_id:
            other = await desk.tx.requests.save(other.confirm(desk.now))
            await appointments.schedule(desk, other)
    await desk.tx.series.set_status(series_id, "active")


async def _rest_of_series_to_staff(
    desk: Desk, series_id: int, provider: Provider, asked: int
) -> list[Request]:
    """The provider said no to a series: each later occurrence waiting for them goes to staff
    with the one they were asked on (the caller escalates them all, in one notice)."""
    await desk.tx.series.set_provider(series_id, None)
    await desk.tx.series.set_status(series_id, "active")
    later = []
    for other in await desk.tx.series.occurrences(series_id):
        if (
            other.id != asked
            and other.status is Status.PENDING
            and other.provider_id == provider.id
        ):
            later.append(await desk.tx.requests.save(other.escalate(desk.now)))
    return later


async def provider_unavailable(
    desk: Desk, request: Request, provider: Provider, reason: str
) -> None:
    """A provider declined or let the deadline pass: the member is reassured, staff take over."""
    later: list[Request] = []
    if request.series_id is not None and request.status is Status.PENDING:
        later = await _rest_of_series_to_staff(desk, request.series_id, provider, request.id)
    request = await desk.tx.requests.save(request.escalate(desk.now))
    reassurance = N_(
        "{provider} is not available for {what}. Our team is finding the next best "
        "option for you: no need to book again."
    )
    await escalate_reassured(desk, request, provider, reassurance, reason, later)


async def staff_offer(desk: Desk, staff: Person, escalation_id: int, provider_id: str) -> None:
    """Staff put an escalated request to another provider, who answers in turn."""
    escalation = await desk.tx.escalations.get(escalation_id)
    try:
        provider = await desk.tx.roster.person(provider_id)
    except NotFound:
        provider = None
    if escalation is None or not isinstance(provider, Provider):
        await desk.stale(staff)
        return
    request = await desk.tx.requests.get(escalation.request_id)
    # Staff may offer anyone who offers the service and holds nothing at that time, even
    # outside their weekly hours (staff know when someone can stretch).
    offerable = request.service_id in provider.services and provider.id not in (
        await desk.tx.availability.busy(request.start, request.end)
    )
    taken = request.status is not Status.ESCALATED or not offerable
    # Once someone handled it, `claim` below says who; before that, say why nothing happened.
    if taken and escalation.is_open:
        await desk.tell(
            staff,
            "{provider} is no longer available for this request.",
            provider=provider.name,
        )
        return
    if await claim(desk, staff, escalation_id, f"offered:{provider.id}") is None:
        return
    request = await desk.tx.requests.save(request.offer(provider.id, desk.now))
    member = await desk.tx.roster.person(request.member_id)
    weekly = await _offer_rest_of_series(desk, staff, request, provider)
    if weekly:
        await tell_other_staff(
            desk,
            staff,
            escalation_id,
            N_("offered the weekly series to {provider}."),
            provider=provider.name,
        )
        await desk.tell(
            member,
            "We have asked {provider} to take your weekly sessions ({what} and the weeks "
            "after). I will tell you as soon as they answer.",
            provider=provider.name,
            what=described(desk, weekly[0]),
        )
        return
    await ask_provider(desk, request, provider)
    await tell_other_staff(
        desk,
        staff,
        escalation_id,
        N_("offered the request to {provider}."),
        provider=provider.name,
    )
    await desk.tell(
        member,
        "We have asked {provider} for {what}. I will tell you as soon as they answer.",
        provider=provider.name,
        what=described(desk, request),
    )


async def _offer_rest_of_series(
    desk: Desk, staff: Person, request: Request, provider: Provider
) -> list[Request]:
    """Staff offer a session of a series its provider said no to: every session of it still
    with staff that `provider` can take goes to them with it, in one question for the series
    (§8.2), which becomes theirs if they say yes. The sessions offered, first first, or []
    when `request` is not such a session (the series has a provider: a one-off clash)."""
    series = await desk.tx.series.get(request.series_id) if request.series_id else None
    if series is None or series.provider_id is not None:
        return []
    offered = [request]
    for other in await desk.tx.series.occurrences(series.id):
        if other.id == request.id or other.status is not Status.ESCALATED:
            continue
        if other.start <= desk.now or desk.local(other.start).date() in provider.unavailable:
            continue
        if provider.id in await desk.tx.availability.busy(other.start, other.end):
            continue
        waiting = [e for e in await desk.tx.escalations.of_request(other.id) if e.is_open]
        if len(waiting) != 1 or not await desk.tx.escalations.claim(
            waiting[0].id, staff.id, f"offered:{provider.id}", desk.now
        ):
            continue  # handled meanwhile (another staff member, the close at the start)
        offered.append(await desk.tx.requests.save(other.offer(provider.id, desk.now)))
    offered.sort(key=lambda r: r.start)
    await desk.tx.series.set_provider(series.id, provider.id)
    await desk.tx.series.set_status(series.id, "pending")
    member = await desk.tx.roster.person(series.member_id)
    assert isinstance(member, Member)
    await ask_series(desk, series, member, desk.services[series.service_id], provider, offered)
    return offered


async def staff_close_unfilled(desk: Desk, staff: Person, escalation_id: int) -> None:
    """Staff found nobody: the request is unfilled and the fee goes back to the balance."""
    if await claim(desk, staff, escalation_id, "unfilled") is None:
        return
    escalation = await desk.tx.escalations.get(escalation_id)
    assert escalation is not None
    request = await desk.tx.requests.get(escalation.request_id)
    if request.status is not Status.ESCALATED:
        return
    await tell_other_staff(desk, staff, escalation_id, N_("closed the request as unfilled."))
    await _unfilled(desk, request)


async def _unfilled(desk: Desk, request: Request) -> None:
    """Close a request nobody took: the fee goes back to the balance, the member is told."""
    request = await desk.tx.requests.save(request.close_unfilled(desk.now))
    await appointments.drop(desk, request)
    member = await desk.tx.roster.person(request.member_id)
    if request.fee <= 0:
        await desk.tell(
            member,
            "We are sorry: we could not find anyone for {what}. Nothing is charged.",
            what=described(desk, request),
        )
        return
    credit = LedgerEntry.member_side(
        request, desk.now, "fee_credit", request.fee, balance_delta=request.fee
    )
    await desk.tx.ledger.add(credit)
    await desk.tell(
        member,
        "We are sorry: we could not find anyone for {what}. The booking fee of {fee} "
        "has been credited to your account balance.",
        what=described(desk, request),
        fee=priced(desk, request.fee),
    )


async def unfilled_at_start(desk: Desk, request: Request) -> None:
    """The start has come and nobody confirmed (§1.10): the bot closes the request itself."""
    if request.status is Status.PENDING and request.provider_id:
        # A provider asked late has not answered: the question is withdrawn.
        await desk.tx.timers.cancel(request.id, [ANSWER_DEADLINE])
        for offer in await desk.tx.offers.open_for(request.provider_id):
            if offer.request_id == request.id:
                await desk.tx.offers.answer(offer.id, "timeout", desk.now)
        await _withdrawn(desk, request, await desk.tx.roster.person(request.provider_id), desk.now)
    closed = [
        e.id
        for e in await desk.tx.escalations.of_request(request.id)
        if await desk.tx.escalations.close(e.id, "unfilled", desk.now)
    ]
    member = await desk.tx.roster.person(request.member_id)
    data = {"member": member.name, "what": described(desk, request)}
    if closed:
        notice = Notice(
            "Escalation #{id} closed as unfilled: nobody was confirmed for {member} "
            "({what}) by the start. The member is told and the booking fee credited back.",
            {**data, "id": closed[-1]},
        )
    else:
        notice = Notice(
            "Request from {member} ({what}) closed as unfilled: nobody confirmed by the "
            "start. The member is told and the booking fee credited back.",
            data,
        )
    await desk.notify_staff(notice)
    await _unfilled(desk, request)


async def deadline_passed(desk: Desk, offer_id: int) -> None:
    """The provider did not answer in time: withdraw the request and escalate it."""
    offer = await desk.tx.offers.get(offer_id)
    if offer is None or not await desk.tx.offers.answer(offer_id, "timeout", desk.now):
        return
    request = await desk.tx.requests.get(offer.request_id)
    if request.status is not Status.PENDING or request.provider_id != offer.provider_id:
        return
    provider = await desk.tx.roster.person(offer.provider_id)
    assert isinstance(provider, Provider)
    await _withdrawn(desk, request, provider, offer.deadline)
    await provider_unavailable(desk, request, provider, "no_answer")


async def _withdrawn(desk: Desk, request: Request, provider: Person, deadline: datetime) -> None:
    """Tell a provider that a request they did not answer in time is no longer theirs."""
    await desk.tell(
        provider,
        "The request for {what} has been withdrawn: no answer by {time}.",
        what=described(desk, request),
        time=clock(desk.local(deadline)),
    )
