"""Inbound SMS stored by group commit: together under load, each once, none lost."""

from __future__ import annotations

import asyncio
from sqlite3 import OperationalError

import pytest

from bot.app import Carebot
from bot.flows.router import Text
from bot.handlers.sms import Intake


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


async def test_a_failed_commit_fails_every_webhook_waiting_on_it(
    bot: Carebot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database refuses the batch past the budget: each webhook waiting on that commit gets
    the database's error (the webhook turns it into a 503), never an answer that would lose
    the message."""
    refused = OperationalError("database is locked")

    async def refuse(*_: object) -> list[bool]:
        raise refused

    monkeypatch.setattr(bot, "accept_many", refuse)
    intake = Intake(bot, budget=0)  # no time for another try
    outcomes = await asyncio.gather(
        *(intake.accept("+447700900123", Text("hi"), f"SM{n:032x}") for n in range(3)),
        return_exceptions=True,
    )
    assert outcomes == [refused] * 3
