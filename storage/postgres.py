"""The PostgreSQL database (asyncpg): a pool, a connection per unit of work, migrations.

The repositories (storage/repos/) write portable SQL with `?` placeholders through the
Executor of storage/repos/sql.py; PgExecutor runs it on one pooled connection: placeholders
become `$n` once per statement (cached), `insert` appends `RETURNING id`, days go in as ISO
text (as on SQLite) and times as aware datetimes truncated to the second (SQLite stores whole
seconds), and a constraint violation comes back as Conflict, in a savepoint, so the unit of
work goes on after it as it does on SQLite.

Why asyncpg: bench/NOTES.md ("The PostgreSQL driver") measured it against psycopg 3 on
carebot's own unit of work: 1,234 vs 898 units/s with eight connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import date, datetime
from typing import Any, cast

import asyncpg

from storage.repos.sql import Conflict, Dialect, Row
from storage.repos.timers import Writes
from storage.repos.unit import UnitOfWork
from storage.versions import NewerDatabase, migrations

log = logging.getLogger(__name__)
PROBE_AFTER = 5.0  # seconds, as storage/db.py
FAILING_FOR = 10.0  # seconds
POOL_SIZE = 10
# Units of work are serialised across every process on the database, as SQLite's
# BEGIN IMMEDIATE does: the repositories' read-then-write steps (MAX()+1 numbers, claims) rely
# on it. One transaction-scoped advisory lock; the multi-worker claims relax it.
WRITER_LOCK = 0x6361_7265  # "care"
# Writes that may break a constraint the repositories catch and go on from (a double booking,
# a telegram id taken): they run in a savepoint, because a failed statement aborts a whole
# PostgreSQL transaction where SQLite only undoes the statement.
_MAY_CONFLICT = re.compile(r"^\s*(INSERT\s+INTO|UPDATE)\s+(requests|people)\b", re.I)


def is_url(location: str | object) -> bool:
    """Whether a --db / CAREBOT_DATABASE value names a PostgreSQL server rather than a file."""
    return isinstance(location, str) and location.startswith(("postgresql://", "postgres://"))


def _placeholders(sql: str) -> str:
    """`?` to `$1, $2, ...` outside string literals."""
    out: list[str] = []
    n = 0
    quoted = False
    for ch in sql:
        if ch == "'":
            quoted = not quoted
        if ch == "?" and not quoted:
            n += 1
            out.append(f"${n}")
        else:
            out.append(ch)
    return "".join(out)


class Statement:
    """One repository statement as PostgreSQL runs it."""

    __slots__ = ("savepoint", "sql")

    def __init__(self, sql: str, *, returning_id: bool = False) -> None:
        text = sql.strip()
        if returning_id and "RETURNING" not in text.upper():
            text += " RETURNING id"
        self.savepoint = bool(_MAY_CONFLICT.match(text))
        self.sql = _placeholders(text)


_statements: dict[tuple[str, bool], Statement] = {}


def translate(sql: str, *, returning_id: bool = False) -> Statement:
    """The PostgreSQL form of a repository statement (translated once per process)."""
    key = (sql, returning_id)
    found = _statements.get(key)
    if found is None:
        found = _statements[key] = Statement(sql, returning_id=returning_id)
    return found


def _encode(args: Sequence[Any]) -> list[Any]:
    """Python values as the PostgreSQL columns take them: days as ISO text (both engines
    store days as text), times to the whole second (as SQLite stores them)."""
    out = list(args)
    for i, value in enumerate(out):
        kind = type(value)
        if kind is datetime:
            out[i] = value.replace(microsecond=0)
        elif kind is date:
            out[i] = value.isoformat()
    return out


class Unreachable(sqlite3.OperationalError):
    """No PostgreSQL server answers at the URL (or it refuses us)."""


_TRANSIENT = (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, OSError)


def _operational(exc: BaseException) -> sqlite3.OperationalError:
    """A lost connection or a server error as the class the handlers treat as transient
    (they retry, /healthz reports it) on both engines."""
    return sqlite3.OperationalError(str(exc) or type(exc).__name__)


class PgExecutor:
    """The Executor (storage/repos/sql.py) over one connection, inside one transaction."""

    dialect: Dialect = "postgresql"

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._pg = conn

    async def _call(self, method: str, stmt: Statement, args: Sequence[Any]) -> Any:
        fn = getattr(self._pg, method)
        values = _encode(args)
        try:
            if not stmt.savepoint:
                return await fn(stmt.sql, *values)
            await self._pg.execute("SAVEPOINT carebot_statement")
            try:
                result = await fn(stmt.sql, *values)
            except BaseException:
                await self._pg.execute("ROLLBACK TO SAVEPOINT carebot_statement")
                raise
            await self._pg.execute("RELEASE SAVEPOINT carebot_statement")
            return result
        except asyncpg.ExclusionViolationError as exc:
            raise Conflict(f"double booking ({exc})") from exc
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise Conflict(str(exc)) from exc
        except _TRANSIENT as exc:
            raise _operational(exc) from exc

    async def one(self, sql: str, args: Sequence[Any] = ()) -> Row | None:
        """The first row of a query, or None."""
        return cast(Row | None, await self._call("fetchrow", translate(sql), args))

    async def all(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        """Every row of a query."""
        return cast(list[Row], await self._call("fetch", translate(sql), args))

    async def heavy(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        """A long read: asyncpg never blocks the loop, so the same as all()."""
        return await self.all(sql, args)

    async def run(self, sql: str, args: Sequence[Any] = ()) -> int:
        """Execute a write; how many rows it changed."""
        status: str = await self._call("execute", translate(sql), args)
        count = status.rsplit(" ", 1)[-1]
        return int(count) if count.isdigit() else 0

    async def insert(self, sql: str, args: Sequence[Any] = ()) -> int:
        """Execute an INSERT; the new row's id (RETURNING id)."""
        row = await self._call("fetchrow", translate(sql, returning_id=True), args)
        return 0 if row is None else int(row["id"])

    async def many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """One statement over many rows."""
        batch = [_encode(r) for r in rows]
        if not batch:
            return
        try:
            await self._pg.executemany(translate(sql).sql, batch)
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise Conflict(str(exc)) from exc
        except _TRANSIENT as exc:
            raise _operational(exc) from exc


