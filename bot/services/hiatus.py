"""Getting back in touch after a break (§10), and when non-urgent messages may go.

A daily sweep, at the end of the quiet hours (never on a Sunday), looks at every regular
member: one check-in per break, and a note to the provider who served them last. The weekly
credit notice waits for the same allowed moments.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial

from bot.domain.agency import Member
from bot.domain.quiet import is_quiet, next_allowed, next_morning
from bot.i18n import fmt_day
from bot.services.desk import Desk
from bot.services.notices import Lines, Localized, Notice, Plural
from bot.services.ports import Regular

HIATUS_SWEEP = "hiatus_sweep"
CREDIT_NOTICE = "credit_notice"


def allowed_from(desk: Desk, moment: datetime) -> datetime:
    """The first moment from `moment` at which a non-urgent message may be sent."""
    return next_allowed(desk.local(moment), desk.agency.policy.quiet_hours)


async def ensure_sweep(desk: Desk) -> None:
    """Arm the daily check-in sweep once per database (import calls this)."""
    if not await desk.tx.timers.has_pending(HIATUS_SWEEP):
        quiet = desk.agency.policy.quiet_hours
        await desk.tx.timers.add(HIATUS_SWEEP, next_morning(desk.local(desk.now), quiet))


async def sweep(desk: Desk, due_at: datetime) -> None:
    """Check in with every regular member whose break has lasted `hiatus_after`; re-arm."""
    quiet = desk.agency.policy.quiet_hours
    if is_quiet(desk.local(desk.now), quiet):
        # Woken late (the bot was down): wait for the next allowed moment rather than nudge now.
        await desk.tx.timers.add(HIATUS_SWEEP, next_allowed(desk.local(desk.now), quiet))
        return
    policy = desk.agency.policy
    for regular in await desk.tx.breaks.regulars(desk.now, desk.now - policy.regular_within):
        await _consider(desk, regular)
    await desk.tx.timers.add(HIATUS_SWEEP, next_morning(desk.local(max(due_at, desk.now)), quiet))


async def _consider(desk: Desk, regular: Regular) -> None:
    member = regular.member
    if regular.watched_since is None:
        await desk.tx.breaks.watch(member.id, regular.last_session_end or desk.now)
    # The break starts at the last session; without one, when the bot began to watch.
    start = regular.last_session_end or regular.watched_since or desk.now
    if regular.booked or desk.now - start < desk.agency.policy.hiatus_after:
        return
    if regular.nudged_for == start or not await desk.tx.breaks.mark_nudged(member.id, start):
        return  # one check-in per break: the next break starts after the next session
    await _check_in(desk, member)
    if regular.last_provider_id is not None:
        await _tell_provider(desk, regular, start)


def _example_service(desk: Desk, member: Member, lang: str) -> str:
    service_id = member.subscription.service if member.subscription else None
    service = desk.services.get(service_id or "") or next(iter(desk.services.values()))
    return service.label(lang).lower()


async def _check_in(desk: Desk, member: Member) -> None:
    _, credits = await desk.tx.ledger.balance(member.id)
    lines: list[Notice | Localized] = [
        Notice("Hello {name}, it has been a while! We hope all is well.", {"name": member.name})
    ]
    if credits > 0:
        lines.append(
            Plural(
                "You still have {n} session credit to use.",
                "You still have {n} session credits to use.",
                credits,
            )
        )
    lines.append(
        Notice(
            'To book, write the care and when, for example "{service} tomorrow 2pm to 4pm".',
            {"service": partial(_example_service, desk, member)},
        )
    )
    await desk.notify(member, Lines(lines, sep=" "))


async def _tell_provider(desk: Desk, regular: Regular, start: datetime) -> None:
    provider = await desk.tx.roster.person(str(regular.last_provider_id))
    weeks = max(1, desk.agency.policy.hiatus_after.days // 7)
    await desk.notify(
        provider,
        Lines(
            [
                Plural(
                    "{member} has had no session for {n} week and has nothing booked (your "
                    "last session together: {day}). You may want to get in touch.",
                    "{member} has had no session for {n} weeks and has nothing booked (your "
                    "last session together: {day}). You may want to get in touch.",
                    weeks,
                    {"member": regular.member.name, "day": partial(fmt_day, desk.local(start))},
                )
            ]
        ),
    )


async def arm_credit_notice(desk: Desk, credited_at: datetime) -> None:
    """The weekly credit notice goes at the first allowed moment after the credits (§10.2)."""
    await desk.tx.timers.add(CREDIT_NOTICE, allowed_from(desk, credited_at))


async def credit_notice(desk: Desk) -> None:
    """Tell each subscriber the week's credits are there, and how many they have."""
    for member in await desk.tx.roster.subscribers():
        if await desk.tx.roster.is_opted_out(member.id):
            continue
        _, credits = await desk.tx.ledger.balance(member.id)
        await desk.notify(
            member,
            Lines(
                [
                    Plural(
                        "This week's session credits are in: you have {n} credit to use.",
                        "This week's session credits are in: you have {n} credits to use.",
                        credits,
                    )
                ]
            ),
        )
