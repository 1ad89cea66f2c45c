"""Disputes (§2.4): a member contests a cancellation their provider reported for them."""

from __future__ import annotations

from functools import partial

from bot.domain.agency import Member
from bot.domain.booking import Request, Status
from bot.i18n import N_, fmt_time, tr
from bot.services.actions import action
from bot.services.billing import charge_text
from bot.services.desk import Desk
from bot.services.notices import Label, Lines, Localized, Notice, clock
from bot.services.wording import described

DISPUTE = "dispute"  # the escalation reason; staff waive or keep the charge as for a waiver


def contest_option(request_id: int) -> tuple[Label, str]:
    """The option offered with a reported cancellation."""
    return (N_("Contest"), action("ct", request_id))


def contest_hint(desk: Desk, request: Request, lang: str) -> str:
    """Tells the member how, and until when, they can contest a reported cancellation."""
    assert request.client_cancel_at is not None
    until = request.client_cancel_at + desk.agency.policy.contest_within
    return tr(
        lang,
        'If you did not cancel, reply "contest" before {time}: the agency will look into it.',
        time=fmt_time(desk.local(until), lang),
    )


async def contest(desk: Desk, member: Member, request_id: int | None, reason: str = "") -> None:
    """Send a reported cancellation to staff as a dispute, if still in time and not yet sent."""
    reported = [
        r
        for r in await desk.tx.requests.of_member(member.id, [Status.CANCELLED])
        if r.client_cancel_at is not None and request_id in (None, r.id)
    ]
    if not reported:
        await desk.tell(member, "There is no reported cancellation to contest.")
        return
    request = max(reported, key=lambda r: r.client_cancel_at or desk.now)
    assert request.client_cancel_at is not None
    until = request.client_cancel_at + desk.agency.policy.contest_within
    if any(e.reason == DISPUTE for e in await desk.tx.escalations.of_request(request.id)):
        await desk.tell(member, "You have already contested it: the agency is looking into it.")
        return
    if desk.now > until:
        await desk.tell(
            member,
            "It is too late to contest this cancellation (it was possible until {time}). "
            "Please contact the agency.",
            time=clock(desk.local(until)),
        )
        return
    escalation = await desk.tx.escalations.add(request.id, DISPUTE, reason[:500] or None, desk.now)
    provider = await desk.tx.roster.person(request.provider_id) if request.provider_id else None

    parts: list[Notice | Localized] = [
        Notice(
            "Dispute #{id}: {member} contests the cancellation that {provider} reported "
            "({what}), charged {charge}.",
            {
                "id": escalation.id,
                "member": member.name,
                "provider": provider.name if provider else "-",
                "what": described(desk, request),
                "charge": partial(charge_text, desk, request, request.payout),
            },
        )
    ]
    if reason:
        parts.append(Notice("Reason: {reason}", {"reason": reason[:300]}))
    options: list[tuple[Label, str]] = [
        (N_("Waive the charge"), action("wa", escalation.id)),
        (N_("Keep the charge"), action("wd", escalation.id)),
    ]
    await desk.notify_staff(Lines(parts, options, sep=" "))
    await desk.tell(member, "Your dispute was sent to the agency; I will tell you their answer.")
