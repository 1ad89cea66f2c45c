"""A message is not lost with the database under it: when the connection drops (PostgreSQL:
the server ends the session) or the COMMIT is refused (SQLite: a full disk) while a message
is handled, nothing of it was written, and it is neither marked processed nor apologised for:
it waits, accepted, and the next turn of the inbound worker answers it once.

(Before, the failure was taken for the message's own: it was marked processed in a fresh
transaction, which succeeded once the connection was back, and the person got an apology
instead of an answer.)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import cast

import pytest

import bot.app.carebot as carebot_module
import bot.services.timers as timers_module
import storage.db
from bot.agency_file import load_agency_file
from bot.app import Carebot
from bot.app.carebot import APOLOGY
from bot.clock import VirtualClock
from bot.domain.errors import Unavailable
from bot.flows.router import Inbound, Text
from bot.i18n import tr
from bot.root import open_carebot
from bot.services.desk import Desk
from bot.services.ports import Timer
from storage.postgres import is_url
from storage.repos.unit import UnitOfWork
from tests.conftest import AGENCY


async def _lose(database: str, desk: Desk, full: Path) -> None:
    """Lose the database under the unit of work `desk` is in: on PostgreSQL the server ends
    the session, as a restart or an admin would; on SQLite its COMMIT will be refused, as on
    a full disk (with `_full_once` in place)."""
    if is_url(database):
        sql = cast(UnitOfWork, desk.tx).sql
        await sql.one("SELECT pg_terminate_backend(pg_backend_pid())")
    else:
        full.touch()  # noqa: ASYNC240 (a test's fault switch: one local file, microseconds)


def _full_once(path: Path) -> bool:
    """The disk is full for the COMMIT that finds the file, and has room again after."""
    if not path.exists():
        return False
    path.unlink()
    return True


@pytest.fixture
async def lost_once(
    database: str, clock: VirtualClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Carebot]:
    """A Carebot whose first handled message loses the database after its effects are
    written and before they commit: on SQLite the disk is full for that one COMMIT."""
    full = tmp_path / "disk-full"
    carebot = await open_carebot(database, clock, full_while=str(full))
    await carebot.import_agency(load_agency_file(AGENCY))
    real = carebot_module.handle  # type: ignore[attr-defined]
    lost: list[bool] = []

    async def handle_then_lose(desk: Desk, person: object, inbound: Inbound) -> None:
        await real(desk, person, inbound)  # type: ignore[arg-type]
        if lost:
            return
        lost.append(True)
        await _lose(database, desk, full)

    monkeypatch.setattr(carebot_module, "handle", handle_then_lose)
    monkeypatch.setattr(storage.db, "_exists", _full_once)
    yield carebot
    await carebot.close()


async def test_a_message_that_loses_the_database_is_answered_later_not_apologised_for(
    lost_once: Carebot,
) -> None:
    bot = lost_once
    bob = await bot.person("bob")
    assert bob.phone is not None
    assert await bot.accept("sms", bob.phone, Text("aide"), "SM0001")

    with pytest.raises(Unavailable):
        await bot.process_pending()
    assert [m for m in await bot.outbox_after(0) if m.person_id == "bob"] == []

    assert await bot.process_pending() == 1  # the next turn of the inbound worker
    replies = [m.text for m in await bot.outbox_after(0) if m.person_id == "bob"]
    assert len(replies) == 1
    assert replies[0] != tr(bob.language or "fr", APOLOGY)
    assert await bot.process_pending() == 0


async def test_a_timer_that_loses_the_database_fires_later_not_dropped(
    database: str, clock: VirtualClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch of timers failed on a broken effect, so they are fired one at a time; the
    next one loses the database under it (the session ended: a worker frozen past the idle
    bound). That timer is not the one at fault: it stays pending and fires at the next turn,
    where dropping it would lose its effect for good."""
    full = tmp_path / "disk-full"
    bot = await open_carebot(database, clock, full_while=str(full))
    await bot.import_agency(load_agency_file(AGENCY))
    fired: list[str] = []

    async def broken(desk: Desk, timer: Timer) -> None:
        raise ValueError("a bug in this effect")

    async def loses_once(desk: Desk, timer: Timer) -> None:
        fired.append("effect")
        if len(fired) == 1:
            await _lose(database, desk, full)

    monkeypatch.setitem(timers_module.EFFECTS, "test-broken", broken)
    monkeypatch.setitem(timers_module.EFFECTS, "test-loses", loses_once)
    monkeypatch.setattr(storage.db, "_exists", _full_once)
    try:
        due = clock.now() - timedelta(minutes=1)
        async with bot.db.transaction() as tx:
            await tx.timers.add("test-broken", due)
            await tx.timers.add("test-loses", due + timedelta(seconds=1))
        with pytest.raises(Unavailable):
            await bot.fire_due_timers(clock.now())
        assert await _pending(bot) == ["test-loses"]  # left for later; the broken one dropped

        await bot.fire_due_timers(clock.now())  # the next turn of the scheduler
        assert fired == ["effect", "effect"]
        assert await _pending(bot) == []
    finally:
        await bot.close()


async def _pending(bot: Carebot) -> list[str]:
    """Which of the test's timers are still pending."""
    async with bot.db.read() as tx:
        return [k for k in ("test-broken", "test-loses") if await tx.timers.has_pending(k)]
