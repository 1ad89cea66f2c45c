"""The SQLite database: connection settings, migrations and the unit of work.

Statements run on the event loop's own thread. A statement on a local SQLite file takes tens
of microseconds, while a hop to aiosqlite's thread costs a turn of a busy event loop (a
millisecond or more under load), and a unit of work is 10-20 statements: with one hop each,
the units of work queued behind one another and capped the bot at ~250 messages/s (see
bench/RESULTS.md). What may wait long goes through aiosqlite's thread instead, so the loop
never stalls: BEGIN IMMEDIATE when another process holds the write lock, the heavy reads
(repositories mark them), migrations, and WAL checkpoints, which a second connection runs in the
background rather than letting a commit fsync on the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

import aiosqlite

from storage.repos.timers import Writes
from storage.repos.unit import UnitOfWork
from storage.sqlite import SqliteExecutor
from storage.versions import NewerDatabase, migrations
from storage.write_health import WriteHealth, WriteLost

log = logging.getLogger(__name__)
# How long the loop may block on a lock held by another process before waiting in a thread.
INLINE_BUSY_MS = 20
WAIT_BUSY_MS = 10_000
CHECKPOINT_EVERY = 200  # commits


def _migrations() -> list[tuple[int, str]]:
    """Numbered SQL files shipped in storage/migrations, in order."""
    return migrations("sqlite")


class Database:
    """One SQLite file; writes are serialised in-process by a lock and across processes by
    BEGIN IMMEDIATE, so a unit of work never interleaves with another."""

    def __init__(
        self,
        conn: aiosqlite.Connection,
        raw: sqlite3.Connection,
        path: str,
        wait_busy_ms: int = WAIT_BUSY_MS,
        full_while: str | None = None,
    ) -> None:
        self._conn = conn
        self._raw = raw
        self._lock = asyncio.Lock()
        self.path = path
        self.wait_busy_ms = wait_busy_ms
        # Tests only, where no small disk can be mounted: every COMMIT fails as SQLite's
        # SQLITE_FULL does while this file exists.
        self._full_while = Path(full_while) if full_while else None
        self._health = WriteHealth((sqlite3.Error,))
        self._commits = 0
        self._writes = Writes()
        self._checkpoint: asyncio.Task[None] | None = None
        self._checkpointer: aiosqlite.Connection | None = None
        self._unit = UnitOfWork(SqliteExecutor(conn, raw), self._writes)

    @classmethod
    async def open(
        cls, path: str | Path, *, wait_busy_ms: int = WAIT_BUSY_MS, full_while: str | None = None
    ) -> Database:
        """Open (creating if needed) and migrate the database at `path`; a write waits at most
        `wait_busy_ms` for another process's lock; `full_while` (tests): a file whose
        presence makes every commit fail as on a full disk."""
        opened: list[sqlite3.Connection] = []

        def connect() -> sqlite3.Connection:
            # Shared by aiosqlite's thread and the loop's; the lock keeps them from overlapping.
            raw = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
            raw.row_factory = sqlite3.Row
            opened.append(raw)
            return raw

        conn = await aiosqlite.Connection(connect, iter_chunk_size=64)
        try:
            await conn.execute("PRAGMA journal_mode=WAL")
            await conn.execute("PRAGMA foreign_keys=ON")
            await conn.execute(f"PRAGMA busy_timeout={INLINE_BUSY_MS:d}")
            await conn.execute("PRAGMA synchronous=NORMAL")
            # Checkpoints run in the background (see _after_commit), never inside a commit.
            await conn.execute("PRAGMA wal_autocheckpoint=0")
            db = cls(conn, opened[0], str(path), wait_busy_ms, full_while)
            await db._migrate()
            # Cheap, and keeps the planner's statistics fresh on long-lived databases.
            await conn.execute("PRAGMA optimize")
        except BaseException:
            # A file from a newer carebot, a failed migration: nobody gets a Database to
            # close, so the connection (and aiosqlite's thread) ends here.
            await conn.close()
            raise
        return db

    async def _migrate(self) -> None:
        """Apply the migrations newer than the file's user_version, each in its own transaction."""
        async with self._conn.execute("PRAGMA user_version") as cursor:
            row = await cursor.fetchone()
        current = int(row[0]) if row else 0
        known = _migrations()
        if known and current > known[-1][0]:
            raise NewerDatabase(self.path, current, known[-1][0])
        for number, sql in known:
            if number <= current:
                continue
            log.info("applying migration %s", number)
            await self._begin()
            try:
                for statement in _split_sql(sql):
                    await self._conn.execute(statement)
                await self._conn.execute(f"PRAGMA user_version = {number:d}")
                await self._conn.execute("COMMIT")
            except BaseException:
                await self._conn.execute("ROLLBACK")
                raise

    async def _begin(self) -> None:
        """BEGIN IMMEDIATE on the loop; if another process holds the lock, wait in the thread."""
        try:
            self._raw.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
        await self._conn.execute(f"PRAGMA busy_timeout={self.wait_busy_ms:d}")
        try:
            await self._conn.execute("BEGIN IMMEDIATE")
        finally:
            await self._conn.execute(f"PRAGMA busy_timeout={INLINE_BUSY_MS:d}")

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[UnitOfWork]:
        """A unit of work: BEGIN IMMEDIATE, commit on success, roll back on any error."""
        async with self._lock:
            try:
                await self._begin()
            except sqlite3.OperationalError as exc:  # locked past the busy timeout, I/O
                self._health.wrote(exc)
                raise WriteLost(str(exc)) from exc
            try:
                yield self._unit
                try:
                    if self._full_while is not None and _exists(self._full_while):
                        raise sqlite3.OperationalError("database or disk is full")
                    self._raw.execute("COMMIT")
                except sqlite3.OperationalError as exc:  # the work was whole; the disk refused
                    raise WriteLost(str(exc)) from exc
            except BaseException as exc:
                # A failed COMMIT (disk full) may leave the transaction open: without this
                # ROLLBACK every later BEGIN would fail until a restart.
                if self._raw.in_transaction:
                    self._raw.execute("ROLLBACK")
                if isinstance(exc, sqlite3.OperationalError):
                    self._health.wrote(exc)
                raise
            self._health.wrote(None)
            self._after_commit()

    async def write_failure(self, at: datetime) -> str | None:
        """Why writes fail, or None when they work (see storage.write_health)."""

        async def probe() -> None:
            async with self.transaction() as tx:
                await tx.health.touch(at)

        return await self._health.failure(probe)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[UnitOfWork]:
        """Reads only, without taking SQLite's write lock (health checks, timer look-ups)."""
        async with self._lock:
            yield self._unit

    async def listen(self, wake: Callable[[str], None]) -> None:
        """Nothing: SQLite tells no other process of new work; its workers poll."""

    @property
    def timer_writes(self) -> int:
        """How many times units of work have added timers (it only grows)."""
        return self._writes.timers

    def _after_commit(self) -> None:
        """Every CHECKPOINT_EVERY commits, copy the WAL back into the file in the background."""
        self._commits += 1
        if self._commits % CHECKPOINT_EVERY or (self._checkpoint and not self._checkpoint.done()):
            return
        self._checkpoint = asyncio.get_running_loop().create_task(self.checkpoint())

    async def checkpoint(self) -> None:
        """A PASSIVE checkpoint on a connection of its own: it never blocks a writer."""
        try:
            if self._checkpointer is None:  # opened once: a checkpoint may run every second
                self._checkpointer = await aiosqlite.connect(self.path)
            await self._checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error:
            log.warning("WAL checkpoint failed; the next one will catch up", exc_info=True)

    async def close(self) -> None:
        """Close the connection (after any checkpoint under way)."""
        if self._checkpoint is not None:
            with contextlib.suppress(Exception):
                await self._checkpoint
        if self._checkpointer is not None:
            await self._checkpointer.close()
        await self._conn.close()


def _exists(path: Path) -> bool:
    """A stat of a local file (tests' fault switch): microseconds, fine on the loop."""
    return path.exists()


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements, keeping trigger bodies (BEGIN ... END;) whole."""
    statements: list[str] = []
    current: list[str] = []
    in_trigger = False
    for line in script.splitlines():
        stripped = line.strip()
        if stripped.startswith("--") or not stripped:
            continue
        current.append(line)
        upper = stripped.upper()
        if upper.startswith("CREATE TRIGGER"):
            in_trigger = True
        if (in_trigger and upper == "END;") or (not in_trigger and stripped.endswith(";")):
            statements.append("\n".join(current))
            current = []
            in_trigger = False
    if current:
        statements.append("\n".join(current))
    return statements
