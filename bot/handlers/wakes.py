"""Waiting to be woken, with a poll as the safety net, in a way a stop can always end."""

from __future__ import annotations

import asyncio
import contextlib


async def woken(event: asyncio.Event, seconds: float) -> None:
    """Wait until `event` is set, or `seconds` have passed.

    asyncio.timeout, not wait_for: on Python 3.11, wait_for returns normally when it is
    cancelled just as the event is set, and the cancel is lost; a worker's loop then goes on
    and the stop awaiting it never returns (Sender.stop hung so in tests/test_sender.py).
    """
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()
