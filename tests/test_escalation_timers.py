"""An escalation's timers (§1.10) live in the timers table: they survive a restart, and one
that fires on a request already resolved does nothing."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.agency_file import load_agency_file
from bot.clock import VirtualClock
from bot.domain.booking import Status
from bot.flows.router import Press, Text
from bot.root import open_carebot
from bot.services.appointments import ESCALATION_TIMERS
from tests.conftest import AGENCY

PARIS = ZoneInfo("Europe/Paris")
BOB = "+447700900123"  # an SMS member of the test agency
KARIM = "9002"  # a staff member on Telegram


async def _escalated(db: Path, clock: VirtualClock) -> int:
    """Bob leaves a Sunday 10:00 massage to the team (nobody offers it then): escalation #1."""
    bot = await open_carebot(db, clock)
    try:
        await bot.import_agency(load_agency_file(AGENCY))
        await bot.receive("sms", BOB, Text("massage on Sunday 10am to 11am"))
        await bot.receive("sms", BOB, Text("1"))  # "Leave it to the team"
        async with bot.db.transaction() as tx:
            request = await tx.requests.by_seq("bob", 1)
        assert request is not None and request.status is Status.ESCALATED
        return request.id
    finally:
        await bot.close()


def _rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return list(conn.execute(sql))


async def test_a_bot_down_through_the_start_closes_the_request_once_when_back(
    tmp_path: Path,
) -> None:
    db = tmp_path / "carebot.db"
    clock = VirtualClock(datetime(2026, 11, 23, 10, 0, tzinfo=PARIS))
    request_id = await _escalated(db, clock)
    # Down from Monday to Sunday 10:05: the reminder and the start both passed meanwhile.
    clock.set(datetime(2026, 11, 29, 10, 5, tzinfo=PARIS))
    bot = await open_carebot(db, clock)
    try:
        # Before the timers have run, it is already no longer listed as upcoming.
        await bot.receive("sms", BOB, Text("my bookings"))
        async with bot.db.transaction() as tx:
            answer = await tx.outbox.last_to("bob")
        assert answer is not None and answer.text == "You have no upcoming booking."
    finally:
        await bot.close()
    for _ in range(2):  # started twice: the second start finds nothing left to do
        bot = await open_carebot(db, clock)
        try:
            await bot.fire_due_timers(clock.now())
        finally:
            await bot.close()
    status = _rows(db, f"SELECT status FROM requests WHERE id = {request_id}")
    assert status == [("unfilled",)]
    credits = _rows(db, "SELECT amount_minor FROM ledger WHERE kind = 'fee_credit'")
    assert credits == [(1000,)]
    assert _rows(db, "SELECT outcome FROM escalations") == [("unfilled",)]
    told = _rows(
        db, "SELECT text FROM outbox WHERE person_id = 'bob' AND text LIKE 'We are sorry%'"
    )
    assert len(told) == 1
    # A reminder that comes after the start is not sent: the request is closed instead.
    assert _rows(db, "SELECT text FROM outbox WHERE text LIKE 'Reminder: escalation%'") == []


async def test_the_timers_of_an_escalation_staff_resolved_do_nothing(tmp_path: Path) -> None:
    db = tmp_path / "carebot.db"
    clock = VirtualClock(datetime(2026, 11, 23, 10, 0, tzinfo=PARIS))
    request_id = await _escalated(db, clock)
    bot = await open_carebot(db, clock)
    try:
        await bot.receive("telegram", KARIM, Press("eu:1"))  # Close as unfilled
        pending = "SELECT kind FROM timers WHERE state = 'pending' AND request_id IS NOT NULL"
        assert _rows(db, pending) == []  # closing drops the escalation's timers ...
        # ... and should one still fire (a race, an older database), it changes nothing.
        async with bot.db.transaction() as tx:
            for kind in ESCALATION_TIMERS:
                await tx.timers.add(kind, clock.now(), request_id, 1)
        sent = await bot.last_outbox_id()
        assert await bot.fire_due_timers(clock.now()) == 2
        assert await bot.outbox_after(sent) == []
    finally:
        await bot.close()
    credits = _rows(db, "SELECT amount_minor FROM ledger WHERE kind = 'fee_credit'")
    assert credits == [(1000,)]
