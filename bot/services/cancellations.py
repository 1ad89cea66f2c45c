"""Cancellations by members (product §4): free with notice, else charged; always at once."""

from __future__ import annotations

from functools import partial

from bot.domain.agency import Member, Person
from bot.domain.booking import Request, Status
from bot.i18n import tr
from bot.services import disputes
from bot.services.asking import ANSWER_DEADLINE
from bot.services.billing import charge_text, settle, waiver_option
from bot.services.desk import Desk
from bot.services.notices import Label, Lines, Localized, Notice, phrase
from bot.services.ports import Details
from bot.services.wording import describe, described, money, priced

CANCELLABLE = (Status.PENDING, Status.ESCALATED, Status.CONFIRMED, Status.IN_PROGRESS)


def is_late(desk: Desk, request: Request) -> bool:
    """A confirmed appointment cancelled with less notice than the policy asks costs money."""
    return request.is_late_to_cancel(desk.now, desk.agency.policy)


def quote(desk: Desk, request: Request, lang: str) -> str:
    """What cancelling this one now costs: free, the full price, or one session credit."""
    if not is_late(desk, request):
        return tr(lang, "free")
    if request.paid_by_credit:
        return tr(lang, "late: 1 session credit used")
    return tr(lang, "late: charged in full, {amount}", amount=money(desk, request.price, lang))


async def cancel(
    desk: Desk,
    member: Member,
    requests: list[Request],
    *,
    reported_by: Person | None = None,
    reason: str | None = None,
) -> None:
    """Cancel one or several requests now; provider(s) and staff told, the member once."""
    lines: list[Notice | Localized] = []
    options: list[tuple[Label, str]] = []
    hint: Localized | None = None
    for request in requests:
        if request.status not in CANCELLABLE:
            continue
        if reported_by is not None:
            # The member did not say it themselves: they may contest it for a while (§2.4).
            await desk.tx.requests.mark(request.id, desk.now, "client_cancel_at", desk.now)
        request = await _cancel_one(desk, request, reported_by, reason)
        lines.append(partial(_cancelled_line, desk, request))
        if reported_by is not None:
            options.append(disputes.contest_option(request.id))
            hint = partial(disputes.contest_hint, desk, request)
        elif request.payout > 0:
            options.append(waiver_option(request.id))
            hint = phrase("In an emergency you can ask the agency to waive the charge.")
    if not lines:
        await desk.tell(member, "There was nothing left to cancel.")
        return
    head = (
        Notice("Cancelled:")
        if reported_by is None
        else Notice("{provider} told us you cancelled:", {"provider": reported_by.name})
    )
    tail = [hint] if options and hint is not None else []
    await desk.notify(member, Lines([head, *lines, *tail], options))


def _cancelled_line(desk: Desk, request: Request, lang: str) -> str:
    """'• Cleaning, Saturday 28 November, 09:00-11:00: free' (or what it costs)."""
    cost = (
        charge_text(desk, request, request.payout, lang)
        if request.payout > 0
        else tr(lang, "free")
    )
    return f"• {describe(desk, request, lang)}: {cost}"


async def _cancel_one(
    desk: Desk, request: Request, reported_by: Person | None, reason: str | None
) -> Request:
    if reason:
        request = await desk.tx.requests.set_details(
            request.id, desk.now, Details(cancel_reason=reason)
        )
    provider = await desk.tx.roster.person(request.provider_id) if request.provider_id else None
    if request.status is Status.PENDING:
        # Not yet an appointment: the question to the provider is withdrawn, nothing is owed.
        for offer in await desk.tx.offers.open_for(request.provider_id or ""):
            if offer.request_id == request.id:
                await desk.tx.offers.answer(offer.id, "withdrawn", desk.now)
        await desk.tx.timers.cancel(request.id, [ANSWER_DEADLINE])
    if request.status is Status.ESCALATED:
        for escalation in await desk.tx.escalations.open():
            if escalation.request_id == request.id:
                await desk.tx.escalations.claim(
                    escalation.id, request.member_id, "cancelled", desk.now
                )
    request = await settle(desk, request.cancel(desk.now, desk.agency.policy))
    if provider is not None and provider.id != (reported_by.id if reported_by else None):
        told: list[Notice | Localized] = [
            Notice("Cancelled by the client: {what}.", {"what": described(desk, request)})
        ]
        if request.payout:
            told.append(
                Notice("You will be paid {amount}.", {"amount": priced(desk, request.payout)})
            )
        await desk.notify(provider, Lines(told, sep=" "))
    elif provider is not None and request.payout:
        await desk.tell(
            provider,
            "Noted, the session is cancelled. You will be paid {amount}.",
            amount=priced(desk, request.payout),
        )
    elif provider is not None:
        await desk.tell(provider, "Noted, the session is cancelled.")
    member = await desk.tx.roster.person(request.member_id)
    if request.payout:
        notice = Notice(
            "Cancelled: {member}, {what}. Charge: {amount}.",
            {
                "member": member.name,
                "what": described(desk, request),
                "amount": partial(charge_text, desk, request, request.payout),
            },
        )
    else:  # nothing to bill: no "Charge: 0.00" (issue 11, 4b)
        notice = Notice(
            "Cancelled: {member}, {what}, no charge.",
            {"member": member.name, "what": described(desk, request)},
        )
    await desk.notify_staff(notice)
    return request
