"""Draining the outbox through a channel's transport: retries, order, pace, crash recovery.

A message is claimed (in_flight, attempts + 1) and committed before it is handed to the
transport, and settled in a second transaction after. A crash in between leaves it in
flight; at the next start it is queued again and sent with the same idempotency key
(carebot-outbox-<id>), which a transport passes on so the provider can drop the repeat.
Messages to one recipient leave in order: only the oldest queued one is ever claimed.
Sends are a pipeline: up to `window` in flight, more claimed as they land (at once when the
sender is idle, by a quarter window under load so that claims stay few).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal, Protocol

from bot.app import Carebot
from bot.services.ports import OutboxMessage

log = logging.getLogger(__name__)
MAX_BACKOFF = 300.0


@dataclass(frozen=True)
class Delivery:
    """What a transport did with one message."""

    outcome: Literal["sent", "retry", "failed", "dropped", "opted_out"]
    external_id: str | None = None
    retry_after: float | None = None  # seconds, when the service said so (Telegram 429)
    error: str = ""


class Transport(Protocol):
    """Sends outbox messages of one channel to the outside world."""

    channel: str

    async def send(self, message: OutboxMessage, idempotency_key: str) -> Delivery:
        """Send one message; never raise for a service's error, say it in the Delivery."""
        ...


def idempotency_key(message: OutboxMessage) -> str:
    """The key that makes a re-send of one outbox row recognisable."""
    return f"carebot-outbox-{message.id}"


class Pace:
    """At most `per_second` sends overall and one per `per_recipient` seconds per address."""

    def __init__(self, per_second: float | None, per_recipient: float) -> None:
        self._gap = 1.0 / per_second if per_second else 0.0
        self._per_recipient = per_recipient
        self._next_any = 0.0
        self._next_for: dict[str, float] = {}
        self._lock = asyncio.Lock()

    async def wait(self, address: str) -> None:
        """Sleep until this address may receive another message."""
        async with self._lock:
            now = time.monotonic()
            at = max(now, self._next_any, self._next_for.get(address, 0.0))
            self._next_any = at + self._gap
            self._next_for[address] = at + self._per_recipient
        if at > now:
            await asyncio.sleep(at - now)


class Sender:
    """One channel's outbox drainer; wake() it after a commit, it also polls as a safety net."""

    def __init__(
        self,
        bot: Carebot,
        transport: Transport,
        *,
        window: int = 100,
        per_second: float | None = None,
        per_recipient: float = 0.0,
        max_attempts: int = 10,
        poll_seconds: float = 1.0,
        on_opted_out: Callable[[OutboxMessage], Awaitable[None]] | None = None,
        on_gave_up: Callable[[OutboxMessage], Awaitable[None]] | None = None,
    ) -> None:
        self.bot = bot
        self.transport = transport
        self.window = window
        self.pace = Pace(per_second, per_recipient)
        self.max_attempts = max_attempts
        self.poll_seconds = poll_seconds
        self.on_opted_out = on_opted_out
        self.on_gave_up = on_gave_up
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._flying: set[asyncio.Task[None]] = set()
        self.sent = 0

    async def start(self) -> None:
        """Requeue what a crash left in flight, then drain in the background."""
        async with self.bot.db.transaction() as tx:
            recovered = await tx.recover_in_flight(self.transport.channel)
        if recovered:
            log.warning(
                "%s: %s messages were in flight at the last stop; sending again",
                self.transport.channel,
                recovered,
            )
        self._task = asyncio.create_task(self._run(), name=f"sender-{self.transport.channel}")

    async def stop(self) -> None:
        """Stop draining (queued messages stay queued; those in flight go again at start)."""
        for task in [self._task, *self._flying]:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    def wake(self) -> None:
        """Something was committed: look at the outbox now rather than at the next poll."""
        self._wake.set()

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            room = self.window - len(self._flying)
            if not self._flying or room >= self.window // 4:
                try:
                    claimed = await self._claim(room)
                except Exception:
                    log.exception("%s: claiming from the outbox failed", self.transport.channel)
                    claimed = 0
                if claimed:
                    continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)

    async def _claim(self, limit: int) -> int:
        """Claim up to `limit` due messages and start sending them; returns how many."""
        async with self.bot.db.transaction() as tx:
            batch = await tx.claim_outbox(self.transport.channel, self.bot.clock.now(), limit)
        for message in batch:
            task = asyncio.create_task(self._deliver(message))
            self._flying.add(task)
            task.add_done_callback(self._landed)
        return len(batch)

    def _landed(self, task: asyncio.Task[None]) -> None:
        """A send settled: its slot is free."""
        self._flying.discard(task)
        self._wake.set()
        if not task.cancelled() and (error := task.exception()) is not None:
            # Not settled (the database failed): it stays in flight until the next start.
            log.error("%s: settling a message failed", self.transport.channel, exc_info=error)

    async def _deliver(self, message: OutboxMessage) -> None:
        await self.pace.wait(message.address)
        try:
            result = await self.transport.send(message, idempotency_key(message))
        except Exception as exc:  # a transport bug must not lose the message
            log.exception("%s: transport raised on message %s", self.transport.channel, message.id)
            result = Delivery("retry", error=repr(exc))
        await self._settle(message, result)

    async def _settle(self, message: OutboxMessage, result: Delivery) -> None:
        now = self.bot.clock.now()
        limited = result.retry_after is not None
        gave_up = False
        async with self.bot.db.transaction() as tx:
            if result.outcome == "sent":
                await tx.mark_sent(message.id, result.external_id, now)
                self.sent += 1
            elif result.outcome == "retry" and (limited or message.attempts < self.max_attempts):
                # A rate limit (429 with a delay) is the service pacing us, not a failure: it
                # neither uses up the attempts nor lengthens the backoff of later failures.
                delay = result.retry_after or min(MAX_BACKOFF, 2.0**message.attempts)
                await tx.mark_retry(
                    message.id, now + timedelta(seconds=delay), result.error, counted=not limited
                )
                log.info(
                    "%s: message %s retried in %.0fs (%s)",
                    self.transport.channel,
                    message.id,
                    delay,
                    result.error,
                )
            elif result.outcome in ("dropped", "opted_out"):
                await tx.mark_failed(message.id, result.error or result.outcome, dropped=True)
            else:
                await tx.mark_failed(message.id, result.error or "gave up")
                gave_up = result.outcome == "retry"
                log.warning(
                    "%s: message %s failed%s: %s",
                    self.transport.channel,
                    message.id,
                    f" after {message.attempts} attempts" if gave_up else "",
                    result.error,
                )
        if result.outcome == "opted_out" and self.on_opted_out is not None:
            await self.on_opted_out(message)
        if gave_up and self.on_gave_up is not None:
            # The service kept failing (5xx, timeouts) for ~13 minutes: what the message asked
            # must not wait on it silently, as when the service refuses it outright.
            await self.on_gave_up(message)
        if result.outcome == "retry":
            # Wake up again in time for the retry even if nothing else is committed.
            asyncio.get_running_loop().call_later(
                min(self.poll_seconds, result.retry_after or self.poll_seconds), self.wake
            )
