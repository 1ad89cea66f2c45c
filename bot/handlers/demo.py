"""`carebot demo`: seed the sample agency into a local SQLite file and chat in the terminal."""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from bot.agency_file import AgencyFileError, load_agency_file
from bot.app import Opener
from bot.clock import VirtualClock
from bot.handlers.console import Console


def _start_time(tz: ZoneInfo, now: datetime | None) -> datetime:
    """The next weekday at 09:00 unless told otherwise: a calm morning at the agency."""
    if now:
        return now.replace(tzinfo=tz)
    today = datetime.now(tz).replace(hour=9, minute=0, second=0, microsecond=0)
    day = today + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


async def run_demo(
    db_path: str,
    agency_path: Path,
    now: datetime | None,
    *,
    keep: bool = False,
    read: Callable[[str], str | None] | None = None,
    out: TextIO = sys.stdout,
    open_bot: Opener,
) -> int:
    """Run the interactive demo until /quit or end of input (`read` stands for input());
    `open_bot` (bot.root.open_carebot) opens the demo's database."""
    try:
        agency = load_agency_file(agency_path)
    except AgencyFileError as exc:
        print(f"carebot demo: {exc}", file=sys.stderr)
        return 1
    tz = ZoneInfo(agency.agency.timezone)
    if not keep and db_path.startswith(("postgresql://", "postgres://")):
        # The demo starts by deleting yesterday's file; it never empties a server's database.
        print(
            "carebot demo: a demo starts from a fresh file; on PostgreSQL give --keep to play "
            "on what that database holds",
            file=sys.stderr,
        )
        return 1
    if not keep:
        _remove_database(db_path)
    clock = VirtualClock(_start_time(tz, now))
    # The text as given: Path() would fold a URL's '//' into '/' and make it a file name.
    bot = await open_bot(db_path, clock)
    try:
        await bot.import_agency(agency)
        console = Console(bot, clock, agency, out)
        await console.start()
        loop = asyncio.get_running_loop()
        while True:
            prompt = f"{console.current.id}> "
            line = await _ask(loop, read or _read, prompt)
            if line is None or not await console.line(line):
                break
    finally:
        await bot.close()
    return 0


def _remove_database(db_path: str) -> None:
    """A demo starts from the sample agency, not from yesterday's experiments."""
    for suffix in ("", "-wal", "-shm"):
        Path(db_path + suffix).unlink(missing_ok=True)


async def _ask(
    loop: asyncio.AbstractEventLoop, read: Callable[[str], str | None], prompt: str
) -> str | None:
    """One line typed at the terminal, read on a daemon thread.

    Not on the loop's executor: at Ctrl-C asyncio.run waits for the executor's threads, and
    one blocked in input() would hold the demo open until Enter.
    """
    answer: asyncio.Future[str | None] = loop.create_future()

    def settle(line: str | None, error: BaseException | None) -> None:
        if answer.done():
            return
        if error is not None:
            answer.set_exception(error)
        else:
            answer.set_result(line)

    def work() -> None:
        try:
            line = read(prompt)
        except Exception as exc:  # handed to the loop, which raises it in run_demo
            loop.call_soon_threadsafe(settle, None, exc)
        else:
            loop.call_soon_threadsafe(settle, line, None)

    threading.Thread(target=work, name="demo-input", daemon=True).start()
    return await answer


def _read(prompt: str) -> str | None:
    try:
        return input(prompt)
    except EOFError:
        return None
