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
import os
import re
import sqlite3
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import date, datetime
from typing import Any, cast

import asyncpg

from bot.domain.errors import Contention as _Contention
from storage.repos.sql import Conflict, Dialect, Row
from storage.repos.timers import Writes
from storage.repos.unit import UnitOfWork
from storage.versions import NewerDatabase, migrations
from storage.write_health import WriteHealth, WriteLost

log = logging.getLogger(__name__)
POOL_SIZE = 10
# Migrations run one process at a time (a transaction-scoped advisory lock). Units of work take
# no such lock: they run side by side at READ COMMITTED, kept apart by constraints (the
# exclusion constraint, unique keys), row locks (FOR UPDATE where a service reads to write,
# SKIP LOCKED claims) and per-person lane locks (storage/repos/inbox.py).
MIGRATION_LOCK = 0x6361_7266
# Every commit that added work tells the other workers (LISTEN/NOTIFY) on a channel named for
# the schema: channels are database-wide, and two bots in two schemas must not wake each other.
CHANNEL = "carebot_work"
# A transaction left idle this long is ended by the server: the bound on how long a worker that
# hangs (or whose machine vanished) holds its row locks, which are its leases on inbound rows
# and timers. No unit of work waits on anything but the database inside its transaction.
IDLE_IN_TRANSACTION_SECONDS = 60
# How often a worker whose LISTEN connection was lost tries again (polling covers the gap).
RELISTEN_SECONDS = 5.0
# Writes that may break a constraint the repositories catch and go on from (a double booking,
# a telegram id taken): they run in a savepoint, because a failed statement aborts a whole
# PostgreSQL transaction where SQLite only undoes the statement.
_MAY_CONFLICT = re.compile(r"^\s*(INSERT\s+INTO|UPDATE)\s+(requests|people)\b", re.I)


def is_url(location: str | object) -> bool:
    """Whether a --db / CAREBOT_DATABASE value names a PostgreSQL server rather than a file."""
    return isinstance(location, str) and location.startswith(("postgresql://", "postgres://"))


def application_name(pid: int | None = None) -> str:
    """How a worker's connections are named on the server (pg_stat_activity)."""
    return f"carebot-{os.getpid() if pid is None else pid}"


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


class Contention(_Contention, sqlite3.OperationalError):
    """A deadlock PostgreSQL broke, or a serialization failure: the unit of work was rolled
    back and may simply run again (the application does); transient like any lost write."""


_TRANSIENT = (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, OSError)
# The connection went (above) or the server ended our session: an administrator, a restart,
# the idle-transaction bound (57P01-57P05, 25P03). Nothing the unit of work did was at fault.
_LOST = (
    *_TRANSIENT,
    asyncpg.OperatorInterventionError,
    asyncpg.IdleInTransactionSessionTimeoutError,
)
_CONTENTION = (asyncpg.DeadlockDetectedError, asyncpg.SerializationError)


def _operational(exc: BaseException) -> sqlite3.OperationalError:
    """A lost connection or a server error as the class the handlers treat as transient
    (they retry, /healthz reports it) on both engines."""
    if isinstance(exc, _CONTENTION):
        return Contention(str(exc))
    if isinstance(exc, _LOST):
        return WriteLost(str(exc) or type(exc).__name__)
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
        except (*_TRANSIENT, *_CONTENTION) as exc:
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
        except (*_TRANSIENT, *_CONTENTION) as exc:
            raise _operational(exc) from exc


async def _keep_session(conn: asyncpg.Connection) -> None:
    """The pool's reset of a connection it takes back: nothing to undo.

    asyncpg's default sends `SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`
    at every release: one round trip per unit of work, a fifth of an inbound SMS's. Units of
    work leave no session state behind: their locks are transaction-scoped, they declare no
    cursors WITH HOLD, set nothing beyond the transaction, and LISTEN on a connection of their
    own (listen()); an open transaction is still rolled back by asyncpg before this runs."""


