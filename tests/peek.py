"""Reading a running bot's database from a test, on either engine (a SQLite file or the
PostgreSQL pass's schema), and making a fresh one for a `carebot run` under test."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Awaitable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pytest

from bot.app import Carebot
from storage.postgres import fresh_schema, is_url, translate
from tests.conftest import TEST_DATABASE

T = TypeVar("T")
# Schemas made for processes under test, dropped when the session ends (tests/conftest.py).
LEFT: list[str] = []


async def pg_codecs(conn: Any) -> None:
    """timestamptz as the same sortable UTC text the SQLite file holds, so that a test reads
    one kind of value on both engines."""

    def decode(text: str) -> str:
        return text[:-3] if text.endswith("+00") else text

    await conn.set_type_codec(
        "timestamptz", encoder=str, decoder=decode, schema="pg_catalog", format="text"
    )


def in_thread(work: Awaitable[T]) -> T:
    """Run a coroutine to the end on a loop of its own (callers may be inside a loop)."""
    box: list[T] = []

    async def wrapped() -> None:
        box.append(await work)

    thread = threading.Thread(target=lambda: asyncio.run(wrapped()))
    thread.start()
    thread.join()
    return box[0]


def scratch(folder: Path) -> Path | str:
    """A new database for a process under test: a file in `folder`, or a schema of its own
    on CAREBOT_TEST_DATABASE's server."""
    if TEST_DATABASE:
        url = in_thread(fresh_schema(TEST_DATABASE))
        LEFT.append(url)
        return url
    return folder / "carebot.db"


def rows(db: Path | str, sql: str, args: Sequence[object] = ()) -> list[dict[str, Any]]:
    """Rows of a query (`?` placeholders) as dicts; times as the same text on both engines."""
    if not is_url(db):
        with sqlite3.connect(db, timeout=10) as conn:
            conn.row_factory = sqlite3.Row
            return [dict(r) for r in conn.execute(sql, tuple(args)).fetchall()]

    async def query() -> list[dict[str, Any]]:
        import asyncpg

        conn = await asyncpg.connect(str(db), server_settings={"timezone": "UTC"})
        try:
            await pg_codecs(conn)
            return [dict(r) for r in await conn.fetch(translate(sql).sql, *args)]
        finally:
            await conn.close()

    return in_thread(query())


def count_units(bot: Carebot, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the units of work `bot` opens from now on: a one-item list the test reads."""
    units = [0]
    real = bot.db.transaction

    def counted() -> Any:
        units[0] += 1
        return real()

    monkeypatch.setattr(bot.db, "transaction", counted)
    return units
