"""Authorization through the real channels: who may act on what, and no phone number early.

A provider tries to answer another provider's request (pressing their Telegram message,
forging the button's data on a message of their own, typing "OUI" by SMS); a member tries to
see and cancel another member's booking; members and providers press staff buttons in the
staff group and type staff commands; all of it is refused and nothing changes, while the
rightful person's own action still works. Meanwhile an appointment starts (in 25 s, a minute
with RELIABILITY_FULL=1) on the live timers: until then no message to a member or a provider,
on either fake, carries anyone else's phone number; at the start both get the other's.

The tests share one `carebot run` and run in file order: the first asks questions before
the start, the last waits for it and reads the whole module's traffic.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import phonenumbers
import pytest

from bot.i18n import tr
from bot.services import appointments
from bot.services.desk import open_desk
from tests.appointments import add_confirmed
from tests.channels.test_sms import option
from tests.channels.test_telegram import Live as TelegramLive
from tests.conftest import PARIS
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio import FakeMessage, FakeTwilio
from tests.live import opened
from tests.reliability.support import (
    FULL,
    GROUP,
    LiveRun,
    Roster,
    Who,
    live_bot,
    sms_form,
    texts,
    wait_until,
)

pytestmark = pytest.mark.reliability

ROSTER = Roster.make(10)
START_IN = 60.0 if FULL else 25.0  # seconds until the appointment whose phones are shared
NORA, OMAR = ROSTER.telegram_providers
TESS, UGO = ROSTER.telegram_members[:2]
SOPHIE = ROSTER.staff[0]
CLIENT, CARER = ROSTER.members[3], ROSTER.providers[2]  # the appointment that starts
NOT_STAFF = "This action is reserved for agency staff."
FOREIGN = "This button is not for you."
STALE = "This button is no longer valid."
PHONE_LIKE = re.compile(r"\+?\d[\d .\-]{7,}\d")


@dataclass
class Live:
    """The bot, its fakes, the channel tests' Telegram helpers, and when the appointment
    starts."""

    run: LiveRun
    twilio: FakeTwilio
    telegram: FakeTelegram
    tg: TelegramLive
    start: float  # epoch seconds


async def _starting_at(db: Path | str, member: Who, provider: Who, start: datetime) -> None:
    """A confirmed appointment at `start`, with every timer the bot sets for one."""
    async with opened(db) as bot, open_desk(bot.db, bot.clock) as desk:
        request = await add_confirmed(desk.tx.requests, member.id, provider.id, start, desk.now)
        await appointments.schedule(desk, request)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """One `carebot run`; the appointment is set first, the tests run while it approaches."""
    with live_bot(tmp_path_factory.mktemp("authorization"), ROSTER) as (run, twilio, telegram):
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=START_IN)
        asyncio.run(_starting_at(run.db, CLIENT, CARER, start))
        tg = TelegramLive("webhook", telegram, run.port, run.db, run.log)
        yield Live(run, twilio, telegram, tg, start.timestamp())


def _day() -> date:
    """The day of the bookings made here (far enough for the notice)."""
    return datetime.now(PARIS).date() + timedelta(days=3)


def _sms(live: Live, who: Who, text: str) -> FakeMessage:
    """`who` sends an SMS; the first SMS they get after it."""
    assert who.phone is not None
    seen = len(live.twilio.messages(who.phone))
    assert live.run.sms(sms_form(who.phone, text)) == 200
    return live.twilio.wait_for(who.phone, seen + 1)[seen]


def _status(live: Live, request_id: int) -> tuple[str, str | None]:
    """A request's status and provider."""
    [(status, provider)] = live.run.rows(
        "SELECT status, provider_id FROM requests WHERE id = ?", request_id
    )
    return status, provider


def _book_by_sms(live: Live, member: Who, provider: Who, hours: str) -> int:
    """`member` books `provider` by SMS for `hours` ("10h à 12h") on the test day; the id."""
    day = _day()
    listed = _sms(live, member, f"Je voudrais une garde le {day.day}/{day.month} de {hours}")
    summary = _sms(live, member, option(listed, provider.name))
    assert provider.name in summary.body
    _sms(live, member, "1")
    [(request_id,)] = live.run.rows(
        "SELECT id FROM requests WHERE member_id = ? ORDER BY id DESC LIMIT 1", member.id
    )
    return int(request_id)