class PgDatabase:
    """A PostgreSQL database reached by URL; the same unit-of-work interface as
    storage.db.Database."""

    def __init__(self, pool: asyncpg.Pool, url: str) -> None:
        self._pool = pool
        self.path = url
        self._writes = Writes()
        self._health = WriteHealth((sqlite3.Error,))
        # Names this process in its NOTIFY payloads, so that it ignores its own.
        self._origin = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._listener: asyncpg.Connection | None = None
        self._listening: asyncio.Task[None] | None = None
        self._wake: Callable[[str], None] | None = None
        self._channel = CHANNEL  # named for the schema once migrated (see _migrate)

    @classmethod
    async def open(
        cls, url: str, *, idle_seconds: float = IDLE_IN_TRANSACTION_SECONDS
    ) -> PgDatabase:
        """Connect to `url` and apply the migrations it lacks; raises NewerDatabase when the
        database was migrated by a newer carebot. `idle_seconds`: how long the server lets a
        transaction sit idle (a hung worker's locks) before it ends it."""
        try:
            pool = await asyncpg.create_pool(
                url,
                min_size=1,
                max_size=POOL_SIZE,
                reset=_keep_session,
                server_settings={
                    "timezone": "UTC",
                    # Which worker holds what, in pg_stat_activity and pg_locks.
                    "application_name": application_name(),
                    "idle_in_transaction_session_timeout": str(int(idle_seconds * 1000)),
                },
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
            await conn.execute(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL, "
                "applied_at timestamptz NOT NULL DEFAULT now())"
            )
            schema = await conn.fetchval("SELECT current_schema()")
            self._channel = f"{CHANNEL}_{schema}".replace('"', "")[:63]
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
        """A unit of work on one connection at READ COMMITTED: commit on success, roll back on
        any error. A commit that added timers, outbox rows or inbound rows notifies the other
        workers in the same round trip."""
        try:
            conn = await self._pool.acquire()
        except (*_TRANSIENT, asyncpg.PostgresError) as exc:
            error = _operational(exc)
            self._health.wrote(error)
            raise error from exc
        try:
            writes = Writes()
            try:
                await conn.execute("BEGIN")
            except (*_TRANSIENT, asyncpg.PostgresError) as exc:
                error = _operational(exc)
                self._health.wrote(error)
                raise error from exc
            try:
                yield UnitOfWork(PgExecutor(conn), writes)
                kinds = writes.kinds()
                if kinds:
                    # Delivered at the commit, and only if it commits.
                    payload = f"{self._origin} {','.join(kinds)}"
                    await conn.execute(f"NOTIFY \"{self._channel}\", '{payload}'; COMMIT")
                else:
                    await conn.execute("COMMIT")
            except BaseException as exc:
                await _roll_back(conn)
                if isinstance(exc, (*_TRANSIENT, asyncpg.PostgresError)):
                    error = _operational(exc)
                    self._health.wrote(error)
                    raise error from exc
                if isinstance(exc, sqlite3.OperationalError) and not isinstance(exc, Contention):
                    self._health.wrote(exc)
                raise
            self._writes.add(writes)
            self._health.wrote(None)
        finally:
            # A connection the server ended (idle too long, restarted) is released already.
            with contextlib.suppress(asyncpg.InterfaceError):
                await self._pool.release(conn)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[UnitOfWork]:
        """Reads only, each statement on its own (health checks, timer look-ups)."""
        try:
            async with self._pool.acquire() as conn:
                yield UnitOfWork(PgExecutor(conn), Writes())
        except (*_TRANSIENT, asyncpg.PostgresError) as exc:
            raise _operational(exc) from exc

    async def write_failure(self, at: datetime) -> str | None:
        """Why writes fail, or None when they work (see storage.write_health)."""

        async def probe() -> None:
            async with self.transaction() as tx:
                await tx.health.touch(at)

        return await self._health.failure(probe)

    async def listen(self, wake: Callable[[str], None]) -> None:
        """Call `wake(kind)` ("timers", "outbox", "inbound") whenever another process commits
        work of that kind, from a connection of its own that LISTENs; when that connection is
        lost it is opened again in the background (polling covers the gap)."""
        self._wake = wake
        await self._connect_listener()
        self._listening = asyncio.get_running_loop().create_task(self._keep_listening())

    async def _connect_listener(self) -> bool:
        try:
            conn = await asyncpg.connect(self.path)
            await conn.add_listener(self._channel, self._notified)
        except (*_TRANSIENT, asyncpg.PostgresError) as exc:
            log.warning("cannot LISTEN for other workers' work (polling meanwhile): %s", exc)
            return False
        self._listener = conn
        return True

    async def _keep_listening(self) -> None:
        while True:
            await asyncio.sleep(RELISTEN_SECONDS)
            deaf = self._listener is None or self._listener.is_closed()
            if deaf and await self._connect_listener() and self._wake is not None:
                # What was notified while we were deaf: look once at everything.
                for kind in ("timers", "outbox", "inbound"):
                    self._wake(kind)

    def _notified(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        origin, _, kinds = payload.partition(" ")
        if origin == self._origin or self._wake is None:
            return
        for kind in kinds.split(","):
            self._wake(kind)

    @property
    def timer_writes(self) -> int:
        """How many times units of work have added timers (it only grows)."""
        return self._writes.timers

    async def checkpoint(self) -> None:
        """Nothing to do: PostgreSQL checkpoints on its own."""

    async def close(self) -> None:
        """Close the pool's connections (and the LISTEN one)."""
        if self._listening is not None:
            self._listening.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listening
        if self._listener is not None and not self._listener.is_closed():
            await self._listener.close()
        await self._pool.close()


async def _roll_back(conn: asyncpg.Connection) -> None:
    """Roll back what a failed unit of work left open; a connection in doubt is dropped."""
    try:
        if not conn.is_closed() and conn.is_in_transaction():
            await conn.execute("ROLLBACK")
    except (*_TRANSIENT, asyncpg.PostgresError):
        with contextlib.suppress(asyncpg.InterfaceError):
            conn.terminate()


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


async def analyze(url: str) -> None:
    """Gather the planner's statistics for the tables of `url`'s schema now (after a bulk load),
    as autovacuum would shortly."""
    conn = await asyncpg.connect(url)
    try:
        # A bare ANALYZE would go through every schema of the database, other tests' included.
        tables = await conn.fetch(
            "SELECT quote_ident(tablename) AS t FROM pg_tables WHERE schemaname = current_schema()"
        )
        if tables:
            await conn.execute("ANALYZE " + ", ".join(r["t"] for r in tables))
    finally:
        await conn.close()


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
