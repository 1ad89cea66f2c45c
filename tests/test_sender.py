"""The outbox pipeline: a stuck send holds back only its own recipient, order is kept."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from datetime import timedelta

from bot.app import Carebot
from bot.clock import VirtualClock
from bot.handlers.delivery import Delivery, Sender
from bot.services.ports import OutboxMessage


class SlowFor:
    """A transport that holds every send to one address until released."""

    channel = "sms"

    def __init__(self, stuck: str) -> None:
        self.stuck = stuck
        self.release = asyncio.Event()
        self.sent: list[tuple[str, str]] = []

    async def send(self, message: OutboxMessage, idempotency_key: str) -> Delivery:
        if message.address == self.stuck:
            await self.release.wait()
        self.sent.append((message.address, message.text))
        return Delivery("sent", external_id=idempotency_key)


async def _queue(bot: Carebot, messages: list[tuple[str, str]]) -> None:
    async with bot.db.transaction() as tx:
        for address, text in messages:
            await tx.enqueue(
                at=bot.clock.now(), person_id=None, channel="sms", address=address, text=text
            )


async def _until(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition never met")


async def test_a_stuck_send_holds_back_only_its_own_recipient(bot: Carebot) -> None:
    transport = SlowFor("+33600000001")
    sender = Sender(bot, transport, window=8)
    await _queue(bot, [("+33600000001", "stuck 1"), ("+33600000001", "stuck 2")])
    await sender.start()
    try:
        await asyncio.sleep(0.05)  # the stuck send is in flight
        # Messages committed while it hangs go out: the sender does not wait for a batch.
        await _queue(bot, [(f"+3360000010{i}", f"other {i}") for i in range(5)])
        sender.wake()
        await _until(lambda: len(transport.sent) == 5)
        assert all(text.startswith("other") for _, text in transport.sent)
        transport.release.set()
        await _until(lambda: len(transport.sent) == 7)
        # The recipient's own messages kept their order behind the one that hung.
        assert [t for a, t in transport.sent if a == "+33600000001"] == ["stuck 1", "stuck 2"]
    finally:
        await sender.stop()


async def test_no_more_than_the_window_is_in_flight(bot: Carebot) -> None:
    transport = SlowFor("")
    flying = 0
    most = 0

    async def send(message: OutboxMessage, idempotency_key: str) -> Delivery:
        nonlocal flying, most
        flying += 1
        most = max(most, flying)
        await asyncio.sleep(0.01)
        flying -= 1
        transport.sent.append((message.address, message.text))
        return Delivery("sent", external_id=idempotency_key)

    transport.send = send  # type: ignore[method-assign]
    await _queue(bot, [(f"+336000002{i:02d}", f"m{i}") for i in range(40)])
    sender = Sender(bot, transport, window=8)
    await sender.start()
    try:
        await _until(lambda: len(transport.sent) == 40)
        assert 2 <= most <= 8
    finally:
        await sender.stop()


def settled_attempts(bot: Carebot) -> int:
    """Attempts made on the only outbox row once settled, else 0 (straight from the file)."""
    with sqlite3.connect(bot.db.path) as conn:
        row = conn.execute("SELECT attempts FROM outbox WHERE in_flight = 0").fetchone()
    return int(row[0]) if row else 0


class AlwaysDown:
    """A transport whose service answers 5xx for ever."""

    channel = "sms"

    async def send(self, message: OutboxMessage, idempotency_key: str) -> Delivery:
        return Delivery("retry", error="503 from the fake")


async def test_giving_up_after_the_last_attempt_is_reported_once(
    bot: Carebot, clock: VirtualClock
) -> None:
    gave_up: list[OutboxMessage] = []

    async def report(message: OutboxMessage) -> None:
        gave_up.append(message)

    await _queue(bot, [("+33600000301", "never delivered")])
    sender = Sender(bot, AlwaysDown(), max_attempts=2, poll_seconds=0.2, on_gave_up=report)
    await sender.start()
    try:
        await _until(lambda: settled_attempts(bot) == 1)
        assert not gave_up
        clock.advance(timedelta(seconds=3))  # past the first backoff (2 s)
        sender.wake()
        await _until(lambda: bool(gave_up))
        clock.advance(timedelta(hours=1))
        sender.wake()
        await asyncio.sleep(0.3)
        assert [m.text for m in gave_up] == ["never delivered"]
        assert [(m.text, m.state, m.attempts) for m in await bot.outbox_after(0)] == [
            ("never delivered", "failed", 2)
        ]
    finally:
        await sender.stop()
