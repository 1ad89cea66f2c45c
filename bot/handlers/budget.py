"""A send budget that every worker on the database shares (Telegram's limits are per bot).

Telegram refuses more than about 30 messages a second from one bot, and 20 a minute to one
group, however many processes send them; each worker pacing itself would let N workers send
N times too fast. So a worker reserves each send's slot in the database (storage's
send_pace row: the next free moment, moved one gap further in one statement), then sleeps
until it. The slots are wall-clock Unix times, not the bot's Clock: the limit runs on
Telegram's real seconds, on whatever machine each worker runs, and the bot's clock is virtual
in tests.
"""

from __future__ import annotations

import asyncio
import math
import time

from bot.app import Carebot

# Above this rate no Bot API plan applies (the bench lifts the limits): no budget then,
# rather than a database write per message for nothing.
UNPACED_ABOVE = 1000.0  # messages a second


class SharedBudget:
    """At most `per_second` sends of `key` a second across all workers, evenly spaced."""

    def __init__(self, bot: Carebot, key: str, per_second: float | None) -> None:
        self.bot = bot
        self.key = key
        unpaced = per_second is None or per_second > UNPACED_ABOVE
        # Whole milliseconds, rounded up: never faster than the rate.
        self.gap_ms = 0 if unpaced else math.ceil(1000.0 / per_second)  # type: ignore[operator]

    async def wait(self) -> None:
        """Reserve the next slot and sleep until it (raises when the database fails)."""
        if not self.gap_ms:
            return
        slot = await self.bot.reserve_send(self.key, int(time.time() * 1000), self.gap_ms)
        delay = slot / 1000 - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
