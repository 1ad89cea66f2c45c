"""Requests handed to staff: the notice with the providers still free and its actions,
the reminder before the start, and which staff member handled it."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime

from bot.domain.agency import Person
from bot.domain.booking import Request
from bot.i18n import N_, tr
from bot.services import appointments
from bot.services.actions import action
from bot.services.desk import Desk
from bot.services.matching import Wanted, available_providers, partly_available
from bot.services.notices import Label, Lines, Localized, Notice, Plural, clock, phrase
from bot.services.ports import Escalation
from bot.services.wording import described, spans_text

ESCALATION_REMINDER = appointments.ESCALATION_REMINDER
UNFILLED_AT_START = appointments.UNFILLED_AT_START


REASONS = {
    "declined": N_("{provider} declined."),
    "no_answer": N_("{provider} did not answer in time."),
    "no_provider": N_("No provider was available."),
    "provider_cancelled": N_("{provider} cancelled the session."),
    "change_unavailable": N_("{provider} cannot take the changed booking."),
    "sms_failed": N_("Our SMS to {provider} could not be delivered."),
    "series_clash": N_(
        "{provider} cannot take this session of a weekly series (day off or another booking)."
    ),
}


async def escalate_reassured(
    desk: Desk,
    request: Request,
    provider: Person,
    message: str,
    reason: str,
    later: Sequence[Request] = (),
) -> None:
    """Hand staff a request its provider fell through on, once its member is told `message`
    (an N_() catalogue message with {provider} and {what}) that the team takes over; `later`:
    the later sessions of its series that go to staff with it, in the same notice."""
    member = await desk.tx.roster.person(request.member_id)
    await desk.tell(member, message, provider=provider.name, what=described(desk, request))
    escalation = await escalate(desk, request, reason, provider.id, notify=False)
    with_it = [await escalate(desk, r, reason, provider.id, notify=False) for r in later]
    await announce(desk, escalation, request, with_it)


async def escalate(
    desk: Desk, request: Request, reason: str, about: str | None, *, notify: bool = True
) -> Escalation:
    """Give staff a request with the ranked providers still free and 'close as unfilled'
    (`notify` False: the escalation, its reminder and its close at the start, the notice left
    to the caller's `announce`)."""
    escalation = await desk.tx.escalations.add(request.id, reason, about, desk.now)
    if notify:
        await announce(desk, escalation, request)
    # Never left to rot (§1.10): a reminder before the start, and closed at the start.
    timers: list[tuple[str, datetime, int | None, int | None]] = [
        (UNFILLED_AT_START, max(request.start, desk.now), request.id, escalation.id)
    ]
    remind_at = request.start - desk.agency.policy.escalation_reminder
    if remind_at > desk.now:
        timers.append((ESCALATION_REMINDER, remind_at, request.id, escalation.id))
    await desk.tx.timers.add_many(timers)
    return escalation


async def announce(
    desk: Desk, escalation: Escalation, request: Request, later: Sequence[Escalation] = ()
) -> None:
    """Staff get an escalation's notice; `later`: escalations of the same series's later
    sessions, which it names (a provider who says no to a series is one notice, not one per
    session)."""
    about_name = (await desk.tx.roster.person(escalation.about)).name if escalation.about else ""
    member = await desk.tx.roster.person(request.member_id)
    head = Notice(
        "Escalation #{id}: request from {member} ({what}). {why}",
        {
            "id": escalation.id,
            "member": member.name,
            "what": described(desk, request),
            "why": phrase(REASONS[escalation.reason], provider=about_name),
        },
    )
    notes: list[Notice | Localized] = []
    if later:
        notes.append(
            Plural(
                "{n} more session of this weekly series went to staff with it ({ids}): "
                "/pending lists it.",
                "{n} more sessions of this weekly series went to staff with it ({ids}): "
                "/pending lists them.",
                len(later),
                {"ids": functools.partial(_numbers, [e.id for e in later])},
            )
        )
    await desk.notify_staff(await with_actions(desk, escalation, request, head, notes))


def _numbers(ids: Sequence[int], lang: str) -> str:
    """'#2, #3' / 'n° 2, n° 3': escalations named as the reader's language numbers them."""
    return ", ".join(tr(lang, "#{id}", id=number) for number in ids)


async def with_actions(
    desk: Desk,
    escalation: Escalation,
    request: Request,
    head: Notice,
    notes: Sequence[Notice | Localized] = (),
) -> Lines:
    """A staff notice about an escalation: its head (and `notes`), the providers still free,
    the actions."""
    asked = await desk.tx.offers.providers_asked(request.id)
    wanted = Wanted(request.service_id, request.start, request.end, frozenset(asked))
    candidates = await available_providers(desk, request.member_id, wanted)
    partly = await partly_available(desk, wanted)
    more = (
        Notice("Available providers, best first:")
        if candidates
        else Notice("Nobody else is available for this window.")
    )
    options: list[tuple[Label, str]] = [
        (
            phrase("Offer to {provider}", provider=c.provider.name),
            action("eo", escalation.id, c.provider.id),
        )
        for c in candidates
    ]
    # Staff may know that someone free for part of the window can stretch: offer them too.
    options += [
        (
            phrase(
                "Offer to {provider} (free {spans} only)",
                provider=p.name,
                spans=functools.partial(spans_text, spans),
            ),
            action("eo", escalation.id, p.id),
        )
        for p, spans in partly
    ]
    options.append((N_("Close as unfilled"), action("eu", escalation.id)))
    return Lines([head, *notes, more], options)


async def remind_staff(desk: Desk, escalation: Escalation, request: Request) -> None:
    """An escalation still open near the start: staff get it again, with its actions."""
    member = await desk.tx.roster.person(request.member_id)

    head = Notice(
        "Reminder: escalation #{id} is still open: request from {member} ({what}). "
        "Without a provider by {time}, it will be closed as unfilled.",
        {
            "id": escalation.id,
            "member": member.name,
            "what": described(desk, request),
            "time": clock(desk.local(request.start)),
        },
    )
    await desk.notify_staff(await with_actions(desk, escalation, request, head))


async def escalation_of_kind(
    desk: Desk, staff: Person, escalation_id: int, *reasons: str
) -> Escalation | None:
    """An escalation if it is of a kind an action expects (a waiver, a change), else None."""
    found = await desk.tx.escalations.get(escalation_id)
    if found is None or found.reason not in reasons:
        await desk.stale(staff)
        return None
    return found


async def claim(desk: Desk, staff: Person, escalation_id: int, outcome: str) -> Escalation | None:
    """Take an escalation for one staff member; others are told, a second press changes nothing."""
    escalation = await desk.tx.escalations.get(escalation_id)
    if escalation is None:
        await desk.tell(staff, "This escalation no longer exists.")
        return None
    if not await desk.tx.escalations.claim(escalation_id, staff.id, outcome, desk.now):
        if escalation.handled_by is None:
            await desk.tell(
                staff,
                "Escalation #{id} is already closed: nobody had confirmed by the start.",
                id=escalation_id,
            )
            return None
        handler = await desk.tx.roster.person(escalation.handled_by)
        await desk.tell(
            staff,
            "Escalation #{id} was already handled by {staff}.",
            id=escalation_id,
            staff=handler.name,
        )
        return None
    return escalation


async def tell_other_staff(
    desk: Desk, acting: Person, escalation_id: int, outcome_msg: str, **params: object
) -> None:
    """Tell the staff member who acted on an escalation that it is done, and every other
    staff member who acted, and how (the one who acts is not told of their own action)."""
    done = phrase(outcome_msg, **params)
    # Always the name, never "you": one copy of this may be what a whole staff group reads.
    await desk.notify_staff(
        Notice(
            "Escalation #{id}: {staff} {done}",
            {"id": escalation_id, "staff": acting.name, "done": done},
        ),
        but=acting,
    )
    await desk.tell(acting, "Escalation #{id}: you {done}", id=escalation_id, done=done)
