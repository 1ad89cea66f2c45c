"""Processing accepted deliveries: webhooks store and answer at once, this worker handles them.

At start it processes whatever a crash left accepted but unprocessed; then it waits for a
wake() from a webhook, polling now and then as a safety net.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from bot.app import Carebot

log = logging.getLogger(__name__)


class InboundWorker:
    """Processes accepted inbound messages one at a time, in arrival order."""

    def __init__(self, bot: Carebot, poll_seconds: float = 1.0) -> None:
        self.bot = bot
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.processed = 0

    async def start(self) -> None:
        """Start processing in the background (the backlog first)."""
        self._task = asyncio.create_task(self._run(), name="inbound-worker")

    def wake(self) -> None:
        """A delivery was accepted: process it now."""
        self._wake.set()

    async def stop(self) -> None:
        """Stop processing; accepted deliveries wait in the database."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                done = await self.bot.process_pending()
            except Exception:
                log.exception("processing inbound messages failed")
                done = 0
            self.processed += done
            if done:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
