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
from pathlib import Path
from typing import cast

import pytest

import bot.app.carebot as carebot_module
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
from storage.postgres import is_url
from storage.repos.unit import UnitOfWork
from tests.conftest import AGENCY


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
        if is_url(database):  # the server ends the session, as a restart or an admin would
            sql = cast(UnitOfWork, desk.tx).sql
            await sql.one("SELECT pg_terminate_backend(pg_backend_pid())")
        else:  # the COMMIT will be refused, as on a full disk
            full.touch()

    def full_once(path: Path) -> bool:
        """The disk is full for the COMMIT that finds the file, and has room again after."""
        if not path.exists():
            return False
        path.unlink()
        return True

    monkeypatch.setattr(carebot_module, "handle", handle_then_lose)
    monkeypatch.setattr(storage.db, "_exists", full_once)
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
