"""The live clock's timers: APScheduler wakes the bot, the `timers` table stays the truth.

APScheduler holds one date job, set at the earliest pending due time, and a periodic sweep.
When the job runs, every timer due by then fires (each claimed by an atomic update, so a
second process on the same database never fires it again), and the job is set again at the
next earliest due time. At start the same query re-arms everything that is pending, and
overdue timers fire at once. One job instead of one per timer keeps start-up flat however
many reminders are pending.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.app import Carebot

log = logging.getLogger(__name__)
WAKE_JOB = "carebot-next-timer"


class TimerWaker:
    """Keeps APScheduler's single wake-up job at the earliest pending timer."""

    def __init__(self, bot: Carebot, sweep_seconds: float = 30.0) -> None:
        self.bot = bot
        self.sweep_seconds = sweep_seconds
        self.scheduler = AsyncIOScheduler(
            timezone=UTC, job_defaults={"misfire_grace_time": None, "coalesce": True}
        )
        self._running = asyncio.Lock()
        self.fired = 0
        self._armed_for: datetime | None = None
        self._writes_seen = -1
        self._failures = 0  # runs in a row that failed

    async def start(self) -> None:
        """Start APScheduler, run what is overdue, and arm the next timer."""
        self.scheduler.start()
        self.scheduler.add_job(
            self.run_due,
            "interval",
            seconds=self.sweep_seconds,
            id="carebot-sweep",
            replace_existing=True,
        )
        await self.run_due()

    def stop(self) -> None:
        """Stop waking up (pending timers stay in the table for the next start)."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    async def run_due(self) -> None:
        """Fire everything due now, then arm the job at the next pending due time."""
        async with self._running:
            try:
                self.fired += await self.bot.fire_due_timers(self.bot.clock.now())
                self._failures = 0
            except Exception:
                self._failures += 1
                log.exception("firing due timers failed; again in %.0fs", self._backoff())
            self._armed_for = None  # the job that woke us is spent: always aim it again
            await self.rearm(force=True)

    def _backoff(self) -> float:
        """Seconds an overdue timer waits after runs that failed in a row (0 after a good
        one): a database that fails every write (a full disk) is not asked again at once."""
        if not self._failures:
            return 0.0
        return float(min(self.sweep_seconds, 2.0 ** (self._failures - 1)))

    async def rearm(self, *, force: bool = False) -> None:
        """Point the wake-up job at the earliest pending timer (called after every commit).

        Without `force`, only when timers were added since the last look: most messages add
        none, and a timer that was cancelled at most wakes the job early for nothing. Other
        processes' timers are picked up by the sweep.
        """
        writes = self.bot.timer_writes
        if not force and writes == self._writes_seen:
            return
        self._writes_seen = writes
        first = await self.bot.next_due()
        if first == self._armed_for:
            return  # nothing earlier was added: the job already points at the right moment
        self._armed_for = first
        if first is None:
            if self.scheduler.get_job(WAKE_JOB):
                self.scheduler.remove_job(WAKE_JOB)
            return
        when = max(first, datetime.now(UTC) + timedelta(seconds=self._backoff()))
        self.scheduler.add_job(
            self.run_due, "date", run_date=when, id=WAKE_JOB, replace_existing=True
        )
        log.debug("next timer at %s", when.isoformat())
