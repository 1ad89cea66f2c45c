"""SMS opt-out and opt-in (product §6): STOP means nothing more is sent until START."""

from __future__ import annotations

from bot.domain.agency import Member, Person, Provider
from bot.i18n import N_
from bot.services.desk import Desk
from bot.services.notices import Notice, phrase

ROLES = {Member: N_("member"), Provider: N_("provider")}


async def opt_out(desk: Desk, person: Person) -> None:
    """Stop every SMS to this person and tell staff (the carrier confirms to the person)."""
    if await desk.tx.roster.is_opted_out(person.id):
        return
    await desk.tx.roster.set_opted_out(person.id, True)
    role = next(
        (label for kind, label in ROLES.items() if isinstance(person, kind)), N_("staff member")
    )
    await desk.notify_staff(
        Notice(
            "{name} ({role}, {phone}) replied STOP: no SMS will reach them until they send START.",
            {"name": person.name, "role": phrase(role), "phone": person.phone or ""},
        )
    )


async def opt_in(desk: Desk, person: Person) -> None:
    """Resume SMS to this person, and say so."""
    await desk.tx.roster.set_opted_out(person.id, False)
    await desk.tell(person, "You will receive our messages again. Reply HELP for the commands.")
