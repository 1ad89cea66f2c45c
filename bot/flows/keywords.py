"""Carrier keywords on SMS: STOP/ARRET opts out, START/UNSTOP (or YES) opts back in."""

from __future__ import annotations

from bot.domain.agency import Person
from bot.nlu.replies import normalize, sms_keyword
from bot.services.desk import Desk
from bot.services.optout import opt_in, opt_out

YES = frozenset({"yes", "oui", "y", "o"})


async def on_sms(desk: Desk, person: Person, text: str) -> bool:
    """Handle an opt-out or opt-in keyword; False for anything else (HELP is a command)."""
    keyword = sms_keyword(text)
    if keyword == "stop":
        await opt_out(desk, person)
        return True
    if keyword == "start":
        await opt_in(desk, person)
        return True
    # YES opts back in only when no request is waiting for this person's answer.
    if (
        normalize(text) in YES
        and await desk.tx.roster.is_opted_out(person.id)
        and not await desk.tx.offers.open_for(person.id)
    ):
        await opt_in(desk, person)
        return True
    return False
