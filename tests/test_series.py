"""Weekly series (§8): rolling the horizon never makes an occurrence twice, nor loses one."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import pairwise

import pytest

from bot.app import Carebot
from bot.clock import VirtualClock
from bot.domain.agency import Member, Provider
from bot.domain.booking import Request, Status
from bot.domain.errors import SeriesDayTaken
from bot.services import series as weekly
from bot.services.desk import Desk, open_desk
from bot.services.ports import NewRequest
from tests.conftest import paris


async def _tuesdays(desk: Desk, count: int | None) -> list[Request]:
    """Book Alice's Tuesday 18:00-20:00 series with Paul, for `count` weeks or open-ended."""
    alice, paul = await desk.tx.roster.person("alice"), await desk.tx.roster.person("paul")
    assert isinstance(alice, Member) and isinstance(paul, Provider)
    first = weekly.first_day(desk, 1, 18 * 60)
    return await weekly.book(
        desk, alice, desk.services["childcare"], paul, 1, (1080, 1200), first, None, count
    )


async def _book_weekly(bot: Carebot, clock: VirtualClock) -> int:
    """Alice's open-ended Tuesday series with Paul, confirmed; returns its id."""
    async with open_desk(bot.db, clock) as desk:
        made = await _tuesdays(desk, None)
        series_id = made[0].series_id
        assert series_id is not None
        for request in made:
            await desk.tx.requests.save(request.confirm(desk.now))
        await desk.tx.series.set_status(series_id, "active")
    return series_id


async def _days(bot: Carebot, clock: VirtualClock, series_id: int) -> list[date]:
    async with open_desk(bot.db, clock) as desk:
        return sorted(await desk.tx.series.days(series_id))


async def test_rolling_twice_the_same_day_creates_nothing_more(
    bot: Carebot, clock: VirtualClock
) -> None:
    series_id = await _book_weekly(bot, clock)
    assert len(await _days(bot, clock, series_id)) == 9  # Tuesdays within 60 days
    # The bot was down for a week: the roll due on Tuesday 24 fires late, covering every day.
    clock.set(paris("2026-11-30 00:00"))
    for _ in range(2):
        async with open_desk(bot.db, clock) as desk:
            await weekly.roll(desk, paris("2026-11-24 00:00"))
    days = await _days(bot, clock, series_id)
    assert len(days) == 10 and len(set(days)) == 10
    assert days[-1] == date(2027, 1, 26)
    assert all(b - a == timedelta(weeks=1) for a, b in pairwise(days))


async def test_the_database_refuses_an_occurrence_made_twice(
    bot: Carebot, clock: VirtualClock
) -> None:
    series_id = await _book_weekly(bot, clock)
    async with open_desk(bot.db, clock) as desk:
        first = (await desk.tx.series.occurrences(series_id))[0]
        with pytest.raises(SeriesDayTaken):
            await desk.tx.requests.add(
                NewRequest(
                    member_id="alice",
                    service_id="childcare",
                    start=first.start,
                    end=first.end,
                    status=Status.ESCALATED,
                    provider_id=None,
                    price=first.price,
                    fee=first.fee,
                    series_id=series_id,
                    series_day=desk.local(first.start).date(),
                ),
                desk.now,
            )


async def test_a_series_for_four_weeks_stops_after_four(bot: Carebot, clock: VirtualClock) -> None:
    async with open_desk(bot.db, clock) as desk:
        made = await _tuesdays(desk, 4)
    assert len(made) == 4
    clock.set(paris("2027-02-01 00:00"))
    async with open_desk(bot.db, clock) as desk:
        await desk.tx.series.set_status(made[0].series_id or 0, "active")
        assert await weekly.roll(desk, desk.now) == 0
        series = await desk.tx.series.get(made[0].series_id or 0)
    assert series is not None and series.status == "ended"
