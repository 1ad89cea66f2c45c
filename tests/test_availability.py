"""Who is free when (§1.9): a provider holding an overlapping window is not offered, one whose
appointment only touches the window is, and a cancelled appointment holds nothing. On both
engines: PostgreSQL finds the busy providers through a range index of its own (migration 018)."""

from __future__ import annotations

from bot.app import Carebot
from bot.domain.booking import Status
from bot.services.desk import open_desk
from bot.services.matching import available_providers, partly_available
from tests.appointments import add_confirmed
from tests.conftest import paris

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
        found = await available_providers(
            desk, "david", "childcare", paris("2026-11-25 14:00"), paris("2026-11-25 16:00")
        )
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
        found = await partly_available(
            desk, "childcare", paris("2026-11-25 18:00"), paris("2026-11-25 23:00")
        )
    assert sorted(p.id for p, _ in found) == ["marie", "paul"]