class PgDatabase:
    """A PostgreSQL database reached by URL; the same unit-of-work interface as
    storage.db.Database."""

    def __init__(self, pool: asyncpg.Pool, url: str) -> None:
        self._pool = pool
        self.path = url
        self._lock = asyncio.Lock()
        self._writes = Writes()
        self._wrote_at = time.monotonic()
        self._failed: tuple[float, str] | None = None

    @classmethod
    async def open(cls, url: str) -> PgDatabase:
        """Connect to `url` and apply the migrations it lacks; raises NewerDatabase when the
        database was migrated by a newer carebot."""
        try:
            pool = await asyncpg.create_pool(
                url,
                min_size=1,
                max_size=POOL_SIZE,
                server_settings={"timezone": "UTC"},
            )
        except (*_TRANSIENT, asyncpg.PostgresError) as exc:
            raise Unreachable(f"cannot reach {_redacted(url)}: {exc}") from exc
        db = cls(pool, url)
        try:
            await db._migrate()
        except BaseException:
            await pool.close()
            raise
        return db

    async def _migrate(self) -> None:
        """Apply the numbered PostgreSQL migrations newer than schema_version, each in its own
        transaction, one process at a time (an advisory lock)."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(f"SELECT pg_advisory_xact_lock({WRITER_LOCK + 1})")
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL, "
                "applied_at timestamptz NOT NULL DEFAULT now())"
            )
            current = await conn.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_version")
            known = migrations("postgresql")
            newest = known[-1][0] if known else 0
            if current > newest:
                raise NewerDatabase(self.path, current, newest)
            for number, sql in known:
                if number <= current:
                    continue
                log.info("applying migration %s", number)
                async with conn.transaction():
                    if sql:  # empty where only SQLite has something to do at this number
                        await conn.execute(sql)
                    await conn.execute("INSERT INTO schema_version (version) VALUES ($1)", number)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[UnitOfWork]:
        """A unit of work on one connection: commit on success, roll back on any error."""
        async with self._lock:
            try:
                conn = await self._pool.acquire()
            except (*_TRANSIENT, asyncpg.PostgresError) as exc:
                error = _operational(exc)
                self._wrote(error)
                raise error from exc
            try:
                try:
                    await conn.execute(f"BEGIN; SELECT pg_advisory_xact_lock({WRITER_LOCK})")
                except (*_TRANSIENT, asyncpg.PostgresError) as exc:
                    error = _operational(exc)
                    self._wrote(error)
                    raise error from exc
                try:
                    yield UnitOfWork(PgExecutor(conn), self._writes)
                    await conn.execute("COMMIT")
                except BaseException as exc:
                    if not conn.is_closed() and conn.is_in_transaction():
                        try:
                            await conn.execute("ROLLBACK")
                        except (*_TRANSIENT, asyncpg.PostgresError):
                            conn.terminate()
                    if isinstance(exc, (*_TRANSIENT, asyncpg.PostgresError)):
                        error = _operational(exc)
                        self._wrote(error)
                        raise error from exc
                    if isinstance(exc, sqlite3.OperationalError):
                        self._wrote(exc)
                    raise
                self._wrote(None)
            finally:
                await self._pool.release(conn)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[UnitOfWork]:
        """Reads only, outside any writer's lock (health checks, timer look-ups)."""
        try:
            async with self._pool.acquire() as conn:
                yield UnitOfWork(PgExecutor(conn), self._writes)
        except (*_TRANSIENT, asyncpg.PostgresError) as exc:
            raise _operational(exc) from exc

    def _wrote(self, error: sqlite3.Error | None) -> None:
        if error is None:
            self._wrote_at = time.monotonic()
        else:
            self._failed = (time.monotonic(), str(error))

    async def write_failure(self, at: datetime) -> str | None:
        """Why writes fail, or None when they work (as storage.db.Database.write_failure)."""
        now = time.monotonic()
        if self._failed is not None and now - self._failed[0] < FAILING_FOR:
            return self._failed[1]
        if now - self._wrote_at < PROBE_AFTER:
            return None
        try:
            async with self.transaction() as tx:
                await tx.health.touch(at)
        except sqlite3.Error as exc:
            return str(exc)
        return None

    @property
    def timer_writes(self) -> int:
        """How many times units of work have added timers (it only grows)."""
        return self._writes.timers

    async def checkpoint(self) -> None:
        """Nothing to do: PostgreSQL checkpoints on its own."""

    async def close(self) -> None:
        """Close the pool's connections."""
        await self._pool.close()


