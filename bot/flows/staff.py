"""Staff actions on escalations, refused to anyone who is not staff."""

from __future__ import annotations

from functools import partial

from bot.domain.agency import Person, Staff
from bot.domain.booking import OPEN, Request
from bot.services.booking import staff_close_unfilled, staff_offer
from bot.services.desk import Desk
from bot.services.notices import Lines, Localized, Notice, status_words
from bot.services.wording import describe


async def refuse_unless_staff(desk: Desk, person: Person) -> bool:
    """True (after telling them) when a non-staff person tries a staff action."""
    if isinstance(person, Staff):
        return False
    await desk.tell(person, "This action is reserved for agency staff.")
    await desk.notify(person, desk.help_notice(person))  # what they can do instead
    return True


async def escalation_number(desk: Desk, person: Person, escalation_id: str) -> int | None:
    """The escalation a staff action names; None (after saying why) for others or garbage."""
    if await refuse_unless_staff(desk, person):
        return None
    if not escalation_id.isdigit():
        await desk.stale(person)
        return None
    return int(escalation_id)


async def on_offer(desk: Desk, person: Person, escalation_id: str, provider_id: str) -> None:
    """'Offer to <provider>' on an escalation."""
    if (number := await escalation_number(desk, person, escalation_id)) is not None:
        await staff_offer(desk, person, number, provider_id)


async def on_unfilled(desk: Desk, person: Person, escalation_id: str) -> None:
    """'Close as unfilled' on an escalation."""
    if (number := await escalation_number(desk, person, escalation_id)) is not None:
        await staff_close_unfilled(desk, person, number)


async def _send_list(
    desk: Desk, person: Person, title: Notice, lines: list[Localized], empty: Notice
) -> None:
    """A staff list: its title then one line each, or `empty` when there is no line."""
    await desk.notify(person, Lines([title, *lines]) if lines else empty)


async def list_pending(desk: Desk, person: Person) -> None:
    """/pending: the escalations nobody has handled yet."""
    if await refuse_unless_staff(desk, person):
        return
    lines: list[Localized] = []
    for escalation in await desk.tx.escalations.open():
        request = await desk.tx.requests.get(escalation.request_id)
        member = await desk.tx.roster.person(request.member_id)
        lines.append(partial(_pending_line, desk, escalation.id, member.name, request))
    await _send_list(
        desk, person, Notice("Escalations waiting:"), lines, Notice("No escalation is waiting.")
    )


def _pending_line(desk: Desk, number: int, member: str, request: Request, lang: str) -> str:
    return f"#{number} {member}: {describe(desk, request, lang)}"


async def list_unresolved(desk: Desk, person: Person) -> None:
    """/unresolved: appointments past their end that are not yet settled (§2.5: 100 %)."""
    if await refuse_unless_staff(desk, person):
        return
    lines: list[Localized] = []
    for request in await desk.tx.requests.unsettled_before(desk.now, OPEN):
        member = await desk.tx.roster.person(request.member_id)
        who = (
            (await desk.tx.roster.person(request.provider_id)).name if request.provider_id else "-"
        )
        lines.append(partial(_unresolved_line, desk, member.name, who, request))
    title = Notice("Past appointments not settled yet:")
    await _send_list(desk, person, title, lines, Notice("Every past appointment is settled."))


def _unresolved_line(desk: Desk, member: str, who: str, request: Request, lang: str) -> str:
    status = status_words(lang, request.status, staff=True)
    return f"• {member} / {who}: {describe(desk, request, lang)} ({status})"


async def send_console_link(desk: Desk, person: Person) -> None:
    """/console: a one-time sign-in link to the web console (§11.1), to staff only."""
    if await refuse_unless_staff(desk, person):
        return
    if desk.console is None:
        await desk.tell(person, "The web console is not set up for this agency.")
        return
    await desk.tell(
        person,
        "Your sign-in link to the console (it works once, within 15 minutes): {link}",
        link=desk.console.link(person.id, desk.now),
    )
