"""The workers drain their queues without a last transaction that finds them empty.

Taking a delivery also says whether another waits (storage/repos/inbox.py), so a worker that
took the last one goes to sleep at once: under a steady trickle of messages, the look that
finds nothing was about one transaction in three. On both engines (the `bot` fixture).
"""

from __future__ import annotations

import pytest

from bot.app import Carebot
from bot.flows.router import Text
from tests.conftest import paris
from tests.peek import count_units

NOW = paris("2026-11-23 10:00")


async def _accept(bot: Carebot, *ids: str) -> None:
    bob = await bot.person("bob")
    assert bob.phone is not None
    for delivery_id in ids:
        assert await bot.accept("sms", bob.phone, Text("aide"), delivery_id)


async def test_taking_a_delivery_says_whether_another_waits(bot: Carebot) -> None:
    await _accept(bot, "SM1", "SM2")
    async with bot.db.transaction() as tx:
        first = await tx.inbox.take_next(NOW)
        second = await tx.inbox.take_next(NOW)
        none = await tx.inbox.take_next(NOW)
    assert first is not None and (first.external_id, first.more) == ("SM1", True)
    assert second is not None and (second.external_id, second.more) == ("SM2", False)
    assert none is None


async def test_draining_the_queue_costs_one_transaction_per_delivery(
    bot: Carebot, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _accept(bot, "SM1", "SM2", "SM3")
    units = count_units(bot, monkeypatch)
    assert await bot.process_pending() == 3
    assert units == [3]


async def test_timers_that_fired_wake_the_senders(bot: Carebot) -> None:
    """A sender that found its outbox empty sleeps until a commit's wake or its poll: what
    fired timers queue (reminders, the weekly credits notice) must wake it as messages do."""
    woken = 0

    async def hook() -> None:
        nonlocal woken
        woken += 1

    bot.after_commit.append(hook)
    assert await bot.fire_due_timers(paris("2026-11-30 00:00")) >= 1
    assert woken >= 1


async def test_a_failing_after_commit_hook_leaves_the_others_and_the_timers_going(
    bot: Carebot, caplog: pytest.LogCaptureFixture
) -> None:
    """The timer job's re-aim reads the database: if that read fails after a batch committed,
    the senders are still woken and the remaining timers still fire."""
    woken = 0

    async def broken() -> None:
        raise OSError("the database went away")

    async def hook() -> None:
        nonlocal woken
        woken += 1

    bot.after_commit.extend([broken, hook])
    assert await bot.fire_due_timers(paris("2026-11-30 00:00")) >= 1
    assert woken >= 1
    assert "after-commit hook failed" in caplog.text
