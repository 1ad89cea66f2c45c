"""Money (product §5): settling a session in money or credits, weekly credits, waivers."""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from decimal import Decimal
from functools import partial

from bot.domain.agency import Member, Person, Staff
from bot.domain.booking import Move, Request, Transition
from bot.domain.ledger import Account, account
from bot.domain.money import ZERO
from bot.i18n import N_, tr
from bot.services import appointments, hiatus
from bot.services.actions import action
from bot.services.desk import Desk
from bot.services.escalations import claim, escalation_of_kind, tell_other_staff
from bot.services.notices import Label, Notice
from bot.services.ports import LedgerEntry, UnitOfWork
from bot.services.wording import described, money, priced

log = logging.getLogger(__name__)
WEEKLY_CREDITS = "weekly_credits"


# The ledger line of what the member pays, by what settled the request.
LEDGER_KINDS = {Move.COMPLETE: "session", Move.NO_SHOW: "noshow_fee", Move.CANCEL: "late_cancel"}


async def settle(desk: Desk, transition: Transition) -> Request:
    """Store a settling move and book what it costs: money, or one credit for a
    subscription session; the provider is owed the payout either way."""
    request = await desk.tx.requests.save(transition)
    await appointments.drop(desk, request)
    if request.payout <= 0:
        return request
    kind = LEDGER_KINDS[transition.move]
    credits = -1 if request.paid_by_credit else 0
    await desk.tx.ledger.add(
        LedgerEntry.member_side(request, desk.now, kind, request.charge, credits_delta=credits)
    )
    await desk.tx.ledger.add(
        LedgerEntry.provider_side(request, desk.now, "payout", request.payout)
    )
    return request


async def member_account(tx: UnitOfWork, member_id: str) -> Account:
    """A member's credit, session credits and what they still owe, from their whole ledger."""
    return account(await tx.ledger.of_member(member_id))


def signed_money(desk: Desk, amount: Decimal, lang: str) -> str:
    """'+10,00 €' / '-18,00 €': a statement amount, with its sign always shown."""
    return ("+" if amount > 0 else "") + money(desk, amount, lang)


async def settle_up(desk: Desk, member_id: str, amount: Decimal) -> Decimal:
    """Of money coming to a member, the part beyond what they owe (it goes to their credit)."""
    owed = (await member_account(desk.tx, member_id)).owed
    return max(amount - max(owed, ZERO), ZERO)


# --- payments recorded by staff ----------------------------------------------------------------


class PaymentRefused(Exception):
    """A payment that cannot be recorded; `reason` says why, `owed` what is owed now."""

    def __init__(self, reason: str, owed: Decimal) -> None:
        super().__init__(reason)
        self.reason = reason  # "not_staff" | "not_positive" | "nothing_owed" | "more_than_owed"
        self.owed = owed


async def record_payment(desk: Desk, staff: Person, member: Member, amount: Decimal) -> Account:
    """Staff record money a member paid outside carebot (§5); the member is told.

    The chat command and the web console both come here. A payment must be positive and at
    most what is owed (a typo like 8200 for 82.00 is refused, not turned into credit).
    """
    before = await member_account(desk.tx, member.id)
    if not isinstance(staff, Staff):
        raise PaymentRefused("not_staff", before.owed)
    if amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        raise PaymentRefused("not_positive", before.owed)
    if before.owed <= 0:
        raise PaymentRefused("nothing_owed", before.owed)
    if amount > before.owed:
        raise PaymentRefused("more_than_owed", before.owed)
    await desk.tx.ledger.add(
        LedgerEntry(desk.now, "payment", amount, member_id=member.id, recorded_by=staff.id)
    )
    # No column records who yet (it needs a migration): the log keeps it meanwhile.
    log.info("payment of %s for %s recorded by %s", amount, member.id, staff.id)
    after = await member_account(desk.tx, member.id)
    await desk.tell(
        member,
        "The agency recorded your payment of {amount}. Still to pay: {owed}.",
        amount=priced(desk, amount),
        owed=priced(desk, after.owed),
    )
    return after


def charge_text(desk: Desk, request: Request, amount: Decimal, lang: str) -> str:
    """'50,00 €' or '1 session credit', as the member will be charged."""
    if request.paid_by_credit:
        return tr(lang, "1 session credit")
    return money(desk, amount, lang)


# --- weekly credits ---------------------------------------------------------------------------


def next_monday(desk: Desk, after: datetime) -> datetime:
    """Monday 00:00 agency time, strictly after a moment."""
    local = desk.local(after)
    days = 7 - local.weekday()
    return datetime.combine(local.date() + timedelta(days=days), time(0), tzinfo=desk.tz)