def _redacted(url: str) -> str:
    """The URL without a password, for messages."""
    return re.sub(r"(//[^:/@]+):[^@]*@", r"\1@", url)


async def fresh_schema(base_url: str) -> str:
    """A new, empty schema on the server of `base_url`; returns a URL that works in it (tests,
    replays: each gets a database of its own). btree_gist goes into public, shared by all."""
    import uuid

    name = f"carebot_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(base_url)
    try:
        # Another session may create it at the same moment.
        with contextlib.suppress(asyncpg.UniqueViolationError):
            await conn.execute("CREATE EXTENSION IF NOT EXISTS btree_gist SCHEMA public")
        await conn.execute(f"CREATE SCHEMA {name}")
    finally:
        await conn.close()
    joiner = "&" if "?" in base_url else "?"
    # Throwaway data: commits need not wait for the disk (a test or a replay, never the bot's
    # own database), which halves the PostgreSQL pass on a slow disk.
    return f"{base_url}{joiner}search_path={name},public&synchronous_commit=off"


async def drop_schema(url: str) -> None:
    """Drop the schema a fresh_schema URL points at."""
    found = re.search(r"search_path=(carebot_[0-9a-f]+)", url)
    if found is None:
        return
    base = re.sub(r"[?&](search_path|synchronous_commit)=[^&]*", "", url)
    if "?" not in base and "&" in base:
        base = base.replace("&", "?", 1)
    conn = await asyncpg.connect(base)
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {found.group(1)} CASCADE")
    finally:
        await conn.close()
