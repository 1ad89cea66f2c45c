"""Claims that make two workers on one database act once, tested without BEGIN IMMEDIATE's help.

Each worker reads what is due in one unit of work and acts on it in another, as the live bot
does for inbound messages and as any worker with a stale list would. Writers take turns on
SQLite, so the only thing that stops the second worker is the claim itself: the conditional
UPDATE that succeeds for one worker only. Removing the condition makes these tests fail.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import Carebot
from bot.clock import VirtualClock
from bot.flows.router import Text
from bot.services.desk import open_desk
from bot.services.timers import fire
from tests.conftest import paris, two_carebots


@pytest.fixture
async def workers(tmp_path: Path) -> AsyncIterator[tuple[Carebot, Carebot]]:
    """Two Carebots on one SQLite file, as two `carebot run` processes would be."""
    clock = VirtualClock(paris("2026-11-23 10:00"))
    async with two_carebots(tmp_path / "carebot.db", clock) as pair:
        yield pair


async def test_a_stale_timer_list_fires_each_timer_once(
    workers: tuple[Carebot, Carebot],
) -> None:
    first, second = workers
    monday = paris("2026-11-30 00:00")
    async with first.db.read() as tx:
        # The daily round of check-ins (§10) is due before Monday too; it is not the subject.
        stale = [t for t in await tx.timers.due(monday, 10) if t.kind == "weekly_credits"]
    assert [t.kind for t in stale] == ["weekly_credits"]

    assert await second.fire_due_timers(monday) >= 1
    async with open_desk(first.db, first.clock) as desk:
        fired = [await fire(desk, timer) for timer in stale]

    assert fired == [False]
    # The credits timer re-arms itself when it fires: once, not twice.
    async with first.db.read() as tx:
        again = list(await tx.timers.due(paris("2026-12-31 00:00"), 50))
    assert [t.kind for t in again].count("weekly_credits") == 1


async def test_a_delivery_read_by_two_workers_is_handled_once(
    workers: tuple[Carebot, Carebot],
) -> None:
    first, second = workers
    bob = await first.person("bob")
    assert bob.phone is not None
    assert await first.accept("sms", bob.phone, Text("aide"), "SM0001")
    async with first.db.read() as tx:
        seen_by_first = await tx.inbox.unprocessed(10)
    async with second.db.read() as tx:
        seen_by_second = await tx.inbox.unprocessed(10)
    assert len(seen_by_first) == len(seen_by_second) == 1

    # Both workers believe the message is theirs to handle; only one claim may win.
    assert await first.process_pending() == 1
    for channel, delivery_id, address, _payload in seen_by_second:
        await second._process(channel, delivery_id, address, Text("aide"))

    replies = [m for m in await first.outbox_after(0) if m.person_id == "bob"]
    assert len(replies) == 1, [m.text for m in replies]
