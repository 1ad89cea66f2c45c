"""Help lists every command of a person's role, in their language, each one understood (§3).

Every quoted word in a help text must be something the bot acts on, and the help of each role
must fit two SMS segments (after the SMS normalisation), with "did not understand" before it.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime
from typing import Any, cast

import pytest

from bot.agency_file import load_agency_file
from bot.domain.agency import Person
from bot.flows.common import help_text
from bot.flows.payment import parse_amount
from bot.handlers.sms_text import normalise, segments
from bot.i18n import tr
from bot.nlu.commands import find_service, match_command
from bot.nlu.hours import parse_hours
from bot.nlu.replies import INTENTS, parse_reply
from bot.services.desk import Desk
from tests.conftest import AGENCY

FILE = load_agency_file(AGENCY)
DESK = Desk(
    tx=cast(Any, None),  # help reads no storage
    now=datetime(2026, 11, 23, 9),
    agency=FILE.agency,
    services={s.id: s for s in FILE.services},
)
ROLES = {"member": FILE.members[0], "provider": FILE.providers[0], "staff": FILE.staff[0]}
MEMBER = {"bookings", "cancel", "change", "waiver", "balance", "language", "menu"}
# Every report a carer can text is in their help: all the intents but the answers to an
# offer (OUI/NON, shown apart), the carrier keywords and what is not understood.
PROVIDER_SAYS = set(INTENTS) - {"confirm", "decline", "help", "stop", "start", "unknown"}
PROVIDER = {"bookings", "earnings", "language", "menu"}
STAFF = {"language", "menu"}


def _help(role: str, lang: str) -> str:
    person: Person = replace(ROLES[role], language=lang)
    return help_text(DESK, person)


def _quoted(text: str) -> list[str]:
    return re.findall(r'"([^"]+)"', text)


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_member_help_lists_every_member_command(lang: str) -> None:
    text = _help("member", lang)
    quoted = _quoted(text)
    commands = {match_command(q) for q in quoted} - {None}
    assert commands == MEMBER, text
    # The one quoted phrase that is no command is the booking example, and it books.
    (example,) = [q for q in quoted if match_command(q) is None]
    assert find_service(example, DESK.services.values()) == "childcare"


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_provider_help_lists_every_provider_command(lang: str) -> None:
    text = _help("provider", lang)
    quoted = _quoted(text)
    commands = {match_command(q) for q in quoted} - {None}
    # Their own hours (§9) are free text too: the phrase shown must show them.
    now = datetime(2026, 11, 23, 9)
    hours = [q for q in quoted if (c := parse_hours(q, now, lang)) and c.kind == "show"]
    says = {
        parse_reply(q, lang).intent for q in quoted if match_command(q) is None and q not in hours
    }
    assert commands == PROVIDER, text
    assert says == PROVIDER_SAYS, text
    assert len(hours) == 1, text
    assert ("OUI" if lang == "fr" else "YES") in text


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_staff_help_lists_every_staff_command(lang: str) -> None:
    text = _help("staff", lang)
    assert {match_command(q) for q in _quoted(text)} - {None} == STAFF, text
    for command in ("/pending", "/unresolved", "/console"):
        assert command in text and match_command(command) is not None
    example = next(q for q in _quoted(text) if q.startswith("/pa"))
    _, who, amount = example.split()
    assert (who, parse_amount(amount)) == ("alice", parse_amount("82.00"))


@pytest.mark.parametrize("role", sorted(ROLES))
@pytest.mark.parametrize("lang", ["fr", "en"])
def test_help_fits_two_sms_segments(role: str, lang: str) -> None:
    text = tr(lang, "Sorry, I did not understand.") + " " + _help(role, lang)
    assert segments(normalise(text)) <= 2, (len(normalise(text)), text)
