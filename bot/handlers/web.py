"""The HTTP side of `carebot run` (Starlette): health today, the channels' webhooks next."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from bot.app import Carebot
from bot.handlers.channels import Channel
from bot.handlers.delivery import worker_prefix
from bot.handlers.scheduler import TimerWaker


def build_app(
    bot: Carebot,
    waker: TimerWaker,
    channels: dict[str, str],
    routes: list[BaseRoute] | None = None,
    live: Sequence[Channel] = (),
) -> Starlette:
    """The ASGI app: GET /healthz reports the database, the timers, each channel, and this
    worker's leases and the bot's lag (seconds the oldest inbound message, due outbox row and
    overdue timer have waited).

    It answers 503 when the database does not take writes (disk full, a lock held past the
    busy timeout): a worker that can read but not write loses every message it is given, so
    a load balancer must take it out."""

    async def healthz(_: Request) -> JSONResponse:
        try:
            failing, pending, first = await bot.health()
            lag, leases = await bot.lag_and_leases(worker_prefix())
        except Exception as exc:  # the point of a health check is to say so, not to crash
            return JSONResponse({"database": f"error: {exc}"}, status_code=503)
        if failing is not None:
            return JSONResponse({"database": f"writes failing: {failing}"}, status_code=503)
        return JSONResponse(
            {
                "database": "ok",
                "timers": {
                    "pending": pending,
                    "next_due": first.isoformat() if first else None,
                    "fired_since_start": waker.fired,
                    "lateness_ms": _percentiles(bot.timer_lateness),
                    "scheduler": "running" if waker.scheduler.running else "stopped",
                },
                # The live channels' lines as of now (which worker polls Telegram changes).
                "channels": channels | {channel.name: channel.state() for channel in live},
                # Several workers share one database: what this one holds, and how far
                # behind the whole bot is (the oldest waiting work, whichever worker takes it).
                "worker": {"id": worker_prefix().rstrip(":"), "leases": leases, "lag_s": lag},
            }
        )

    return Starlette(routes=[Route("/healthz", healthz), *(routes or [])])


def _percentiles(seconds: Iterable[float]) -> dict[str, float] | None:
    """p50 and p99 of recent timer lateness, in milliseconds."""
    values = sorted(seconds)
    if not values:
        return None
    return {
        "p50": round(values[len(values) // 2] * 1000, 1),
        "p99": round(values[min(len(values) - 1, int(len(values) * 0.99))] * 1000, 1),
        "count": len(values),
    }
