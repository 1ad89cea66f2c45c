"""The composition root: the one place that opens storage and wires the application.

`carebot run` (the web app, the timers, the channels' senders), the demo, the replay runner,
imports and the ledger export all get their Carebot here; the adapters only see bot.app.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from datetime import date
from functools import partial
from pathlib import Path
from typing import TextIO

import uvicorn

from bot.app import Carebot, Opener
from bot.clock import SystemClock
from bot.handlers import demo, export
from bot.handlers.channels import Channel, build_channels
from bot.handlers.inbound import InboundWorker
from bot.handlers.scheduler import TimerWaker
from bot.handlers.web import build_app
from bot.handlers.webconsole.routes import Console
from bot.replay import run_file, run_files
from bot.services.ports import Clock
from bot.settings import ConfigError, Settings
from storage.engines import is_url, open_database
from storage.postgres import drop_schema, fresh_schema

log = logging.getLogger(__name__)


async def open_carebot(
    path: str | Path,
    clock: Clock,
    *,
    wait_busy_ms: int = 10_000,
    full_while: str | None = None,
    idle_seconds: float = 60.0,
) -> Carebot:
    """Open (and migrate) the database at `path` and wrap it in a Carebot; writes wait
    `wait_busy_ms` on a lock (`full_while`: see Database.open, tests only; `idle_seconds`: see
    PgDatabase.open)."""
    db = await open_database(
        path, wait_busy_ms=wait_busy_ms, full_while=full_while, idle_seconds=idle_seconds
    )
    return Carebot(db, clock)


# Where `carebot replay` (and the test suite's PostgreSQL pass) replays when no --db is given:
# a postgresql:// URL gives each transcript a schema of its own on that server.
REPLAY_SERVER = "CAREBOT_REPLAY_DATABASE"


class ReplayDatabases:
    """Each transcript's database: a SQLite file in its folder, or, given a PostgreSQL server
    (`server`, else $CAREBOT_REPLAY_DATABASE when it is a postgresql:// URL), a fresh schema
    there, dropped after the transcript."""

    def __init__(self, server: str | None = None) -> None:
        server = server or os.environ.get(REPLAY_SERVER) or None
        self.server = server if server and is_url(server) else None

    async def make(self, folder: Path) -> str | Path:
        """A fresh schema on the server, or replay.db in `folder`."""
        if self.server is None:
            return folder / "replay.db"
        return await fresh_schema(self.server)

    async def drop(self, location: str | Path) -> None:
        """Drop the transcript's schema (a file goes with its folder)."""
        if is_url(location):
            await drop_schema(str(location))


async def replay_file(
    path: Path,
    out: TextIO,
    verbose: bool = False,
    *,
    server: str | None = None,
    open_bot: Opener = open_carebot,
) -> int:
    """Replay one transcript on a fresh database (see bot.replay.run_file and
    ReplayDatabases for `server`)."""
    return await run_file(path, out, verbose, open_bot=open_bot, scratch=ReplayDatabases(server))


async def replay_files(
    paths: list[Path],
    verbose: bool = False,
    out: TextIO = sys.stdout,
    *,
    server: str | None = None,
    open_bot: Opener = open_carebot,
) -> int:
    """Replay several transcripts (see bot.replay.run_files and ReplayDatabases)."""
    return await run_files(paths, verbose, out, open_bot=open_bot, scratch=ReplayDatabases(server))


# The terminal demo on a database the root opens (see bot.handlers.demo.run_demo).
run_demo = partial(demo.run_demo, open_bot=open_carebot)


async def export_ledger(db_path: str, start_day: date, end_day: date, out: TextIO) -> int:
    """`carebot export ledger`: the CSV of agency-time days [start_day, end_day].

    Raises NotFound when the database holds no agency (nothing is written then)."""
    bot = await open_carebot(db_path, SystemClock())
    try:
        return await export.write_ledger(bot, start_day, end_day, out)
    finally:
        await bot.close()


async def run_live(settings: Settings, host: str, port: int) -> int:
    """Serve until stopped; pending timers and queued messages survive any stop."""
    try:
        channels, states = build_channels(settings)
        links = settings.console_links()
    except ConfigError as exc:
        log.error("configuration: %s", exc)
        return 2
    bot = await open_carebot(
        settings.database,
        SystemClock(),
        wait_busy_ms=settings.db_busy_ms,
        full_while=settings.test_disk_full_while or None,
        idle_seconds=settings.db_idle_transaction_seconds,
    )
    if not await bot.has_agency():
        # Without an agency every timer and message would fail, over and over.
        log.error("%s holds no agency: run carebot import FILE first", settings.database)
        await bot.close()
        return 1
    waker = TimerWaker(bot, settings.sweep_seconds)
    inbound = InboundWorker(bot, settings.inbound_poll_seconds, settings.inbound_processors)
    bot.after_commit.append(waker.rearm)
    for channel in channels:
        bot.after_commit.append(_waker_of(channel))
    for name, state in states.items():
        log.info("channel %s: %s", name, state)
    if not channels:
        # Loud on purpose: a bot that cannot reach anyone looks healthy otherwise.
        log.warning(
            "NO CHANNEL CONFIGURED: nobody can write to this bot and it sends nothing. "
            "Set CAREBOT_TELEGRAM_TOKEN and/or the CAREBOT_TWILIO_* settings (see README)."
        )
    routes = [r for c in channels for r in c.routes()]
    bot.console_links = links
    if links is None:
        states["console"] = "off (set CAREBOT_CONSOLE_SECRET)"
    else:
        console = Console(bot, links)
        await bot.warm_console()
        routes += console.routes()
        states["console"] = f"on at {links.base_url.rstrip('/')}/console"
        log.info("console: %s", states["console"])
    app = build_app(bot, waker, states, routes, live=channels)
    server = uvicorn.Server(
        uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off")
    )
    for channel in channels:
        await channel.start(bot, inbound)
    await inbound.start()
    await waker.start()
    # Other workers' new work wakes this one at once (PostgreSQL); polling stays the fallback.
    await bot.listen_for_work(_wakers(waker, inbound, channels))
    # What start-up loaded (libraries, catalogues, phone metadata) lives as long as the
    # process: out of the collector's sight, a full collection takes ~1 ms instead of ~40 ms
    # of stalled webhooks (bench/RESULTS.md, sms-inbound tail latency).
    gc.freeze()
    # uvicorn stops serving on SIGTERM, then raises the signal again for the handler that was
    # there before it: the default one would end the process before the `finally` below, and
    # a stopping worker would keep its outbox leases and its Telegram poller lease until they
    # expire. Ours asks the server to stop (a SIGTERM before uvicorn listens for it too), and
    # the stop ends here, after handing them back.
    signal.signal(signal.SIGTERM, lambda *_: setattr(server, "should_exit", True))
    log.info("carebot running on http://%s:%s (database %s)", host, port, settings.database)
    try:
        await server.serve()
    finally:
        waker.stop()
        await inbound.stop()
        # Side by side: each lets its sends on their way land (up to delivery.STOP_GRACE).
        for failed in await asyncio.gather(*(c.stop() for c in channels), return_exceptions=True):
            if isinstance(failed, Exception):
                log.error("stopping a channel failed", exc_info=failed)
        await bot.close()
    return 0


def _wakers(
    waker: TimerWaker, inbound: InboundWorker, channels: list[Channel]
) -> Callable[[str], None]:
    """What another worker's NOTIFY wakes here: the inbound processor, the channels' senders,
    or the timer job (re-aimed at the earliest timer, one look at a time)."""
    rearming: set[asyncio.Task[None]] = set()

    async def rearm() -> None:
        try:
            await waker.rearm(force=True)
        except Exception:
            log.exception("re-aiming the timer job failed; the sweep will find the timers")

    def wake(kind: str) -> None:
        if kind == "inbound":
            inbound.wake()
        elif kind == "outbox":
            for channel in channels:
                channel.wake()
        elif kind == "timers" and not rearming:
            task = asyncio.get_running_loop().create_task(rearm())
            rearming.add(task)
            task.add_done_callback(rearming.discard)

    return wake


def _waker_of(channel: Channel) -> Callable[[], Awaitable[None]]:
    """An after-commit hook that wakes a channel's sender."""

    async def hook() -> None:
        channel.wake()

    return hook
