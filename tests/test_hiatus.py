"""Getting back in touch (§10): who gets a check-in, once per break, never in quiet hours."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from bot.app import Carebot
from bot.clock import VirtualClock
from bot.domain.booking import Status
from bot.services import hiatus
from bot.services.desk import open_desk
from bot.services.ports import NewRequest
from tests.conftest import paris


async def _session(bot: Carebot, start: datetime, status: Status) -> None:
    async with bot.db.transaction() as tx:
        await tx.requests.add(
            NewRequest(
                member_id="bob",
                service_id="childcare",
                start=start,
                end=start + timedelta(hours=2),
                status=status,
                provider_id="paul",
                price=Decimal("36.00"),
                fee=Decimal("5.00"),
            ),
            start - timedelta(days=7),
        )


async def _sweep(bot: Carebot, clock: VirtualClock, at: str) -> list[str | None]:
    """Run the daily round at `at`; the people it wrote to."""
    clock.set(paris(at))
    before = await bot.last_outbox_id()
    async with open_desk(bot.db, clock) as desk:
        await hiatus.sweep(desk, desk.now)
    return [m.person_id for m in await bot.outbox_after(before)]


async def test_one_check_in_per_break_and_a_note_to_the_last_provider(
    bot: Carebot, clock: VirtualClock
) -> None:
    await _session(bot, paris("2026-11-02 10:00"), Status.COMPLETED)
    sent = await _sweep(bot, clock, "2026-11-24 09:00")
    assert "bob" in sent and "paul" in sent
    assert "bob" not in await _sweep(bot, clock, "2026-11-25 09:00")


async def test_nothing_booked_is_required(bot: Carebot, clock: VirtualClock) -> None:
    await _session(bot, paris("2026-11-02 10:00"), Status.COMPLETED)
    await _session(bot, paris("2026-12-02 10:00"), Status.CONFIRMED)
    assert "bob" not in await _sweep(bot, clock, "2026-11-24 09:00")


async def test_a_member_last_seen_long_ago_is_not_a_regular(
    bot: Carebot, clock: VirtualClock
) -> None:
    await _session(bot, paris("2026-09-07 10:00"), Status.COMPLETED)  # 11 weeks before
    assert "bob" not in await _sweep(bot, clock, "2026-11-24 09:00")


async def test_quiet_hours_and_sundays_wait(bot: Carebot, clock: VirtualClock) -> None:
    await _session(bot, paris("2026-11-02 10:00"), Status.COMPLETED)
    assert await _sweep(bot, clock, "2026-11-24 21:00") == []
    assert await _sweep(bot, clock, "2026-11-29 10:00") == []  # a Sunday
    assert "bob" in await _sweep(bot, clock, "2026-11-30 09:00")
