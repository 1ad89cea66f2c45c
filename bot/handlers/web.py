"""The HTTP side of `carebot run` (Starlette): health today, the channels' webhooks next."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from bot.app import Carebot
from bot.handlers.scheduler import TimerWaker


def build_app(
    bot: Carebot,
    waker: TimerWaker,
    channels: dict[str, str],
    routes: list[BaseRoute] | None = None,
) -> Starlette:
    """The ASGI app: GET /healthz reports the database, the timers and each channel."""

    async def healthz(_: Request) -> JSONResponse:
        try:
            pending, first = await bot.timer_stats()
        except Exception as exc:  # the point of a health check is to say so, not to crash
            return JSONResponse({"database": f"error: {exc}"}, status_code=503)
        return JSONResponse(
            {
                "database": "ok",
                "timers": {
                    "pending": pending,
                    "next_due": first.isoformat() if first else None,
                    "fired_since_start": waker.fired,
                    "scheduler": "running" if waker.scheduler.running else "stopped",
                },
                "channels": channels,
            }
        )

    return Starlette(routes=[Route("/healthz", healthz), *(routes or [])])
