"""Telegram's getUpdates, by one worker for all the workers of a bot.

Telegram answers 409 Conflict to a second getUpdates while one is open ("terminated by other
getUpdates request"), so with several `carebot run` workers on one database exactly one polls:
the holder of a leader lease (storage's leader_leases row: owner, expires_at). It renews the
lease every third of its length; another worker takes over only once the lease has expired
(its holder died, or lost the database), or at once when the holder stops and resigns. A
holder that cannot renew stops polling before its lease runs out. An update handled but not
yet confirmed by the next getUpdates offset comes again to the next poller: it is stored
under its update_id, so it is answered once.

Webhook mode needs none of this: every worker takes the webhooks the load balancer gives it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from telegram import Bot, Update
from telegram.error import RetryAfter, TelegramError

from bot.app import Carebot
from bot.handlers.delivery import worker_id
from bot.handlers.telegram_transport import backoff, retry_seconds
from bot.services.ports import Leader

log = logging.getLogger(__name__)

POLLER = "telegram-poller"  # the leader lease's name
POLL_TIMEOUT = 25  # seconds one getUpdates call waits for news, at most
ALLOWED_UPDATES = ["message", "callback_query"]


class Poller:
    """Polls getUpdates while this worker holds the poller lease; stands by otherwise."""

    def __init__(
        self,
        api: Bot,
        bot: Carebot,
        handle: Callable[[Update], Awaitable[None]],
        *,
        lease_seconds: float,
        poll_timeout: int = POLL_TIMEOUT,
    ) -> None:
        self.api = api
        self.bot = bot
        self.handle = handle
        self.lease_seconds = lease_seconds
        # A long poll never outlasts a renewal period by much: a poller that lost its lease
        # stops before the next one starts.
        self.poll_timeout = max(1, min(poll_timeout, int(lease_seconds / 3)))
        self.owner = worker_id()
        self.holder: Leader | None = None  # as last seen
        self._polling: asyncio.Task[None] | None = None
        self._confirmed = 0.0  # time.monotonic() of the last renewal

    def state(self) -> str:
        """Who polls, for /healthz."""
        holder = self.holder
        if holder is None:
            return "polling: waiting for the poller lease"
        until = holder.expires_at.strftime("%H:%M:%S UTC")
        if self.polling:
            return f"polling: this worker polls (lease until {until})"
        return f"polling: standing by, {holder.owner} polls (lease until {until})"

    @property
    def polling(self) -> bool:
        """Whether this worker polls right now."""
        return self._polling is not None and not self._polling.done()

    async def run(self) -> None:
        """Take or renew the lease every third of its length; poll while it is ours."""
        try:
            while True:
                await self._turn()
                await asyncio.sleep(self.lease_seconds / 3)
        finally:
            await self._stop_polling()

    async def _turn(self) -> None:
        try:
            self.holder = await self.bot.lead(POLLER, self.owner, self.lease_seconds)
        except Exception as exc:  # the database: try again at the next turn
            log.warning("telegram: cannot renew the poller lease: %s", exc)
            if self.polling and time.monotonic() - self._confirmed > self.lease_seconds * 2 / 3:
                # Another worker may take the lease soon: two pollers get 409s.
                log.warning("telegram: poller lease about to expire; polling stops")
                await self._stop_polling()
            return
        if self.holder.owner == self.owner:
            self._confirmed = time.monotonic()
            if not self.polling:
                log.info("telegram: this worker polls getUpdates (poller lease taken)")
                self._polling = asyncio.create_task(self._poll(), name="telegram-poll")
        elif self.polling:
            log.warning("telegram: %s took the poller lease; polling stops", self.holder.owner)
            await self._stop_polling()

    async def _stop_polling(self) -> None:
        task, self._polling = self._polling, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def resign(self) -> None:
        """Stop polling and hand the lease back, so that another worker polls at once."""
        await self._stop_polling()
        with contextlib.suppress(Exception):  # it expires anyway
            await self.bot.resign(POLLER, self.owner)

    async def _poll(self) -> None:
        """getUpdates in a loop; the offset moves past an update once it is stored."""
        offset: int | None = None
        failures = 0
        while True:
            try:
                updates = await self.api.get_updates(
                    offset=offset, timeout=self.poll_timeout, allowed_updates=ALLOWED_UPDATES
                )
                failures = 0
            except RetryAfter as exc:
                await asyncio.sleep(retry_seconds(exc))
                continue
            except TelegramError as exc:
                failures += 1
                await backoff(failures, 30.0, "getUpdates failed", exc)
                continue
            for update in updates:
                await self._handle_with_retries(update)
                offset = update.update_id + 1

    async def _handle_with_retries(self, update: Update) -> None:
        """A failing update (the database busy) is tried again; a poison one is skipped."""
        for attempt in range(3):
            try:
                await self.handle(update)
                return
            except Exception:
                log.exception("telegram: update %s failed (attempt %s)", update.update_id, attempt)
                await asyncio.sleep(2.0**attempt)
