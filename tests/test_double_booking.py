"""§1.8: two members can never both get a provider for overlapping windows, even at once."""

from __future__ import annotations

import asyncio
import sqlite3 as sqlite
from pathlib import Path

import pytest

from bot.app import Carebot
from bot.clock import VirtualClock
from bot.domain.booking import Status
from bot.domain.errors import DoubleBooking
from bot.flows.router import Text
from storage.engines import open_database
from storage.postgres import is_url
from tests.appointments import add_confirmed
from tests.conftest import paris, sqlite_file

NOW = paris("2026-11-23 10:00")

# Every pair of these windows overlaps (all contain 11:30-12:00).
MEMBERS = {
    "alice": "garde mercredi 25 novembre de 10h à 12h",
    "bob": "childcare on 25 November 10:30am to 12:30pm",
    "chloe": "childcare on 25 November 11am to 1pm",
    "david": "garde le 25 novembre de 11h30 à 12h30",
}


async def _ready_to_confirm(bot: Carebot, member: str, text: str) -> None:
    """Walk a member up to the summary with Marie as first choice."""
    await bot.receive_from(member, Text(text))
    await bot.receive_from(member, Text("Marie"))


async def _requests_held_by_marie(bot: Carebot) -> list[str]:
    found = []
    async with bot.db.transaction() as tx:
        for member in MEMBERS:
            for request in await tx.requests.of_member(member, list(Status)):
                if request.provider_id == "marie":
                    found.append(member)
    return found


async def test_simultaneous_confirms_on_two_connections_book_once(
    bot: Carebot, tmp_path: Path, clock: VirtualClock
) -> None:
    # A second Carebot on the same file: its own connection, as a second process would have.
    other = Carebot(await open_database(sqlite_file(bot.db)), clock)
    try:
        for member, text in MEMBERS.items():
            await _ready_to_confirm(bot, member, text)
        bots = [bot, other, bot, other]
        await asyncio.gather(
            *(b.receive_from(m, Text("1")) for b, m in zip(bots, MEMBERS, strict=True))
        )
        assert len(await _requests_held_by_marie(bot)) == 1
        refused = [
            m
            for m in await bot.outbox_after(0)
            if "just booked" in m.text
            or "vient d'être réservé" in m.text
            or "vient de réserver" in m.text
        ]
        assert len(refused) == 3
    finally:
        await other.close()


async def _hold(bot: Carebot, member: str, start: str, end: str, status: Status) -> None:
    """Marie holds [start, end) for `member`, in a unit of work of its own."""
    async with bot.db.transaction() as tx:
        await add_confirmed(
            tx.requests, member, "marie", paris(start), NOW, end=paris(end), status=status
        )


async def test_the_database_itself_refuses_an_overlap(bot: Carebot) -> None:
    await _hold(bot, "alice", "2026-11-25 10:00", "2026-11-25 12:00", Status.PENDING)
    with pytest.raises(DoubleBooking):
        await _hold(bot, "bob", "2026-11-25 11:59", "2026-11-25 13:00", Status.CONFIRMED)
    # Back to back is fine: 12:00 to 13:00 touches but does not overlap.
    await _hold(bot, "bob", "2026-11-25 12:00", "2026-11-25 13:00", Status.PENDING)
    # Even raw SQL, bypassing the repositories, cannot move a request onto another: on SQLite
    # a trigger refuses it, on PostgreSQL the exclusion constraint (tests/test_postgres.py).
    if is_url(sqlite_file(bot.db)):
        return
    conn = sqlite.connect(sqlite_file(bot.db))
    try:
        with pytest.raises(sqlite.IntegrityError, match="double booking"):
            conn.execute(
                "UPDATE requests SET start_at = '2026-11-25 10:30:00' WHERE member_id = 'bob'"
            )
    finally:
        conn.close()
