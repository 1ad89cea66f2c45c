"""Change requests (product §4.1-4.3, 4.5): time, service or notes of an appointment."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import partial

from bot.domain.agency import Member, Person, Provider
from bot.domain.availability import covers
from bot.domain.booking import HOLDING, ChangeRequest, Move, Request, Status, session_price
from bot.domain.errors import DoubleBooking
from bot.i18n import LANGUAGES, N_, fmt_window, tr
from bot.services import appointments
from bot.services.actions import action
from bot.services.desk import Desk
from bot.services.escalations import (
    claim,
    escalate_reassured,
    escalation_of_kind,
    tell_other_staff,
)
from bot.services.notices import Label, Lines, Localized, Notice
from bot.services.ports import Details, NewChange
from bot.services.wording import described, money


def change_text(desk: Desk, change: ChangeRequest, lang: str) -> str:
    """'new time: jeudi 26 novembre, 10:00-13:00' / 'new service: Ménage' / 'notes: ...'."""
    if change.kind == "time" and change.new_start and change.new_end:
        window = fmt_window(desk.local(change.new_start), desk.local(change.new_end), lang)
        return tr(lang, "new time: {window}", window=window)
    if change.kind == "service" and change.new_service in desk.services:
        return tr(
            lang, "new service: {service}", service=desk.services[change.new_service].label(lang)
        )
    return tr(lang, "notes: {notes}", notes=change.notes or "")


# Why a provider cannot take a changed booking, as staff reviewing it read it (§4.3).
NOT_FREE = {
    "hours": N_("{provider} is not free at the new time: it is outside their working hours."),
    "day_off": N_("{provider} is not free at the new time: it is their day off."),
    "appointment": N_("{provider} is not free at the new time: they have another appointment."),
    "service": N_("{provider} does not offer this service."),
}


def new_price(
    desk: Desk,
    request: Request,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    service: str | None = None,
) -> Decimal:
    """What the session will cost after a change of time or service."""
    rate = desk.services[service or request.service_id].hourly_rate
    return session_price(rate, start or request.start, end or request.end)


def price_line(desk: Desk, request: Request, price: Decimal, lang: str) -> str:
    """'New price: 54,00 € (was 36,00 €).' when a change moves the price, else ''."""
    if request.paid_by_credit or price == request.price:
        return ""
    return tr(
        lang,
        "New price: {price} (was {old}).",
        price=money(desk, price, lang),
        old=money(desk, request.price, lang),
    )


async def provider_problem(
    desk: Desk, request: Request, start: datetime, end: datetime, service: str
) -> str | None:
    """Why the provider could not take the changed request (a NOT_FREE key); None if they can."""
    provider = await desk.tx.roster.person(request.provider_id) if request.provider_id else None
    if not isinstance(provider, Provider):
        return None
    if service not in provider.services:
        return "service"
    first, last = desk.local(start).date(), desk.local(end).date()
    if any(first <= day <= last for day in provider.unavailable):
        return "day_off"
    if not covers(provider.availability, (), desk.local(start), desk.local(end)):
        return "hours"
    for other in await desk.tx.requests.of_provider(provider.id, HOLDING):
        if other.id != request.id and other.start < end and start < other.end:
            return "appointment"
    return None


async def review_lines(desk: Desk, request: Request, change: ChangeRequest, lang: str) -> str:
    """What staff must see before approving: the new price, and whether the provider can."""
    start, end = change.new_start or request.start, change.new_end or request.end
    service = change.new_service or request.service_id
    lines = [
        price_line(
            desk, request, new_price(desk, request, start=start, end=end, service=service), lang
        )
    ]
    if request.provider_id and change.kind in ("time", "service"):
        provider = await desk.tx.roster.person(request.provider_id)
        problem = await provider_problem(desk, request, start, end, service)
        if problem is None:
            lines.append(tr(lang, "{provider} is free at the new time.", provider=provider.name))
        else:
            lines.append(tr(lang, NOT_FREE[problem], provider=provider.name))
            lines.append(
                tr(
                    lang,
                    "Approving it releases them and makes the booking an escalation, "
                    "to find someone else.",
                )
            )
    return "\n".join(line for line in lines if line)


async def submit(desk: Desk, member: Member, request: Request, asked: NewChange) -> ChangeRequest:
    """Record a change; applied at once with policy 'auto', else pending staff review."""
    change = await desk.tx.changes.add(request.id, asked, desk.now)
    if desk.agency.policy.change_requests == "auto":
        await desk.tx.changes.decide(change.id, "approved", desk.now)
        await apply(desk, change)
        return change
    escalation = await desk.tx.escalations.add(
        request.id, "change_review", str(change.id), desk.now
    )

    reviews = {lang: await review_lines(desk, request, change, lang) for lang in LANGUAGES}

    parts: list[Notice | Localized] = [
        Notice(
            "Change request #{id} from {member} for {what}: {change}.",
            {
                "id": escalation.id,
                "member": member.name,
                "what": described(desk, request),
                "change": partial(change_text, desk, change),
            },
        )
    ]
    if any(reviews.values()):  # what the change costs or breaks, written per language above
        parts.append(lambda lang: reviews[lang])
    options: list[tuple[Label, str]] = [
        (N_("Approve the change"), action("ca", escalation.id)),
        (N_("Deny the change"), action("cd", escalation.id)),
    ]
    await desk.notify_staff(Lines(parts, options))
    if request.provider_id:
        provider = await desk.tx.roster.person(request.provider_id)
        await desk.tell(
            provider,
            "{member} asked to change {what} ({change}); the agency is reviewing it.",
            member=member.name,
            what=described(desk, request),
            change=partial(change_text, desk, change),
        )
    await desk.tell(
        member,
        "Your change request ({change}) is pending: the agency will review it.",
        change=partial(change_text, desk, change),
    )
    return change


async def decide(desk: Desk, staff: Person, escalation_id: int, approve: bool) -> None:
    """Staff approve or deny a pending change request (once, whoever presses first)."""
    if await escalation_of_kind(desk, staff, escalation_id, "change_review") is None:
        return
    escalation = await claim(desk, staff, escalation_id, "approved" if approve else "denied")
    if escalation is None or not (escalation.about or "").isdigit():
        return
    change = await desk.tx.changes.get(int(escalation.about or "0"))
    if change is None or not await desk.tx.changes.decide(
        change.id, "approved" if approve else "denied", desk.now
    ):
        return
    await tell_other_staff(
        desk,
        staff,
        escalation_id,
        N_("approved the change.") if approve else N_("denied the change."),
    )
    if approve:
        await apply(desk, change)
        return
    request = await desk.tx.requests.get(change.request_id)
    member = await desk.tx.roster.person(request.member_id)
    await desk.tell(
        member,
        "The agency could not accept your change ({change}); "
        "your booking stays as it was: {what}.",
        change=partial(change_text, desk, change),
        what=described(desk, request),
    )


async def apply(desk: Desk, change: ChangeRequest) -> None:
    """Carry out an approved change; a provider who cannot follow it makes it an escalation."""
    request = before = await desk.tx.requests.get(change.request_id)
    if request.status not in (Status.CONFIRMED, Status.PENDING, Status.ESCALATED):
        return
    provider = await desk.tx.roster.person(request.provider_id) if request.provider_id else None
    member = await desk.tx.roster.person(request.member_id)
    if change.kind == "notes":
        request = await desk.tx.requests.set_details(
            request.id, desk.now, Details(notes=change.notes)
        )
    elif change.kind == "service" and change.new_service:
        service = desk.services[change.new_service]
        price = session_price(service.hourly_rate, request.start, request.end)
        new = Details(service_id=service.id, price=price)
        request = await desk.tx.requests.set_details(request.id, desk.now, new)
        if isinstance(provider, Provider) and service.id not in provider.services:
            await _release(desk, request, provider)
            return
    elif change.kind == "time" and change.new_start and change.new_end:
        moved = await move(desk, request, change.new_start, change.new_end, provider)
        if moved is None:
            return
        request = moved
    done: list[Notice | Localized] = [
        Notice("Your change is done: {what}.", {"what": described(desk, request)})
    ]
    if price_line(desk, before, request.price, desk.lang(member)):
        done.append(partial(price_line, desk, before, request.price))
    await desk.notify(member, Lines(done))
    if provider is not None:
        told: list[Notice | Localized] = [
            Notice(
                "Change for {member}: {what}.",
                {"member": member.name, "what": described(desk, request)},
            )
        ]
        if change.kind == "notes":
            told.append(Notice("Notes: {notes}", {"notes": change.notes or ""}))
        await desk.notify(provider, Lines(told))


async def move(
    desk: Desk, request: Request, start: datetime, end: datetime, provider: Person | None
) -> Request | None:
    """Move a request's window (and its price); if its provider cannot take it, release it.

    The price follows the new duration: a 2-hour session moved to 3 hours costs 3 hours.
    """
    price = new_price(desk, request, start=start, end=end)
    if price != request.price:
        request = await desk.tx.requests.set_details(request.id, desk.now, Details(price=price))
    fits = isinstance(provider, Provider) and covers(
        provider.availability, provider.unavailable, desk.local(start), desk.local(end)
    )
    try:
        if not fits:
            raise DoubleBooking(request.provider_id or "")
        request = await desk.tx.requests.move(request.id, start, end, desk.now)
    except DoubleBooking:
        # The new time stands; the provider does not follow it, so staff find someone.
        request = await _let_go(desk, request)
        request = await desk.tx.requests.move(request.id, start, end, desk.now)
        if isinstance(provider, Provider):
            await _release(desk, request, provider)
        return None
    if request.status is Status.CONFIRMED:
        await appointments.schedule(desk, request)
    return request


async def _release(desk: Desk, request: Request, provider: Provider) -> None:
    """The provider cannot do the changed booking: they are freed and staff take over."""
    request = await _let_go(desk, request)
    await appointments.drop(desk, request)
    await desk.tell(
        provider,
        "The booking for {what} has changed and no longer fits "
        "your availability: you are released from it.",
        what=described(desk, request),
    )
    reassurance = N_(
        "{provider} cannot take the changed booking ({what}). Our "
        "team is finding someone else: no need to book again."
    )
    await escalate_reassured(desk, request, provider, reassurance, "change_unavailable")


async def _let_go(desk: Desk, request: Request) -> Request:
    """Free the request's provider, if it still has one: it goes to staff."""
    if not request.can(Move.ESCALATE):
        return request  # already with staff
    return await desk.tx.requests.save(request.escalate(desk.now))
