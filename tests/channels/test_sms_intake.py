"""Inbound SMS stored by group commit: together under load, each once, none lost."""

from __future__ import annotations

import asyncio

from bot.app import Carebot
from bot.flows.router import Text
from bot.handlers.sms import Intake
from bot.root import open_carebot


async def test_webhooks_arriving_together_are_stored_once_each(bot: Carebot) -> None:
    intake = Intake(bot)
    sids = [f"SM{n:032x}" for n in range(20)]
    results = await asyncio.gather(
        *(intake.accept("+447700900123", Text(f"message {n}"), sid) for n, sid in enumerate(sids)),
        intake.accept("+447700900123", Text("message 3"), sids[3]),  # Twilio retried this one
    )
    assert results == [True] * 20 + [False]
    async with bot.db.transaction() as tx:
        pending = await tx.inbox.unprocessed(100)
    assert [delivery_id for _, delivery_id, _, _ in pending] == sids  # in arrival order
    assert await intake.accept("+447700900123", Text("again"), sids[0]) is False


async def test_a_failed_commit_fails_every_webhook_waiting_on_it(bot: Carebot) -> None:
    intake = Intake(bot)
    await bot.close()  # the database is gone: each webhook must answer an error, not 200
    outcomes = await asyncio.gather(
        *(intake.accept("+447700900123", Text("hi"), f"SM{n:032x}") for n in range(3)),
        return_exceptions=True,
    )
    assert all(isinstance(outcome, Exception) for outcome in outcomes)
    bot.db = (await open_carebot(bot.db.path, bot.clock)).db  # let the fixture close it