def _numbers_in(text: str) -> set[str]:
    """The last nine digits of everything that looks like a phone number in a text."""
    return {re.sub(r"\D", "", match)[-9:] for match in PHONE_LIKE.findall(text)}


def _national(phone: str) -> str:
    """'+33613000002' -> '613000002'."""
    return str(phonenumbers.parse(phone).national_number)


def test_nothing_before_the_start_shows_a_phone_number(live: Live) -> None:
    """First: both ask what they can while the appointment approaches."""
    assert CARER.phone is not None
    live.twilio.wait_for(CARER.phone, where=lambda m: CLIENT.name in m.body, timeout=10)
    answers = [_sms(live, CLIENT, text) for text in ("mes réservations", "aide", "menu")]
    answers += [_sms(live, CARER, text) for text in ("/today", "aide", "gains")]
    assert time.time() < live.start, "the start came before the checks: raise START_IN"
    assert any(CARER.name in a.body for a in answers)  # the booking is shown...
    assert not any(_numbers_in(a.body) for a in answers)  # ...without a number


def test_a_provider_cannot_answer_another_providers_request(live: Live) -> None:
    fake, tg = live.telegram, live.tg
    assert NORA.telegram_id and OMAR.telegram_id
    request_id = _book_by_sms(live, ROSTER.members[0], NORA, "10h à 12h")
    offer = fake.wait_message(NORA.telegram_id, "Membre 00")
    yes = offer.button("Oui")
    # Omar presses Nora's message: not his.
    refused = tg.press(OMAR.telegram_id, offer, "Oui", language_code="en")
    assert refused["text"] == tr(OMAR.lang, FOREIGN) and refused["show_alert"] is True
    # Omar puts Nora's "yes" on a message of his own: not one of its options.
    menu = tg.say(OMAR.telegram_id, "/menu", language_code="en")
    _, query = fake.press(OMAR.telegram_id, menu, yes, language_code="en")
    assert fake.answer_to(query)["text"] == tr(OMAR.lang, STALE)
    # Hugo answers "OUI" by SMS, then "absent": nothing waits for him, nothing moves.
    waiting = _sms(live, ROSTER.providers[1], "OUI").body
    assert waiting in texts("No request is waiting for your answer.")
    assert _sms(live, ROSTER.providers[1], "absent").body
    time.sleep(0.5)
    assert _status(live, request_id) == ("pending", NORA.id)
    assert not offer.edits
    # Nora's own press still counts.
    assert tg.press(NORA.telegram_id, offer, "Oui").get("show_alert") is not True
    wait_until(lambda: _status(live, request_id) == ("confirmed", NORA.id), 10)


def test_a_member_cannot_see_or_cancel_another_members_booking(live: Live) -> None:
    fake, tg = live.telegram, live.tg
    assert TESS.telegram_id and UGO.telegram_id
    day = _day()
    wanted = f"Je voudrais une garde le {day.day}/{day.month} de 14h à 16h"
    listed = tg.say(TESS.telegram_id, wanted, "Zoé")
    tg.press(TESS.telegram_id, listed, "Zoé")
    summary = fake.wait_message(TESS.telegram_id, "Envoyer la demande")
    tg.press(TESS.telegram_id, summary, "Confirmer")
    fake.wait_message(TESS.telegram_id, "Demande envoyée")
    [(request_id,)] = live.run.rows("SELECT id FROM requests WHERE member_id = ?", TESS.id)
    cancel = tg.say(TESS.telegram_id, "/cancel", "Zoé")
    data = cancel.button("Zoé")
    # Ugo presses Tess's list, then forges its data on his own menu.
    refused = tg.press(UGO.telegram_id, cancel, "Zoé", language_code="en")
    assert refused["text"] == tr(UGO.lang, FOREIGN)
    menu = tg.say(UGO.telegram_id, "/menu", language_code="en")
    _, query = fake.press(UGO.telegram_id, menu, data, language_code="en")
    assert fake.answer_to(query)["text"] == tr(UGO.lang, STALE)
    # What he can ask shows his own (none), on Telegram and, for another member, by SMS.
    for command in ("/bookings", "/cancel", "/change"):
        answer = tg.say(UGO.telegram_id, command, language_code="en")
        assert "Zoé" not in answer.text and "Tess" not in answer.text, answer.text
    for text in ("mes réservations", "annuler", "modifier", "annuler tout", "1"):
        said = _sms(live, ROSTER.members[1], text).body
        assert "Zoé" not in said and "14:00" not in said, (text, said)
    time.sleep(0.5)
    assert _status(live, request_id) == ("pending", "p0")
    assert live.run.rows("SELECT COUNT(*) FROM requests WHERE status = 'cancelled'") == [(0,)]


