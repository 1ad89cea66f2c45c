"""Faults from outside: Twilio and the Bot API answer 500, then 429, then time out.

For a period (20 s, a minute with RELIABILITY_FULL=1), a third each, the fake Twilio and the
fake Bot API fail every send while members keep writing on both channels. Their answers
wait in the outbox; once the period is over every one of them goes out, exactly once, and
each recipient gets theirs in the order of the outbox.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from bot.handlers.sms_transport import TWILIO_TIMEOUT
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio import FakeTwilio
from tests.reliability.support import (
    FULL,
    LiveRun,
    Roster,
    live_bot,
    sms_form,
    telegram_text,
    wait_until,
)

pytestmark = pytest.mark.reliability

ROSTER = Roster.make(40)
PERIOD = 60.0 if FULL else 20.0  # how long the services fail, a third per kind of failure
TELEGRAM_TIMEOUT = 5.0  # python-telegram-bot's default read timeout
WORDS = {"fr": ["aide", "solde", "mes réservations"], "en": ["help", "balance", "my bookings"]}
Live = tuple[LiveRun, FakeTwilio, FakeTelegram]


@pytest.fixture
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """One `carebot run`, both channels, Telegram by webhook."""
    with live_bot(tmp_path_factory.mktemp("faults"), ROSTER) as found:
        yield found


async def _outage(twilio: FakeTwilio, telegram: FakeTelegram) -> None:
    """500s, then 429s, then timeouts: a third of PERIOD each, on both services at once."""
    third = PERIOD / 3
    twilio.fail_for(third, 500)
    telegram.fail_sends_for(third, 500)
    await asyncio.sleep(third)
    twilio.fail_for(third, 429)
    telegram.fail_sends_for(third, 429, retry_after=1)
    await asyncio.sleep(third)
    twilio.stall_for(third, hold=TWILIO_TIMEOUT + 1)
    telegram.fail_sends_for(third, 500, hold=TELEGRAM_TIMEOUT + 1)
    await asyncio.sleep(third)


STEADY_SMS = ROSTER.members[:4]  # write every second: their order is checked
NEWCOMERS = ROSTER.members[4:]  # one writes each second: their first send meets each phase
STEADY_TELEGRAM = ROSTER.telegram_members[:2]
STRANGERS = 880_000  # new Telegram users (each greeted once), one a second
TELEGRAM_WORDS = ["/help", "/balance", "/bookings"]


async def _chatter(run: LiveRun) -> int:
    """Members write on both channels through the outage; how many messages were posted."""
    update_ids = itertools.count(500_000)
    posted = 0
    async with httpx.AsyncClient(timeout=10) as client:
        for tick in range(int(PERIOD)):
            newcomer = NEWCOMERS[tick % len(NEWCOMERS)]
            statuses = [
                await run.post_sms(client, sms_form(str(who.phone), WORDS[who.lang][tick % 3]))
                for who in [*STEADY_SMS, newcomer]
            ]
            updates = [
                telegram_text(next(update_ids), who, TELEGRAM_WORDS[tick % 3], who.lang)
                for who in STEADY_TELEGRAM
            ]
            updates.append(telegram_text(next(update_ids), STRANGERS + tick, "bonjour"))
            statuses += [await run.post_update(client, update) for update in updates]
            assert set(statuses) == {200}
            posted += len(statuses)
            await asyncio.sleep(1.0)
    return posted


def test_failing_services_delay_messages_but_lose_none(live: Live) -> None:
    run, twilio, telegram = live

    async def outage_with_traffic() -> int:
        posted, _ = await asyncio.gather(_chatter(run), _outage(twilio, telegram))
        return posted

    began = time.monotonic()
    posted = asyncio.run(outage_with_traffic())
    assert run.value("SELECT COUNT(*) FROM outbox WHERE state = 'queued'") > 0, "no backlog"
    assert run.value("SELECT COUNT(*) FROM outbox") == posted
    # Backoff doubles from 2 s: the last retry of a message tried all along falls within
    # about the period again after it.
    wait_until(run.settled, 2 * PERIOD + 40, run.backlog)
    print(f"\nall sent {time.monotonic() - began - PERIOD:.0f}s after the outage")
    time.sleep(1.5)  # a duplicate would have time to arrive
    rows = run.outbox()
    assert {r["state"] for r in rows} == {"sent"}, run.backlog()
    _check_sms(twilio, [r for r in rows if r["channel"] == "sms"])
    _check_telegram(telegram, [r for r in rows if r["channel"] == "telegram"])
    # And the sends held past the clients' timeouts were retried as timeouts.
    log = run.log.read_text(errors="replace")
    assert re.search(r"sms: message \d+ retried in \d+s \(\w*TimeoutError", log)
    assert re.search(r"telegram: message \d+ retried in \d+s \(TimedOut", log)


def _check_sms(twilio: FakeTwilio, rows: list[dict[str, Any]]) -> None:
    """Each row reached Twilio once, under its token; per number, in outbox order."""
    assert sorted(str(m.idempotency_token) for m in twilio.messages()) == sorted(
        f"carebot-outbox-{r['id']}" for r in rows
    )
    for who in ROSTER.members:
        sent = [
            int(str(m.idempotency_token).rsplit("-", 1)[1])
            for m in twilio.messages(str(who.phone))
        ]
        assert sent == [r["id"] for r in rows if r["address"] == who.phone], who.id
    for who in STEADY_SMS:
        assert len(twilio.messages(str(who.phone))) == int(PERIOD)  # one answer a message
    refused = Counter(r.status for r in twilio.requests())
    assert {500, 429, 503} <= set(refused), refused


def _check_telegram(telegram: FakeTelegram, rows: list[dict[str, Any]]) -> None:
    """One Bot API message per row (a failed send created none), per chat in outbox order."""
    chats = {int(r["address"]) for r in rows}
    assert {who.telegram_id for who in STEADY_TELEGRAM} | {
        STRANGERS + tick for tick in range(int(PERIOD))
    } <= chats
    for chat in chats:
        sent = [f"{m.chat_id}:{m.message_id}" for m in telegram.messages_to(chat)]
        assert sent == [r["external_id"] for r in rows if r["address"] == str(chat)], chat
    for who in STEADY_TELEGRAM:
        assert who.telegram_id is not None
        assert len(telegram.messages_to(who.telegram_id)) == int(PERIOD)
    refused = Counter(c.status for c in telegram.calls_of("sendMessage"))
    assert {500, 429} <= set(refused), refused
