"""The timers of a confirmed appointment, set, moved and dropped with it (product §2)."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.domain.booking import Request
from bot.services.desk import Desk

REMIND_MEMBER = "remind_member"
REMIND_PROVIDER = "remind_provider"
CHECKIN = "checkin"
START = "start"
NOSHOW = "noshow"
DECLARE = "declare"
EXPIRE = "expire"
APPOINTMENT_TIMERS = (REMIND_MEMBER, REMIND_PROVIDER, CHECKIN, START, NOSHOW, DECLARE, EXPIRE)
# A request with staff (§1.10): staff reminded before the start, closed unfilled at the start.
ESCALATION_REMINDER = "escalation_reminder"
UNFILLED_AT_START = "unfilled_at_start"
ESCALATION_TIMERS = (ESCALATION_REMINDER, UNFILLED_AT_START)
DECLARE_EVERY = timedelta(days=1)


async def schedule(desk: Desk, request: Request) -> None:
    """(Re)set every timer of an appointment; moments already past are not scheduled.

    Reminders for a moment already gone when the appointment was confirmed are never sent
    (§2.1); the arrival prompt, the start, the declaration reminder and expiry always come.
    """
    # Confirmed: whatever staff were to be reminded of or the bot was to close is moot.
    await desk.tx.timers.cancel(request.id, APPOINTMENT_TIMERS + ESCALATION_TIMERS)
    policy = desk.agency.policy
    timers: list[tuple[str, datetime, int | None, int | None]] = []
    for kind, befores in (
        (REMIND_MEMBER, policy.reminders_member),
        (REMIND_PROVIDER, policy.reminders_provider),
    ):
        for before in befores:
            due = request.start - before
            if due > desk.now:
                timers.append((kind, due, request.id, int(before.total_seconds() // 60)))
    timers += [
        (CHECKIN, max(request.start - policy.checkin_opens, desk.now), request.id, None),
        (START, max(request.start, desk.now), request.id, None),
        (DECLARE, max(request.end, desk.now), request.id, None),
        (EXPIRE, request.end + policy.declare_within, request.id, None),
    ]
    await desk.tx.timers.add_many(timers)


async def drop(desk: Desk, request: Request) -> None:
    """Cancel every pending timer of an appointment (or a request) that is over or gone."""
    await desk.tx.timers.cancel(request.id, APPOINTMENT_TIMERS + ESCALATION_TIMERS)