async def ensure_weekly_credits(desk: Desk) -> None:
    """Arm the weekly credits timer once per database (import and start call this)."""
    if not await desk.tx.timers.has_pending(WEEKLY_CREDITS):
        await desk.tx.timers.add(WEEKLY_CREDITS, next_monday(desk, desk.now))


async def add_weekly_credits(desk: Desk, due_at: datetime) -> None:
    """Every Monday: N credits per subscriber, never twice for the same week; then re-arm."""
    year, week, _ = desk.local(due_at).isocalendar()
    label = f"{year}-W{week:02d}"
    credited = False
    for member in await desk.tx.roster.subscribers():
        assert member.subscription is not None
        if await desk.tx.ledger.claim_credit_week(member.id, label):
            credits = member.subscription.per_week
            weekly = LedgerEntry(
                desk.now, WEEKLY_CREDITS, Decimal(0), member.id, credits_delta=credits
            )
            await desk.tx.ledger.add(weekly)
            credited = True
    if credited:
        await hiatus.arm_credit_notice(desk, due_at)  # non-urgent: not before 09:00 (§10.2)
    await desk.tx.timers.add(WEEKLY_CREDITS, next_monday(desk, due_at))


# --- emergency waivers ------------------------------------------------------------------------


def waiver_option(request_id: int) -> tuple[Label, str]:
    """The option offered after a late cancellation."""
    return (N_("Ask for an emergency waiver"), action("wv", request_id))


async def request_waiver(desk: Desk, member: Member, request: Request, reason: str) -> None:
    """A member asks staff to waive a late-cancellation charge, with a reason."""
    escalation = await desk.tx.escalations.add(request.id, "waiver", reason[:500], desk.now)

    options: list[tuple[Label, str]] = [
        (N_("Approve the waiver"), action("wa", escalation.id)),
        (N_("Deny the waiver"), action("wd", escalation.id)),
    ]
    await desk.notify_staff(
        Notice(
            "Waiver request #{id}: {member} cancelled late ({what}), charged "
            "{charge}. Reason: {reason}",
            {
                "id": escalation.id,
                "member": member.name,
                "what": described(desk, request),
                "reason": reason[:300],
                "charge": partial(charge_text, desk, request, request.payout),
            },
            options,
        )
    )
    await desk.tell(
        member, "Your waiver request was sent to the agency; I will tell you their answer."
    )


async def decide_waiver(desk: Desk, staff: Person, escalation_id: int, approve: bool) -> None:
    """Staff approve (charge back to the balance or credit restored) or deny a waiver."""
    # A contested "client cancels" report (a dispute) is decided the same way.
    if await escalation_of_kind(desk, staff, escalation_id, "waiver", "dispute") is None:
        return
    escalation = await claim(desk, staff, escalation_id, "approved" if approve else "denied")
    if escalation is None:
        return
    request = await desk.tx.requests.get(escalation.request_id)
    member = await desk.tx.roster.person(request.member_id)
    lang = desk.lang(member)
    if not approve:
        await tell_other_staff(desk, staff, escalation_id, N_("denied the waiver."))
        await desk.tell(
            member,
            "The agency could not waive the charge for {what}.",
            what=described(desk, request),
        )
        return
    refund = request.charge
    # The refund first cancels what is still owed; only what was already paid becomes credit.
    waiver = LedgerEntry.member_side(
        request,
        desk.now,
        "waiver",
        refund,
        balance_delta=await settle_up(desk, member.id, refund),
        credits_delta=1 if request.paid_by_credit else 0,
    )
    await desk.tx.ledger.add(waiver)
    if request.payout > 0:
        await desk.tx.ledger.add(
            LedgerEntry.provider_side(request, desk.now, "payout_waived", -request.payout)
        )
    await desk.tx.requests.waive(request.id, desk.now)
    await tell_other_staff(desk, staff, escalation_id, N_("approved the waiver."))
    restored = (
        tr(lang, "your session credit is restored")
        if request.paid_by_credit
        else tr(lang, "{amount} is refunded to your account", amount=money(desk, refund, lang))
    )
    await desk.tell(
        member,
        "The agency waived the charge for {what}: {restored}.",
        what=described(desk, request),
        restored=restored,
    )
    if request.provider_id:
        provider = await desk.tx.roster.person(request.provider_id)
        await desk.tell(
            provider,
            "The agency waived the late-cancellation charge for "
            "{what}; this session will not be paid.",
            what=described(desk, request),
        )
