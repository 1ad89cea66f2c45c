"""The SQLite executor: runs repositories' statements on one SQLite connection.

Statements run on the event loop's own thread (storage/db.py says why), except the heavy
reads, which go through aiosqlite's thread. Datetimes are stored as sortable UTC text and
days as ISO text; both are encoded here, so repositories pass Python values.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any, cast

import aiosqlite

from storage.codec import ts
from storage.repos.sql import Conflict, Dialect, Row


def _encode(args: Sequence[Any]) -> Sequence[Any]:
    """Python values as SQLite stores them (datetimes and days as text); most statements
    carry none, and go through untouched."""
    for value in args:
        kind = type(value)
        if kind is datetime or kind is date:
            break
    else:
        return args
    return [
        ts(v) if type(v) is datetime else v.isoformat() if type(v) is date else v for v in args
    ]


class SqliteExecutor:
    """The Executor (storage/repos/sql.py) over one connection, inside BEGIN IMMEDIATE."""

    dialect: Dialect = "sqlite"

    def __init__(self, conn: aiosqlite.Connection, raw: sqlite3.Connection) -> None:
        self._conn = conn
        self._raw = raw

    async def one(self, sql: str, args: Sequence[Any] = ()) -> Row | None:
        """The first row of a query, or None."""
        try:
            return cast("Row | None", self._raw.execute(sql, _encode(args)).fetchone())
        except sqlite3.IntegrityError as exc:
            raise Conflict(str(exc)) from exc

    async def all(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        """Every row of a query."""
        try:
            return cast("list[Row]", self._raw.execute(sql, _encode(args)).fetchall())
        except sqlite3.IntegrityError as exc:
            raise Conflict(str(exc)) from exc

    async def heavy(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        """A read that may take milliseconds on a large agency: in aiosqlite's thread."""
        return cast("list[Row]", list(await self._conn.execute_fetchall(sql, _encode(args))))

    async def run(self, sql: str, args: Sequence[Any] = ()) -> int:
        """Execute a write; how many rows it changed."""
        try:
            return self._raw.execute(sql, _encode(args)).rowcount
        except sqlite3.IntegrityError as exc:
            raise Conflict(str(exc)) from exc

    async def insert(self, sql: str, args: Sequence[Any] = ()) -> int:
        """Execute an INSERT; the new row's id."""
        try:
            return self._raw.execute(sql, _encode(args)).lastrowid or 0
        except sqlite3.IntegrityError as exc:
            raise Conflict(str(exc)) from exc

    async def many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """One statement over many rows."""
        try:
            self._raw.executemany(sql, [_encode(r) for r in rows])
        except sqlite3.IntegrityError as exc:
            raise Conflict(str(exc)) from exc
