"""What /healthz says about one worker of several: the bot's lag and this worker's leases.

A load balancer or a monitor reads these per worker: `lag_s` is how long the oldest waiting
work has waited (an inbound message not processed, an outbox row due and not taken, a timer
overdue), `leases` how many outbox rows this worker holds per channel. A row whose lease ran
out counts as waiting again: its worker is gone.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.agency_file import load_agency_file
from bot.app import Carebot
from bot.clock import VirtualClock
from bot.flows.router import Text
from bot.root import open_carebot
from bot.services.ports import OutgoingMessage
from tests.conftest import AGENCY, paris

START = paris("2026-11-23 10:00")


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[tuple[Carebot, VirtualClock]]:
    """A Carebot on a SQLite file, its clock stopped at START."""
    clock = VirtualClock(START)
    carebot = await open_carebot(tmp_path / "carebot.db", clock)
    await carebot.import_agency(load_agency_file(AGENCY))
    yield carebot, clock
    await carebot.close()


async def test_nothing_waiting_is_no_lag_and_no_lease(bot: tuple[Carebot, VirtualClock]) -> None:
    carebot, _ = bot
    lag, leases = await carebot.lag_and_leases("host:1:")
    assert lag == {"inbound": 0.0, "outbox": 0.0, "timers": 0.0}
    assert leases == {}


async def test_lag_is_the_age_of_the_oldest_waiting_work(
    bot: tuple[Carebot, VirtualClock],
) -> None:
    carebot, clock = bot
    assert await carebot.accept("sms", "+33600000001", Text("aide"), "SM1")
    async with carebot.db.transaction() as tx:
        await tx.timers.add("checkin", START + timedelta(seconds=10))
        await tx.outbox.enqueue(OutgoingMessage(START, None, "sms", "+33600000001", "x"))
    clock.advance(timedelta(seconds=60))
    lag, _ = await carebot.lag_and_leases("host:1:")
    assert lag == {"inbound": 60.0, "outbox": 60.0, "timers": 50.0}


async def test_leases_are_counted_for_their_worker_only_and_expired_ones_wait_again(
    bot: tuple[Carebot, VirtualClock],
) -> None:
    carebot, clock = bot
    async with carebot.db.transaction() as tx:
        for n in range(3):
            await tx.outbox.enqueue(OutgoingMessage(START, None, "sms", f"+3360000000{n}", "x"))
        taken = await tx.outbox.claim(
            "sms", START, 10, owner="host:1:ab12", until=START + timedelta(seconds=30)
        )
    assert len(taken) == 3
    assert (await carebot.lag_and_leases("host:1:"))[1] == {"sms": 3}
    assert (await carebot.lag_and_leases("host:11:"))[1] == {}  # another pid, same prefix digits
    assert (await carebot.lag_and_leases("host:1:"))[0]["outbox"] == 0.0  # held: not waiting
    clock.advance(timedelta(seconds=45))  # the lease ran out 15 s ago
    assert (await carebot.lag_and_leases("host:1:"))[0]["outbox"] == 45.0
