"""Writes that arrive in the same turn of the event loop, made in one unit of work."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class SameTurn(Generic[T]):
    """Gathers the items submitted while one turn of the event loop runs and hands them to
    `write` together: a burst of sends that land at once records its outcomes with one commit
    instead of one each. Every submitter returns once its item is written, or raises what the
    write raised; a submitter cancelled meanwhile cancels nobody else's write."""

    def __init__(self, write: Callable[[list[T]], Awaitable[None]]) -> None:
        self._write = write
        self._items: list[T] = []
        self._pending: asyncio.Task[None] | None = None
        self._writing: set[asyncio.Task[None]] = set()

    async def submit(self, item: T) -> None:
        """Write `item` with whatever else was submitted in this turn of the loop."""
        self._items.append(item)
        if self._pending is None:
            self._pending = asyncio.create_task(self._write_soon())
            self._writing.add(self._pending)
            self._pending.add_done_callback(self._writing.discard)
            self._pending.add_done_callback(_retrieved)
        await asyncio.shield(self._pending)

    async def settled(self) -> None:
        """Wait until every write under way has ended (a stopping sender: its submitters were
        cancelled, their items are still being written), whatever its outcome."""
        while self._writing:
            await asyncio.wait(list(self._writing))

    async def _write_soon(self) -> None:
        # The tasks that are ready in this turn (sends whose answers came in the same read)
        # submit theirs before the write; later ones start the next write.
        await asyncio.sleep(0)
        items, self._items, self._pending = self._items, [], None
        await self._write(items)


def _retrieved(task: asyncio.Task[None]) -> None:
    """A write whose submitters were all cancelled fails silently here: each submitter that
    waited has raised it already (asyncio would log it as never retrieved)."""
    with contextlib.suppress(asyncio.CancelledError, Exception):
        task.exception()
