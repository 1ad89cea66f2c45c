"""`carebot run`: one process with the web app, the timers and (next) the channel senders."""

from __future__ import annotations

import logging

import uvicorn

from bot.app import Carebot
from bot.clock import SystemClock
from bot.handlers.scheduler import TimerWaker
from bot.handlers.web import build_app
from bot.settings import Settings

log = logging.getLogger(__name__)


def channel_states(settings: Settings) -> dict[str, str]:
    """Which channels are on; today the Telegram and SMS transports are not built yet."""
    del settings
    return {"telegram": "off (not configured)", "sms": "off (not configured)"}


async def run_live(settings: Settings, host: str, port: int) -> int:
    """Serve until stopped; pending timers survive any stop, clean or not."""
    bot = await Carebot.open(settings.database, SystemClock())
    waker = TimerWaker(bot, settings.sweep_seconds)
    bot.after_commit.append(waker.rearm)
    channels = channel_states(settings)
    for name, state in channels.items():
        log.info("channel %s: %s", name, state)
    server = uvicorn.Server(
        uvicorn.Config(
            build_app(bot, waker, channels),
            host=host,
            port=port,
            log_level="warning",
            lifespan="off",
        )
    )
    await waker.start()
    log.info("carebot running on http://%s:%s (database %s)", host, port, settings.database)
    try:
        await server.serve()
    finally:
        waker.stop()
        await bot.close()
    return 0
