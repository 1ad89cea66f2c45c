"""Staff actions on escalations, refused to anyone who is not staff."""

from __future__ import annotations

from bot.domain.agency import Person, Staff
from bot.domain.booking import OPEN
from bot.flows.common import help_text
from bot.i18n import tr
from bot.services.booking import staff_close_unfilled, staff_offer
from bot.services.desk import Desk
from bot.services.notices import status_words
from bot.services.wording import describe


async def refuse_unless_staff(desk: Desk, person: Person) -> bool:
    """True (after telling them) when a non-staff person tries a staff action."""
    if isinstance(person, Staff):
        return False
    await desk.tell(person, "This action is reserved for agency staff.")
    await desk.send(person, help_text(desk, person))  # what they can do instead
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


async def list_pending(desk: Desk, person: Person) -> None:
    """/pending: the escalations nobody has handled yet."""
    if await refuse_unless_staff(desk, person):
        return
    lang = desk.lang(person)
    open_ones = await desk.tx.escalations.open()
    if not open_ones:
        await desk.tell(person, "No escalation is waiting.")
        return
    lines = [tr(lang, "Escalations waiting:")]
    for escalation in open_ones:
        request = await desk.tx.requests.get(escalation.request_id)
        member = await desk.tx.roster.person(request.member_id)
        lines.append(f"#{escalation.id} {member.name}: {describe(desk, request, lang)}")
    await desk.send(person, "\n".join(lines))


async def list_unresolved(desk: Desk, person: Person) -> None:
    """/unresolved: appointments past their end that are not yet settled (§2.5: 100 %)."""
    if await refuse_unless_staff(desk, person):
        return
    lang = desk.lang(person)
    late = await desk.tx.requests.unsettled_before(desk.now, OPEN)
    if not late:
        await desk.tell(person, "Every past appointment is settled.")
        return
    lines = [tr(lang, "Past appointments not settled yet:")]
    for request in late:
        member = await desk.tx.roster.person(request.member_id)
        who = (
            (await desk.tx.roster.person(request.provider_id)).name if request.provider_id else "-"
        )
        status = status_words(lang, request.status, staff=True)
        lines.append(f"• {member.name} / {who}: {describe(desk, request, lang)} ({status})")
    await desk.send(person, "\n".join(lines))


async def send_console_link(desk: Desk, person: Person) -> None:
    """/console: a one-time sign-in link to the web console (§11.1), to staff only."""
    if await refuse_unless_staff(desk, person):
        return
    lang = desk.lang(person)
    if desk.console is None:
        await desk.send(person, tr(lang, "The web console is not set up for this agency."))
        return
    await desk.send(
        person,
        tr(
            lang,
            "Your sign-in link to the console (it works once, within 15 minutes): {link}",
            link=desk.console.link(person.id, desk.now),
        ),
    )
