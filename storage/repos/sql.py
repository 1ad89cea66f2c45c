"""What a repository needs from a database engine: the executor interface.

Repositories hold no engine: they write SQL with `?` placeholders and run it through an
executor, which a backend (SQLite today, PostgreSQL next) implements. Arguments go in as
Python values: aware UTC datetimes for timestamps, `date` for days, `int` for money (minor
units) and flags (0/1), `str`, `float` and None; the executor encodes them for its engine.
Rows come out as mappings of column name to value; timestamps come out as whatever the
engine returns (text on SQLite, datetime on PostgreSQL), so repositories decode them with
storage.codec's helpers, which accept both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal, Protocol, TypeVar

Row = Mapping[str, Any]
T = TypeVar("T")
Dialect = Literal["sqlite", "postgresql"]


class Conflict(Exception):
    """A constraint refused a write (unique key, double-booking guard); the message names the
    constraint or column, as the engine reported it."""


class Executor(Protocol):
    """Runs one unit of work's statements; every method belongs to the current transaction.

    A backend implements these six members; nothing else is asked of it. Any constraint
    violation (unique, check, foreign key, the double-booking guard) is raised as Conflict
    with the engine's message, which names the constraint (the double-booking guard's name
    or message contains "double booking" or "double_booking").
    """

    dialect: Dialect  # for the few statements that must differ between engines

    async def one(self, sql: str, args: Sequence[Any] = ()) -> Row | None:
        """The first row of a query (or of an UPDATE/INSERT ... RETURNING), or None."""
        ...

    async def all(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        """Every row of a query (or of an UPDATE ... RETURNING)."""
        ...

    async def heavy(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        """Every row of a read that may take milliseconds: the backend must not block its
        event loop on it (SQLite runs it on aiosqlite's thread)."""
        ...

    async def run(self, sql: str, args: Sequence[Any] = ()) -> int:
        """Execute a write; returns how many rows it changed."""
        ...

    async def insert(self, sql: str, args: Sequence[Any] = ()) -> int:
        """Execute one INSERT into a table keyed by an integer `id`; returns the new id
        (PostgreSQL appends RETURNING id, SQLite reads lastrowid)."""
        ...

    async def many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Execute one write statement once per row of arguments."""
        ...


def marks(count: int) -> str:
    """`?, ?, ?` for an IN list of `count` values."""
    return ",".join("?" * count)


def is_double_booking(exc: Conflict) -> bool:
    """Whether a refused write was the guard against a provider holding two windows."""
    text = str(exc)
    return "double booking" in text or "double_booking" in text


class Repository:
    """A repository over one unit of work's executor (the SQL side of a port).

    Each repository subclasses its port (bot.services.ports) as well: the port states every
    method's contract once, and the repository inherits it (mypy checks the signatures, help()
    and inspect.getdoc show the port's docstrings); the repository's own docstrings and
    comments say only how it keeps that contract.
    """

    def __init__(self, sql: Executor) -> None:
        self.sql = sql

    async def one_as(
        self, read: Callable[[Row], T], sql: str, args: Sequence[Any] = ()
    ) -> T | None:
        """The first row of a query, read by `read` (a storage.repos.rows function), or None."""
        row = await self.sql.one(sql, args)
        return None if row is None else read(row)

    async def all_as(
        self, read: Callable[[Row], T], sql: str, args: Sequence[Any] = ()
    ) -> list[T]:
        """Every row of a query, each read by `read`."""
        return [read(row) for row in await self.sql.all(sql, args)]

    async def by_id(self, read: Callable[[Row], T], table: str, row_id: int) -> T | None:
        """The row of `table` with this id, read by `read`, or None."""
        return await self.one_as(read, f"SELECT * FROM {table} WHERE id = ?", (row_id,))

    async def of_request_rows(
        self, read: Callable[[Row], T], table: str, request_id: int
    ) -> list[T]:
        """The rows of `table` about one request, oldest first, each read by `read`."""
        return await self.all_as(
            read, f"SELECT * FROM {table} WHERE request_id = ? ORDER BY id", (request_id,)
        )

    async def provider_ids(self, sql: str, args: Sequence[Any] = ()) -> set[str]:
        """The `provider_id` column of every row of a query, as a set."""
        return {row["provider_id"] for row in await self.sql.all(sql, args)}

    async def changed_one(self, sql: str, args: Sequence[Any] = ()) -> bool:
        """Run a write that does its work once (`UPDATE ... WHERE id = ? AND <not done yet>`,
        `INSERT ... ON CONFLICT DO NOTHING`): True when it changed the row, False when it found
        the work done already (by another process, or before)."""
        return await self.sql.run(sql, args) == 1
