"""The outbox claim keeps each recipient's order: only their oldest queued message is leased.

On both engines (the `database` fixture): the claim is one statement per engine, written apart
(storage/repos/outbox.py), so each is held to the same rule here. A later message of a
recipient waits while the oldest is in flight or waiting for its retry; other recipients'
messages go meanwhile.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.app import Carebot
from bot.clock import VirtualClock
from bot.root import open_carebot
from bot.services.ports import OutgoingMessage, Retry
from tests.conftest import paris

NOW = paris("2026-11-23 10:00")
LEASE = timedelta(hours=1)  # outlives the test: no lease runs out in it
ANN, BEN, CAT = "+33600000001", "+33600000002", "+33600000003"


@pytest.fixture
async def bot(database: str) -> AsyncIterator[tuple[Carebot, VirtualClock]]:
    """A Carebot on the test database (no agency: the outbox alone), its clock at NOW."""
    clock = VirtualClock(NOW)
    carebot = await open_carebot(database, clock)
    yield carebot, clock
    await carebot.close()


async def _claim(bot: Carebot) -> list[str]:
    """Lease what may go now; its texts."""
    leased, _ = await bot.claim_outbox("sms", 10, owner="w", until=bot.clock.now() + LEASE)
    return [m.text for m in leased]


async def _left(bot: Carebot) -> bool:
    """Whether a claim now says a due message is left unleased (without leasing any)."""
    _, more = await bot.claim_outbox("sms", 0, owner="w", until=bot.clock.now() + LEASE)
    return more


async def test_only_each_recipients_oldest_queued_message_is_claimed(
    bot: tuple[Carebot, VirtualClock],
) -> None:
    carebot, clock = bot
    async with carebot.db.transaction() as tx:
        for address, text in [(ANN, "a1"), (BEN, "b1"), (ANN, "a2"), (BEN, "b2"), (CAT, "c1")]:
            await tx.outbox.enqueue(OutgoingMessage(NOW, None, "sms", address, text))
    leased, more = await carebot.claim_outbox("sms", 10, owner="w", until=NOW + LEASE)
    assert [m.text for m in leased] == ["a1", "b1", "c1"]
    # a2 and b2 are left, held back: a sender claims again as its sends land.
    assert more
    ids = {m.text: m.id for m in leased}
    assert await _claim(carebot) == []  # a2 and b2 wait behind a1 and b1, in flight
    await carebot.mark_sent(ids["a1"], "SM1")
    assert await _claim(carebot) == ["a2"]
    # b1 failed and waits a minute for its retry: b2 still waits behind it.
    await carebot.mark_retry(ids["b1"], Retry(NOW + timedelta(minutes=1), "503", owner="w"))
    assert await _claim(carebot) == []
    clock.advance(timedelta(minutes=1))
    assert await _claim(carebot) == ["b1"]
    await carebot.mark_sent(ids["b1"], "SM2")
    assert await _claim(carebot) == ["b2"]
    # Nothing left: a sender whose sends land need not claim again until a commit wakes it.
    assert not await _left(carebot)


async def test_a_pressed_message_not_recorded_yet_is_told_apart_from_a_stale_one(
    bot: tuple[Carebot, VirtualClock],
) -> None:
    """A press looks up the message it was made on; while a message with buttons to that chat
    is leased to a live sender, its record may still come (it is made before the send settles);
    otherwise a message not found is stale. The staff group's are the broadcasts'."""
    carebot, clock = bot
    yes = (("Oui", "mn:help"),)
    async with carebot.db.transaction() as tx:
        for address, options, broadcast in [
            ("42", yes, None),
            ("43", (), None),
            ("44", yes, "n1"),
        ]:
            message = OutgoingMessage(NOW, None, "telegram", address, "?", options, broadcast)
            await tx.outbox.enqueue(message)

    async def pressed(chat_id: int, *, group: bool = False) -> tuple[str | None, bool]:
        row, sending = await carebot.telegram_message(chat_id, 7, group=group)
        return (row.address if row else None), sending

    assert await pressed(42) == (None, False)  # queued, not sent: nothing to press yet
    leased, _ = await carebot.claim_outbox("telegram", 10, owner="w", until=NOW + LEASE)
    ids = {m.address: m.id for m in leased}
    assert await pressed(42) == (None, True)
    assert await pressed(43) == (None, False)  # no buttons on the way there
    assert await pressed(-100, group=True) == (None, True)
    await carebot.record_telegram_message(ids["42"], 42, 7)
    assert await pressed(42) == ("42", True)
    await carebot.mark_sent(ids["42"], "42:7")
    assert await pressed(42) == ("42", False)
    # A sender that died mid-send: once its lease ran out, nothing is on the way any more.
    clock.advance(LEASE)
    assert await pressed(-100, group=True) == (None, False)
