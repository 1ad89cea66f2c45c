"""Cancellations by members (product §4): free with notice, else charged; always at once."""

from __future__ import annotations

from functools import partial

from bot.domain.agency import Member, Person
from bot.domain.booking import Request, Status
from bot.i18n import tr
from bot.services import disputes
from bot.services.billing import charge_text, settle, waiver_option
from bot.services.booking import ANSWER_DEADLINE
from bot.services.desk import Desk, Option
from bot.services.notices import Notice
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
    lang = desk.lang(member)
    lines: list[str] = []
    options: list[Option] = []
    hint = ""
    for request in requests:
        if request.status not in CANCELLABLE:
            continue
        if reported_by is not None:
            # The member did not say it themselves: they may contest it for a while (§2.4).
            await desk.tx.requests.mark(request.id, desk.now, "client_cancel_at", desk.now)
        request = await _cancel_one(desk, request, reported_by, reason)
        cost = (
            charge_text(desk, request, request.payout, lang)
            if request.payout > 0
            else tr(lang, "free")
        )
        lines.append(f"• {describe(desk, request, lang)}: {cost}")
        if reported_by is not None:
            options.append(disputes.contest_option(request.id, lang))
            hint = disputes.contest_hint(desk, request, lang)
        elif request.payout > 0:
            options.append(waiver_option(request.id, lang))
            hint = tr(lang, "In an emergency you can ask the agency to waive the charge.")
    if not lines:
        await desk.tell(member, "There was nothing left to cancel.")
        return
    head = (
        tr(lang, "Cancelled:")
        if reported_by is None
        else tr(lang, "{provider} told us you cancelled:", provider=reported_by.name)
    )
    text = "\n".join([head, *lines])
    if options:
        text += "\n" + hint
    await desk.send(member, text, options)


async def _cancel_one(
    desk: Desk, request: Request, reported_by: Person | None, reason: str | None
) -> Request:
    if reason:
        request = await desk.tx.requests.set_details(request.id, desk.now, cancel_reason=reason)
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
        plang = desk.lang(provider)
        paid = (
            (
                " "
                + tr(
                    plang, "You will be paid {amount}.", amount=money(desk, request.payout, plang)
                )
            )
            if request.payout
            else ""
        )
        await desk.send(
            provider,
            tr(plang, "Cancelled by the client: {what}.", what=describe(desk, request, plang))
            + paid,
        )
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
