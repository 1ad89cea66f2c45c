"""Timer effects: what happens when a pending timer falls due. Each effect is idempotent."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from bot.services import appointments, billing, booking, dayof
from bot.services.desk import Desk
from bot.services.ports import Timer

log = logging.getLogger(__name__)

Effect = Callable[[Desk, Timer], Awaitable[None]]


async def _answer_deadline(desk: Desk, timer: Timer) -> None:
    if timer.ref_id is not None:
        await booking.deadline_passed(desk, timer.ref_id)


async def _weekly_credits(desk: Desk, timer: Timer) -> None:
    await billing.add_weekly_credits(desk, timer.due_at)


EFFECTS: dict[str, Effect] = {
    billing.WEEKLY_CREDITS: _weekly_credits,
    booking.ANSWER_DEADLINE: _answer_deadline,
    **dict.fromkeys(appointments.APPOINTMENT_TIMERS, dayof.on_timer),
}


async def fire(desk: Desk, timer: Timer) -> bool:
    """Claim a due timer and run its effect in this transaction; False if already claimed."""
    if not await desk.tx.claim_timer(timer.id, desk.now):
        return False
    effect = EFFECTS.get(timer.kind)
    if effect is None:
        log.warning("timer %s has unknown kind %r; dropped", timer.id, timer.kind)
        return True
    await effect(desk, timer)
    return True
