"""`carebot run`: one process with the web app, the timers and the channels' senders."""

from __future__ import annotations

import gc
import logging
from collections.abc import Awaitable, Callable

import uvicorn

from bot.app import Carebot
from bot.clock import SystemClock
from bot.handlers.channels import Channel, build_channels
from bot.handlers.inbound import InboundWorker
from bot.handlers.scheduler import TimerWaker
from bot.handlers.web import build_app
from bot.handlers.webconsole.routes import Console
from bot.settings import ConfigError, Settings

log = logging.getLogger(__name__)


async def run_live(settings: Settings, host: str, port: int) -> int:
    """Serve until stopped; pending timers and queued messages survive any stop."""
    try:
        channels, states = build_channels(settings)
        links = settings.console_links()
    except ConfigError as exc:
        log.error("configuration: %s", exc)
        return 2
    bot = await Carebot.open(
        settings.database,
        SystemClock(),
        wait_busy_ms=settings.db_busy_ms,
        full_while=settings.test_disk_full_while or None,
    )
    if not await bot.has_agency():
        # Without an agency every timer and message would fail, over and over.
        log.error("%s holds no agency: run carebot import FILE first", settings.database)
        await bot.close()
        return 1
    waker = TimerWaker(bot, settings.sweep_seconds)
    inbound = InboundWorker(bot)
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
        routes += Console(bot, links).routes()
        states["console"] = f"on at {links.base_url.rstrip('/')}/console"
        log.info("console: %s", states["console"])
    app = build_app(bot, waker, states, routes)
    server = uvicorn.Server(
        uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off")
    )
    for channel in channels:
        await channel.start(bot, inbound)
    await inbound.start()
    await waker.start()
    # What start-up loaded (libraries, catalogues, phone metadata) lives as long as the
    # process: out of the collector's sight, a full collection takes ~1 ms instead of ~40 ms
    # of stalled webhooks (bench/RESULTS.md, sms-inbound tail latency).
    gc.freeze()
    log.info("carebot running on http://%s:%s (database %s)", host, port, settings.database)
    try:
        await server.serve()
    finally:
        waker.stop()
        await inbound.stop()
        for channel in channels:
            await channel.stop()
        await bot.close()
    return 0


def _waker_of(channel: Channel) -> Callable[[], Awaitable[None]]:
    """An after-commit hook that wakes a channel's sender."""

    async def hook() -> None:
        channel.wake()

    return hook
