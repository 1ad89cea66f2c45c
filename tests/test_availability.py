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


async def test_a_provider_busy_during_the_window_is_not_offered(bot: Carebot) -> None:
    async with bot.db.transaction() as tx:
        # paul overlaps 14:00-16:00; marie ends as it starts, lea starts as it ends (and her
        # overlap was cancelled).
        await add_confirmed(tx.requests, "alice", "paul", paris("2026-11-25 15:00"), AT)
        await add_confirmed(tx.requests, "bob", "marie", paris("2026-11-25 12:00"), AT)
        await add_confirmed(tx.requests, "emile", "lea", paris("2026-11-25 16:00"), AT)
        await add_confirmed(
            tx.requests, "chloe", "lea", paris("2026-11-25 14:00"), AT, status=Status.CANCELLED
        )
    async with open_desk(bot.db, bot.clock) as desk:
        found = await available_providers(
            desk, "david", "childcare", paris("2026-11-25 14:00"), paris("2026-11-25 16:00")
        )
    assert sorted(c.provider.id for c in found) == ["lea", "marie"]


async def test_a_provider_busy_during_part_of_the_window_is_not_offered_part(
    bot: Carebot,
) -> None:
    async with bot.db.transaction() as tx:
        # 18:00-23:00 is covered by nobody: lea (until 20:00) is busy 19:00-21:00, marie
        # (until 19:00) starts it after a visit ending at 18:00, paul's overlap was cancelled.
        await add_confirmed(tx.requests, "alice", "lea", paris("2026-11-25 19:00"), AT)
        await add_confirmed(tx.requests, "bob", "marie", paris("2026-11-25 16:00"), AT)
        await add_confirmed(
            tx.requests, "chloe", "paul", paris("2026-11-25 19:00"), AT, status=Status.CANCELLED
        )
    async with open_desk(bot.db, bot.clock) as desk:
        found = await partly_available(
            desk, "childcare", paris("2026-11-25 18:00"), paris("2026-11-25 23:00")
        )
    assert sorted(p.id for p, _ in found) == ["marie", "paul"]