def test_staff_actions_are_refused_to_members_and_providers(live: Live) -> None:
    fake, tg = live.telegram, live.tg
    assert OMAR.telegram_id and NORA.telegram_id and UGO.telegram_id and SOPHIE.telegram_id
    request_id = _book_by_sms(live, ROSTER.members[2], OMAR, "16h à 18h")
    offer = fake.wait_message(OMAR.telegram_id, "Membre 02")
    group_before = len(fake.messages_to(GROUP))
    tg.press(OMAR.telegram_id, offer, "No", language_code="en")
    escalation = fake.wait_message(GROUP, "Membre 02", after=group_before)
    for who in (UGO, NORA, OMAR):
        assert who.telegram_id
        answer = tg.press(who.telegram_id, escalation, "Hugo", language_code=who.lang)
        assert answer["text"] == tr(who.lang, NOT_STAFF) and answer["show_alert"] is True
    assert tg.press(7777, escalation, "Hugo", language_code="en")["show_alert"] is True
    for who in (UGO, NORA):
        assert who.telegram_id
        for command in ("/pending", "/unresolved"):
            # The refusal, then the person's help: two messages, which may arrive in any order.
            refusal = tr(who.lang, NOT_STAFF)
            assert tg.say(who.telegram_id, command, re.escape(refusal)).text == refusal
    for who in (ROSTER.members[2], ROSTER.providers[1]):
        assert who.phone is not None
        seen = len(live.twilio.messages(who.phone))
        assert live.run.sms(sms_form(who.phone, "/pending")) == 200
        answers = live.twilio.wait_for(who.phone, seen + 2)[seen:]
        assert {a.body for a in answers} & texts(NOT_STAFF), [a.body for a in answers]
    time.sleep(0.5)
    assert _status(live, request_id) == ("escalated", None)
    assert not escalation.edits
    # Sophie's press works.
    tg.press(SOPHIE.telegram_id, escalation, "Hugo")
    wait_until(lambda: _status(live, request_id) == ("pending", "p1"), 10)


def test_phone_numbers_are_shared_at_the_start_and_never_before(live: Live) -> None:
    """Last: the start comes, and the whole module's traffic is checked."""
    assert CLIENT.phone and CARER.phone
    wait_until(lambda: time.time() > live.start, START_IN + 5)
    shared = live.twilio.wait_for(
        CLIENT.phone, where=lambda m: _national(str(CARER.phone)) in _numbers_in(m.body)
    )
    live.twilio.wait_for(
        CARER.phone, where=lambda m: _national(str(CLIENT.phone)) in _numbers_in(m.body)
    )
    assert all(m.received_at >= live.start for m in shared)
    # Before it, nobody but staff ever saw a number other than their own, on either channel.
    by_phone = {who.phone: who for who in ROSTER.all() if who.phone}
    by_chat = {who.telegram_id: who for who in ROSTER.all() if who.telegram_id}
    early = [
        (by_phone[m.to], m.body) for m in live.twilio.messages() if m.received_at < live.start
    ]
    early += [
        (by_chat[m.chat_id], m.text)
        for m in live.telegram.sent
        if m.at < live.start and m.chat_id in by_chat
    ]
    owners = {_national(phone): who for phone, who in by_phone.items()}
    for who, text in early:
        if who.role != "staff":
            leaked = [owners[n].id for n in _numbers_in(text) if n in owners and owners[n] != who]
            assert not leaked, (who.id, leaked, text)
    assert early
