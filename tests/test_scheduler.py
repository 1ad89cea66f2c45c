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
from bot.domain.errors import Unavailable
from bot.handlers.scheduler import WAKE_JOB, TimerWaker
from bot.root import open_carebot
from storage.codec import ts
from tests.conftest import AGENCY, sqlite_file


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
        with sqlite3.connect(sqlite_file(live_bot.db)) as other:
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


async def test_after_a_failed_run_an_overdue_timer_waits_before_it_is_tried_again(
    live_bot: Carebot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reads work, writes fail (a full disk): the overdue timer is not aimed at again at once,
    which asked the database in a tight loop; after a good run, timers fire on time again."""
    async with live_bot.db.transaction() as tx:
        await tx.timers.add("test-nothing", datetime.now(UTC) - timedelta(minutes=1))
    tries: list[datetime] = []
    fire = live_bot.fire_due_timers

    async def failing(until: datetime, *, move_clock: bool = False) -> int:
        tries.append(until)
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(live_bot, "fire_due_timers", failing)
    waker = TimerWaker(live_bot, sweep_seconds=3600)
    await waker.start()  # fails once, at start
    try:
        await asyncio.sleep(0.5)
        assert len(tries) == 1
        job = waker.scheduler.get_job(WAKE_JOB)
        assert job is not None and job.next_run_time > datetime.now(UTC)
        monkeypatch.setattr(live_bot, "fire_due_timers", fire)  # the disk has room again
        for _ in range(60):
            if waker.fired:
                break
            await asyncio.sleep(0.05)
        assert waker.fired >= 1
    finally:
        waker.stop()


async def test_a_failure_before_any_timer_is_taken_is_raised_not_tried_for_ever(
    live_bot: Carebot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No agency yet, a broken read: no timer is at fault, so none is dropped, and the batch
    is not tried again at once for ever (which held the event loop at 100% CPU)."""
    calls = 0

    async def broken(until: datetime, size: int, move_clock: bool) -> tuple[int, bool]:
        nonlocal calls
        calls += 1
        if calls > 20:  # the test's own stop: without the guard the loop never yields
            raise Unavailable("spinning")
        raise RuntimeError("no agency yet")

    monkeypatch.setattr(live_bot, "_fire_batch", broken)
    with pytest.raises(RuntimeError, match="no agency yet"):
        await live_bot.fire_due_timers(datetime.now(UTC))
    assert calls == 2  # the batch, then one at a time
