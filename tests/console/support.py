"""A live console for tests: `carebot run`'s console routes on real HTTP on loopback.

The bot, its SQLite file and uvicorn run on their own event loop in a thread, so that a
browser (Playwright's sync API) and plain HTTP clients can talk to it from the test, and
chat messages can be pressed on the same loop at the same time (`LiveConsole.soon`).
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Coroutine, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import uvicorn
from starlette.applications import Starlette

from bot.agency_file import load_agency_file
from bot.app import Carebot
from bot.clock import VirtualClock
from bot.handlers.webconsole.routes import Console
from bot.root import open_carebot
from bot.services.console_links import ConsoleLinks
from tests.conftest import AGENCY, paris

T = TypeVar("T")
SECRET = "test-secret-" + "x" * 40


@dataclass
class LiveConsole:
    """The running console: its URL, the bot behind it and how to run code on its loop."""

    url: str
    bot: Carebot
    clock: VirtualClock
    links: ConsoleLinks
    loop: asyncio.AbstractEventLoop

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the bot's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    def soon(self, coro: Coroutine[Any, Any, T]) -> Future[T]:
        """Start a coroutine on the bot's loop without waiting (a press racing a click)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def link(self, staff_id: str) -> str:
        """A fresh sign-in link, as `carebot console-link` prints it."""
        return self.links.link(staff_id, self.clock.now())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def live_console(tmp_path: Path, now: str = "2026-11-23 10:00") -> Iterator[LiveConsole]:
    """Serve the console of a fresh bot (the transcripts' agency) until the block ends."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    links = ConsoleLinks(SECRET, url)
    clock = VirtualClock(paris(now))
    loop = asyncio.new_event_loop()
    ready: Future[tuple[Carebot, uvicorn.Server]] = Future()

    async def main() -> None:
        bot = await open_carebot(tmp_path / "carebot.db", clock)
        await bot.import_agency(load_agency_file(AGENCY))
        bot.console_links = links
        app = Starlette(routes=Console(bot, links).routes())
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
        )
        serving = asyncio.ensure_future(server.serve())
        while not server.started:  # noqa: ASYNC110 - uvicorn offers a flag, no event
            await asyncio.sleep(0.01)
        ready.set_result((bot, server))
        await serving
        await bot.close()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    bot, server = ready.result(30)
    try:
        yield LiveConsole(url, bot, clock, links, loop)
    finally:
        server.should_exit = True
        thread.join(15)
        loop.close()
