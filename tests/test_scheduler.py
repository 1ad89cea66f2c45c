"""The live waker: re-aimed after commits that add timers, and only after those."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.agency_file import load_agency_file
from bot.app import Carebot
from bot.clock import SystemClock
from bot.handlers.scheduler import WAKE_JOB, TimerWaker
from bot.root import open_carebot
from storage.codec import ts
from tests.conftest import AGENCY


@pytest.fixture
async def live_bot(tmp_path: Path) -> AsyncIterator[Carebot]:
    """A Carebot on the system clock, its agency imported."""
    carebot = await open_carebot(tmp_path / "carebot.db", SystemClock())
    await carebot.import_agency(load_agency_file(AGENCY))
    yield carebot
    await carebot.close()


async def test_a_timer_added_by_a_unit_of_work_is_aimed_at_after_its_commit(
    live_bot: Carebot,
) -> None:
    waker = TimerWaker(live_bot, sweep_seconds=3600)  # the sweep cannot be what fires it
    await waker.start()
    try:
        first_pending, _ = await live_bot.timer_stats()
        due = datetime.now(UTC) + timedelta(seconds=0.3)
        async with live_bot.db.transaction() as tx:
            await tx.timers.add("test-nothing", due)
        await waker.rearm()  # what the after-commit hook does
        job = waker.scheduler.get_job(WAKE_JOB)
        assert job is not None and job.next_run_time <= due + timedelta(seconds=1)
        for _ in range(40):
            if waker.fired:
                break
            await asyncio.sleep(0.05)
        assert waker.fired == 1
        assert (await live_bot.timer_stats())[0] == first_pending
    finally:
        waker.stop()


async def test_a_commit_without_new_timers_does_not_look_again_but_the_sweep_does(
    live_bot: Carebot,
) -> None:
    waker = TimerWaker(live_bot, sweep_seconds=3600)
    await waker.start()
    try:
        armed = waker.scheduler.get_job(WAKE_JOB)
        # Another process adds a timer due now: this process's counter does not move.
        with sqlite3.connect(live_bot.db.path) as other:
            other.execute(
                "INSERT INTO timers (kind, due_at) VALUES ('test-nothing', ?)",
                (ts(datetime.now(UTC)),),
            )
        await waker.rearm()
        after = waker.scheduler.get_job(WAKE_JOB)
        assert (armed and armed.next_run_time) == (after and after.next_run_time)
        assert waker.fired == 0
        await waker.run_due()  # the periodic sweep
        assert waker.fired == 1
    finally:
        waker.stop()
