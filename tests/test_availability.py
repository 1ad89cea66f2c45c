"""Who is free when (§1.9): a provider holding an overlapping window is not offered, one whose
appointment only touches the window is, and a cancelled appointment holds nothing. On both
engines: PostgreSQL finds the busy providers through a range index of its own (migration 018)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest

from bot.agency_file import load_agency_file
from bot.app import Carebot
from bot.clock import VirtualClock
from bot.domain.booking import Status
from bot.root import open_carebot
from bot.services.desk import open_desk
from bot.services.matching import Wanted, available_providers, partly_available
from storage.postgres import PgExecutor
from storage.repos.availability import Availability as AvailabilityRepo
from tests.appointments import add_confirmed
from tests.conftest import AGENCY, paris

AT = paris("2026-11-23 10:00")


async def _book(bot: Carebot, *visits: tuple[str, str, str, Status]) -> None:
    """Two-hour childcare visits (member, provider, Wednesday's start, status)."""
    async with bot.db.transaction() as tx:
        for member, provider, start, status in visits:
            at = paris(f"2026-11-25 {start}")
            await add_confirmed(tx.requests, member, provider, at, AT, status=status)


async def test_a_provider_busy_during_the_window_is_not_offered(bot: Carebot) -> None:
    # 14:00-16:00: paul overlaps it; marie ends as it starts, lea starts as it ends (and her
    # overlap was cancelled).
    await _book(
        bot,
        ("alice", "paul", "15:00", Status.CONFIRMED),
        ("bob", "marie", "12:00", Status.CONFIRMED),
        ("emile", "lea", "16:00", Status.PENDING),
        ("chloe", "lea", "14:00", Status.CANCELLED),
    )
    async with open_desk(bot.db, bot.clock) as desk:
        wanted = Wanted("childcare", paris("2026-11-25 14:00"), paris("2026-11-25 16:00"))
        found = await available_providers(desk, "david", wanted)
    assert sorted(c.provider.id for c in found) == ["lea", "marie"]


async def test_a_provider_busy_during_part_of_the_window_is_not_offered_part(
    bot: Carebot,
) -> None:
    # 18:00-23:00 is covered by nobody: lea (until 20:00) is busy 19:00-21:00, marie (until
    # 19:00) starts it after a visit ending at 18:00, paul's overlap was cancelled.
    await _book(
        bot,
        ("alice", "lea", "19:00", Status.IN_PROGRESS),
        ("bob", "marie", "16:00", Status.CONFIRMED),
        ("chloe", "paul", "19:00", Status.CANCELLED),
    )
    async with open_desk(bot.db, bot.clock) as desk:
        wanted = Wanted("childcare", paris("2026-11-25 18:00"), paris("2026-11-25 23:00"))
        found = await partly_available(desk, wanted)
    assert sorted(p.id for p, _ in found) == ["marie", "paul"]


async def _busy_across_midnight(bot: Carebot) -> set[str]:
    """Who is busy from Wednesday 23:00 to Thursday 01:00, with visits around it."""
    async with bot.db.transaction() as tx:
        for provider, start, hours, status in [
            ("paul", "2026-11-26 00:00", 2, Status.CONFIRMED),  # overlaps the night
            ("sam", "2026-11-25 22:00", 4, Status.PENDING),  # holds all of it
            ("marie", "2026-11-25 21:00", 2, Status.CONFIRMED),  # ends as it starts
            ("lea", "2026-11-26 01:00", 2, Status.IN_PROGRESS),  # starts as it ends
            ("sophie", "2026-11-25 23:30", 1, Status.CANCELLED),  # holds nothing
        ]:
            at = paris(start)
            end = at + timedelta(hours=hours)
            await add_confirmed(tx.requests, "alice", provider, at, AT, end=end, status=status)
    async with bot.db.read() as tx:
        return await tx.availability.busy(paris("2026-11-25 23:00"), paris("2026-11-26 01:00"))


async def test_who_is_busy_across_midnight(bot: Carebot) -> None:
    """The same on both engines: overlap counts, touching does not, a cancellation frees."""
    assert await _busy_across_midnight(bot) == {"paul", "sam"}


async def test_who_is_busy_across_midnight_is_read_from_the_holding_spans(
    postgres: str, clock: VirtualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL a window across midnight (and a series' or a re-offer's check) finds the
    busy providers through migration 018's range index, as a same-day window does, not by
    reading every provider's history through requests_by_provider."""
    bot = await open_carebot(postgres, clock)
    ran: list[tuple[str, tuple[object, ...]]] = []
    heavy = PgExecutor.heavy

    async def recorded(self: PgExecutor, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        ran.append((sql, tuple(args)))
        return await heavy(self, sql, args)

    try:
        await bot.import_agency(load_agency_file(AGENCY))
        monkeypatch.setattr(PgExecutor, "heavy", recorded)
        assert await _busy_across_midnight(bot) == {"paul", "sam"}
        [(sql, args)] = ran
        async with bot.db.transaction() as tx:
            repo = tx.availability
            assert isinstance(repo, AvailabilityRepo)
            # A table this small is read whole whatever the indexes: ask what it would use.
            await repo.sql.run("SET LOCAL enable_seqscan = off")
            plan = await repo.sql.all("EXPLAIN " + sql, args)
    finally:
        await bot.close()
    text = "\n".join(str(row["QUERY PLAN"]) for row in plan)
    # Searched by the window, not read whole for its predicate (what the old query made of it).
    [searched] = [line for line in text.splitlines() if "Index Cond" in line]
    assert "tstzrange(start_at, end_at, '[)'::text) &&" in searched, text
