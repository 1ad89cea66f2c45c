"""Timers survive a crash: a real `carebot run` is SIGKILLed and started again (issue §2)."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.agency_file import load_agency_file
from bot.services.appointments import CHECKIN
from tests.appointments import add_confirmed
from tests.conftest import AGENCY
from tests.live import free_port, opened, start_run, wait_healthy


async def _appointment_with_timer(db: Path, due_in: float, *, fresh: bool = True) -> int:
    """A confirmed appointment of Paul's whose arrival prompt falls due in `due_in` seconds."""
    async with opened(db) as bot:
        if fresh:
            await bot.import_agency(load_agency_file(AGENCY))
        now = datetime.now(UTC)
        due = now + timedelta(seconds=due_in)
        async with bot.db.transaction() as tx:
            request = await add_confirmed(
                tx.requests,
                "bob",
                "paul",
                due + timedelta(minutes=30),
                now,
                end=due + timedelta(hours=2),
            )
            await tx.timers.add(CHECKIN, due, request.id)
        return request.id


@contextmanager
def _carebot_run(db: Path) -> Iterator[subprocess.Popen[bytes]]:
    port = free_port()
    env = {**os.environ, "CAREBOT_DATABASE": str(db), "CAREBOT_SWEEP_SECONDS": "1"}
    process = start_run(port, env, None)
    try:
        wait_healthy(port, process)
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)


def _timer_and_prompts(db: Path, request_id: int) -> tuple[str, str | None, int]:
    with sqlite3.connect(db) as conn:
        state, fired_at = conn.execute(
            "SELECT state, fired_at FROM timers WHERE request_id = ? AND kind = ?",
            (request_id, CHECKIN),
        ).fetchone()
        prompts = conn.execute("SELECT COUNT(*) FROM outbox WHERE person_id = 'paul'").fetchone()
    return state, fired_at, int(prompts[0])


def _wait_fired(db: Path, request_id: int, within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if _timer_and_prompts(db, request_id)[0] == "fired":
            return
        time.sleep(0.1)
    raise AssertionError(f"timer never fired: {_timer_and_prompts(db, request_id)}")


def test_sigkill_before_the_timer_then_restart_fires_it_once(tmp_path: Path) -> None:
    db = tmp_path / "carebot.db"
    asyncio.run(_appointment_with_timer(db, due_in=86400.0))  # the agency; a far-off timer
    with _carebot_run(db) as first:
        # The timer is created once the bot runs and killed with it at once, so however slow
        # the start was, it cannot have fired before the kill.
        request_id = asyncio.run(_appointment_with_timer(db, due_in=2.5, fresh=False))
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    assert _timer_and_prompts(db, request_id) == ("pending", None, 0)
    time.sleep(3.0)  # the timer is now overdue: it must fire as soon as the bot is back
    restarted_at = datetime.now(UTC)
    with _carebot_run(db):
        _wait_fired(db, request_id, within=15)
        time.sleep(2.5)  # a sweep or two later, still once
        state, fired_at, prompts = _timer_and_prompts(db, request_id)
    assert state == "fired" and prompts == 1
    assert fired_at is not None
    assert datetime.strptime(fired_at, "%Y-%m-%d %H:%M:%S").replace(
        tzinfo=UTC
    ) >= restarted_at.replace(microsecond=0)


def test_two_processes_on_one_database_fire_a_timer_once(tmp_path: Path) -> None:
    db = tmp_path / "carebot.db"
    request_id = asyncio.run(_appointment_with_timer(db, due_in=2.0))
    with _carebot_run(db), _carebot_run(db):
        _wait_fired(db, request_id, within=10)
        time.sleep(2.5)
        assert _timer_and_prompts(db, request_id)[2] == 1
