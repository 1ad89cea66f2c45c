"""Where a benchmark keeps its data: a fresh SQLite file, or a fresh schema on a PostgreSQL
server that is dropped afterwards.

Every benchmark that runs on both engines takes `--db sqlite` (the default) and/or
`--db postgresql://user@host:port/dbname` (repeatable, so that one run measures both and the
ratios between them come from the same minutes of the same machine).

The schemas come from storage.postgres.fresh_schema, which turns off synchronous_commit for
throwaway test data; a benchmark keeps the server's own setting instead (on, by default: a
commit waits for the disk), as `carebot run` does on a plain URL, unless the URL given here
asks for synchronous_commit itself.
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

from storage.postgres import drop_schema, fresh_schema, is_url, translate

SQLITE = "sqlite"


def stop_cleanly() -> None:
    """Make SIGTERM (a timeout, someone stopping the run) raise SystemExit, so that the
    benchmark's finally blocks stop the processes it started and drop its schema."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def engine(location: str) -> str:
    """The engine a --db value names, as the tables print it."""
    return "PostgreSQL" if is_url(location) else "SQLite"


def _durable(url: str) -> str:
    """fresh_schema's URL without its synchronous_commit=off (one the caller's URL named
    itself comes first in the query string, and stays)."""
    return url.replace("&synchronous_commit=off", "")


@asynccontextmanager
async def scratch_async(location: str, folder: Path) -> AsyncIterator[str]:
    """A new empty database for one measurement: a file in `folder` for `sqlite`, or a new
    schema on the server of a postgresql:// URL, dropped on the way out."""
    if not is_url(location):
        yield str(folder / "carebot.db")
        return
    url = _durable(await fresh_schema(location))
    try:
        yield url
    finally:
        await drop_schema(url)


@contextmanager
def scratch(location: str, folder: Path) -> Iterator[str]:
    """scratch_async for scripts without an event loop of their own."""
    if not is_url(location):
        yield str(folder / "carebot.db")
        return
    url = _durable(asyncio.run(fresh_schema(location)))
    try:
        yield url
    finally:
        asyncio.run(drop_schema(url))


def rows(db: str, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """The rows of one query (`?` placeholders) on either engine, to check what a run did."""
    if not is_url(db):
        with sqlite3.connect(db, timeout=30) as conn:
            return [tuple(r) for r in conn.execute(sql, tuple(args)).fetchall()]

    async def query() -> list[tuple[Any, ...]]:
        import asyncpg

        conn = await asyncpg.connect(db)
        try:
            return [tuple(r) for r in await conn.fetch(translate(sql).sql, *args)]
        finally:
            await conn.close()

    return asyncio.run(query())
