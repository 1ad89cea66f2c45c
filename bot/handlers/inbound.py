"""Processing accepted deliveries: webhooks store and answer at once, this worker handles them.

At start it processes whatever a crash left accepted but unprocessed; then it waits for a
wake() from a webhook, polling now and then as a safety net.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from bot.app import Carebot
from bot.domain.errors import Unavailable
from bot.handlers.wakes import woken

log = logging.getLogger(__name__)

BATCH = 100  # deliveries per turn before the loop looks at its stop again


class InboundWorker:
    """Processes accepted inbound messages in arrival order per person: one processor at a time
    by default; on PostgreSQL `processors` may take several people's messages at once (each
    person's stay in order: storage/repos/inbox.py's lanes)."""

    def __init__(self, bot: Carebot, poll_seconds: float = 1.0, processors: int = 1) -> None:
        self.bot = bot
        self.poll_seconds = poll_seconds
        self._wakes = [asyncio.Event() for _ in range(max(1, processors))]
        self._tasks: list[asyncio.Task[None]] = []
        self.processed = 0

    async def start(self) -> None:
        """Start processing in the background (the backlog first)."""
        self._tasks = [
            asyncio.create_task(self._run(wake), name=f"inbound-worker-{n}")
            for n, wake in enumerate(self._wakes)
        ]

    def wake(self) -> None:
        """A delivery was accepted: process it now."""
        for wake in self._wakes:
            wake.set()

    async def stop(self) -> None:
        """Stop processing; accepted deliveries wait in the database."""
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self, wake: asyncio.Event) -> None:
        while True:
            wake.clear()
            try:
                done = await self.bot.process_pending(BATCH)
            except Unavailable as exc:  # the message waits, accepted, for the next turn
                log.warning("processing inbound messages paused: %s", exc)
                done = 0
            except Exception:
                log.exception("processing inbound messages failed")
                done = 0
            self.processed += done
            if done >= BATCH:
                continue  # stopped at the batch's end with more waiting
            # Drained: a delivery accepted since the wake was cleared has set it again.
            await woken(wake, self.poll_seconds)
