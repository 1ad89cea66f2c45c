"""Timer effects: what happens when a pending timer falls due. Each effect is idempotent."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from bot.domain.booking import Status
from bot.services import appointments, asking, billing, booking, dayof, escalations, hiatus, series
from bot.services.desk import Desk
from bot.services.ports import Timer

log = logging.getLogger(__name__)

Effect = Callable[[Desk, Timer], Awaitable[None]]


async def _answer_deadline(desk: Desk, timer: Timer) -> None:
    if timer.ref_id is not None:
        await booking.deadline_passed(desk, timer.ref_id)


async def _escalation_reminder(desk: Desk, timer: Timer) -> None:
    escalation = await desk.tx.escalations.get(timer.ref_id) if timer.ref_id is not None else None
    if escalation is None or not escalation.is_open:
        return  # handled meanwhile: nothing to remind
    request = await desk.tx.requests.get(escalation.request_id)
    if request.status is not Status.ESCALATED or request.start <= desk.now:
        return
    due = request.start - desk.agency.policy.escalation_reminder
    if due > max(desk.now, timer.due_at):  # the request was moved later: remind then
        await desk.tx.timers.add(timer.kind, due, request.id, escalation.id)
        return
    await escalations.remind_staff(desk, escalation, request)


async def _unfilled_at_start(desk: Desk, timer: Timer) -> None:
    if timer.request_id is None:
        return
    request = await desk.tx.requests.get(timer.request_id)
    if request.status not in (Status.ESCALATED, Status.PENDING):
        return  # confirmed, cancelled or closed meanwhile
    if request.start > max(desk.now, timer.due_at):  # moved later since: wait for the new start
        await desk.tx.timers.add(timer.kind, request.start, request.id, timer.ref_id)
        return
    await booking.unfilled_at_start(desk, request)


async def _weekly_credits(desk: Desk, timer: Timer) -> None:
    await billing.add_weekly_credits(desk, timer.due_at)


async def _hiatus_sweep(desk: Desk, timer: Timer) -> None:
    await hiatus.sweep(desk, timer.due_at)


async def _credit_notice(desk: Desk, timer: Timer) -> None:
    await hiatus.credit_notice(desk)


async def _series_roll(desk: Desk, timer: Timer) -> None:
    await series.roll(desk, timer.due_at)


EFFECTS: dict[str, Effect] = {
    series.SERIES_ROLL: _series_roll,
    hiatus.HIATUS_SWEEP: _hiatus_sweep,
    hiatus.CREDIT_NOTICE: _credit_notice,
    billing.WEEKLY_CREDITS: _weekly_credits,
    asking.ANSWER_DEADLINE: _answer_deadline,
    escalations.ESCALATION_REMINDER: _escalation_reminder,
    escalations.UNFILLED_AT_START: _unfilled_at_start,
    **dict.fromkeys(appointments.APPOINTMENT_TIMERS, dayof.on_timer),
}


# The agency-wide rounds, each one pending timer that re-arms itself. A timer row fires once
# (its claim), but two workers arming a round at the same moment (two imports, two first
# series) can each add a row, and each row would then re-arm itself daily: a round per worker.
# A once-only key per round and day makes any second row of a day a no-op that does not re-arm,
# so the extra rows die out on their first day.
ROUNDS = frozenset(
    {series.SERIES_ROLL, hiatus.HIATUS_SWEEP, hiatus.CREDIT_NOTICE, billing.WEEKLY_CREDITS}
)


async def fire(desk: Desk, timer: Timer) -> bool:
    """Claim a due timer and run its effect in this transaction; False if already claimed."""
    if not await desk.tx.timers.claim(timer.id, desk.now):
        return False
    if timer.kind in ROUNDS:
        day = desk.local(timer.due_at).date().isoformat()
        if not await desk.tx.once.first("round", f"{timer.kind}:{day}", desk.now):
            log.info("timer %s: the %s of %s ran already; not again", timer.id, timer.kind, day)
            return True
    effect = EFFECTS.get(timer.kind)
    if effect is None:
        log.warning("timer %s has unknown kind %r; dropped", timer.id, timer.kind)
        return True
    await effect(desk, timer)
    return True
