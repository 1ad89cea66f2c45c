"""A lease lasts at least as long as asked, on both engines.

Stored times are whole seconds (storage/codec.py, storage/postgres.py). A lease end cut down to
the second would end up to a second early, while its holder (a sender, the Telegram poller)
counts on the whole term and renews it a third of the way through: with a short lease another
worker could take what a healthy worker still holds. Each lease here is asked for 1.5 s, and
another worker tries to take it 1.2 s in.
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
ASKED = NOW + timedelta(seconds=1.5)
BEFORE_IT_ENDS = NOW + timedelta(seconds=1.2)
LONG = NOW + timedelta(hours=1)


@pytest.fixture
async def bot(database: str) -> AsyncIterator[Carebot]:
    """A Carebot on the test database (no agency: the outbox and the leases alone)."""
    carebot = await open_carebot(database, VirtualClock(NOW))
    async with carebot.db.transaction() as tx:
        await tx.outbox.enqueue(OutgoingMessage(NOW, None, "sms", "+33600000001", "hello"))
    yield carebot
    await carebot.close()


async def _taken_by_another(bot: Carebot) -> list[str]:
    """What another worker claims 1.2 s in."""
    async with bot.db.transaction() as tx:
        taken = await tx.outbox.claim("sms", BEFORE_IT_ENDS, 10, owner="other", until=LONG)
    return [m.text for m in taken]


async def test_a_claimed_lease_is_not_cut_short(bot: Carebot) -> None:
    async with bot.db.transaction() as tx:
        assert len(await tx.outbox.claim("sms", NOW, 10, owner="w", until=ASKED)) == 1
    assert await _taken_by_another(bot) == []


async def test_a_held_lease_is_not_cut_short(bot: Carebot) -> None:
    async with bot.db.transaction() as tx:
        [message] = await tx.outbox.claim("sms", NOW, 10, owner="w", until=NOW)
        assert await tx.outbox.hold_lease(message.id, "w", ASKED)
    assert await _taken_by_another(bot) == []


async def test_renewed_leases_are_not_cut_short(bot: Carebot) -> None:
    async with bot.db.transaction() as tx:
        assert len(await tx.outbox.claim("sms", NOW, 10, owner="w", until=NOW)) == 1
        assert await tx.outbox.renew_leases("w", ASKED) == 1
    assert await _taken_by_another(bot) == []


async def test_a_leader_lease_is_not_cut_short(bot: Carebot) -> None:
    async with bot.db.transaction() as tx:
        leader = await tx.coordination.lead("poller", "w", NOW, ASKED)
        assert leader.owner == "w" and leader.expires_at >= ASKED
        assert (await tx.coordination.lead("poller", "other", BEFORE_IT_ENDS, LONG)).owner == "w"


async def test_a_retry_is_not_brought_forward(bot: Carebot) -> None:
    """A 429 says when to try again (Telegram's retry_after): cut down to the second, the
    retry went out up to a second early, and met another 429."""
    async with bot.db.transaction() as tx:
        [message] = await tx.outbox.claim("sms", NOW, 10, owner="w", until=LONG)
        await tx.outbox.mark_retry(message.id, Retry(ASKED, "429", counted=False, owner="w"))
    assert await _taken_by_another(bot) == []
