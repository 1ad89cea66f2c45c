"""Retries and duplicates: the same Twilio and Telegram deliveries, 2 to 5 times, at once.

Twilio posts a webhook again when it did not see our answer (same MessageSid); Telegram
delivers an update again after a timeout or a restart (same update_id). Here every delivery
is sent several times, shuffled, all concurrently, through the live server: each is
processed once, which the effects count (one answer per message, one booking per confirm).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import PARIS
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio import FakeTwilio
from tests.reliability.support import (
    LiveRun,
    Roster,
    bounded,
    live_bot,
    sms_form,
    telegram_text,
    wait_until,
)

pytestmark = pytest.mark.reliability

ROSTER = Roster.make(60)
WORDS = {"fr": ["aide", "solde", "mes réservations"], "en": ["help", "balance", "my bookings"]}
Live = tuple[LiveRun, FakeTwilio, FakeTelegram]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """One `carebot run`, both channels, Telegram by webhook."""
    with live_bot(tmp_path_factory.mktemp("duplicates"), ROSTER) as found:
        yield found


def _copies(rng: random.Random, items: list[Any]) -> list[Any]:
    """Each item 2 to 5 times, shuffled: copies interleave with other deliveries."""
    copies = [item for item in items for _ in range(rng.randint(2, 5))]
    rng.shuffle(copies)
    return copies


async def _post_all(run: LiveRun, forms: list[dict[str, str]]) -> list[int]:
    async with httpx.AsyncClient(timeout=10) as client:
        return await bounded(run.post_sms(client, form) for form in forms)


def _settle(run: LiveRun) -> None:
    """Wait until everything accepted is processed and sent, and a little more: a duplicate
    processed late would have time to show."""
    wait_until(run.settled, 30, run.backlog)
    time.sleep(1.0)
    wait_until(run.settled, 30, run.backlog)


def test_repeated_sms_deliveries_are_processed_once(live: Live) -> None:
    run, twilio, _ = live
    rng = random.Random(3)
    senders = ROSTER.members[:15]
    forms = [
        sms_form(str(who.phone), word)
        for who in senders
        for word in rng.sample(WORDS[who.lang], 2)
    ]
    statuses = asyncio.run(_post_all(run, _copies(rng, forms)))
    assert set(statuses) == {200}
    _settle(run)
    phones = {who.phone for who in senders}
    answers = Counter(m.to for m in twilio.messages() if m.to in phones)
    assert answers == Counter(form["From"] for form in forms)
    sids = [form["MessageSid"] for form in forms]
    stored = run.rows(
        f"SELECT external_id, processed_at FROM inbound WHERE external_id IN "
        f"({','.join('?' * len(sids))})",
        *sids,
    )
    assert len(stored) == len(sids) and all(processed for _, processed in stored)


def test_a_booking_step_delivered_many_times_moves_once(live: Live) -> None:
    """The same "1" five times must not pick a provider and then confirm the booking."""
    run, twilio, _ = live
    member, provider = ROSTER.members[20], ROSTER.providers[0]
    assert member.phone is not None and provider.phone is not None
    rng = random.Random(5)
    day = datetime.now(PARIS).date() + timedelta(days=3)
    steps = [
        sms_form(member.phone, f"Je voudrais une garde le {day.day}/{day.month} de 9h à 11h"),
        sms_form(member.phone, "1"),  # Zoé, the best rated, is first
    ]
    for form in steps:
        assert set(asyncio.run(_post_all(run, [form] * rng.randint(2, 5)))) == {200}
        _settle(run)
    assert len(twilio.messages(member.phone)) == 2  # the list, then the summary
    summary = twilio.messages(member.phone)[-1].body
    assert "Zoé Lambert" in summary and "1. Confirmer et envoyer" in summary
    assert run.rows("SELECT COUNT(*) FROM requests WHERE member_id = ?", member.id) == [(0,)]
    # Confirm, five times: one request, one offer to Zoé, one acknowledgement.
    assert set(asyncio.run(_post_all(run, [sms_form(member.phone, "1")] * 5))) == {200}
    _settle(run)
    assert run.rows("SELECT status, provider_id FROM requests WHERE member_id = ?", member.id) == [
        ("pending", provider.id)
    ]
    assert len(twilio.messages(member.phone)) == 3
    assert len([m for m in twilio.messages(provider.phone) if "Membre 20" in m.body]) == 1


async def _post_updates(run: LiveRun, updates: list[dict[str, Any]]) -> list[int]:
    async with httpx.AsyncClient(timeout=10) as client:
        return await bounded(run.post_update(client, u) for u in updates)


def test_repeated_telegram_updates_are_processed_once(live: Live) -> None:
    run, _, telegram = live
    rng = random.Random(9)
    people = ROSTER.telegram_members
    texts = {"fr": ["/balance", "/help"], "en": ["/help", "/bookings"]}
    updates = [
        telegram_text(700_000 + 10 * n + k, who, text, who.lang)
        for n, who in enumerate(people)
        for k, text in enumerate(texts[who.lang])
    ]
    assert set(asyncio.run(_post_updates(run, _copies(rng, updates)))) == {200}
    _settle(run)
    for who in people:
        assert who.telegram_id is not None
        assert len(telegram.messages_to(who.telegram_id)) == 2, who
    ids = [str(u["update_id"]) for u in updates]
    assert run.rows(
        f"SELECT COUNT(*) FROM inbound WHERE channel = 'telegram' AND processed_at IS NOT NULL "
        f"AND external_id IN ({','.join('?' * len(ids))})",
        *ids,
    ) == [(len(ids),)]


def test_a_repeated_press_and_contact_act_once(live: Live) -> None:
    run, _, telegram = live
    who = ROSTER.telegram_providers[1]
    assert who.telegram_id is not None
    # The menu; its "balance"-like button pressed once, delivered four times at once.
    before = len(telegram.messages_to(who.telegram_id))
    telegram.send_text(who.telegram_id, "/menu")
    menu = telegram.wait_message(who.telegram_id, "", after=before)
    label, data = menu.buttons()[0]
    update_id, _ = telegram.press(who.telegram_id, menu, data)
    [press] = [u for u in telegram.injected if u["update_id"] == update_id]
    assert set(asyncio.run(_post_updates(run, [press] * 4))) == {200}
    _settle(run)
    telegram.wait_for(lambda: menu.edits)
    assert len(menu.edits) == 1, (label, menu.edits)
    assert len(telegram.messages_to(who.telegram_id)) == before + 2  # the menu, one answer
    # A newcomer shares their own number three times, concurrently: linked once, one welcome.
    newcomer, member = 5555, ROSTER.members[59]
    assert member.phone is not None
    contact = {
        "update_id": 800_001,
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": newcomer, "type": "private", "first_name": "New"},
            "from": {"id": newcomer, "is_bot": False, "first_name": "New"},
            "contact": {
                "phone_number": member.phone.lstrip("+"),
                "first_name": "New",
                "user_id": newcomer,
            },
        },
    }
    assert set(asyncio.run(_post_updates(run, [contact] * 3))) == {200}
    _settle(run)
    assert run.rows("SELECT telegram_id FROM people WHERE id = ?", member.id) == [(newcomer,)]
    linked = [m for m in telegram.messages_to(newcomer) if "Membre 59" in m.text]
    assert len(linked) == 1, [m.text for m in telegram.messages_to(newcomer)]
