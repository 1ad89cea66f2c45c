"""The PostgreSQL database (asyncpg): a pool, a connection per unit of work, migrations.

The repositories are written once, in SQLite's dialect with `?` placeholders; this module runs
them on PostgreSQL. Each statement is translated once and cached (placeholders to `$n`, the
few SQLite-only forms to their PostgreSQL equivalents, `RETURNING id` where the repositories
read the new row's id), and timestamptz travels as the same sortable UTC text the SQLite
codec uses (a text codec on the connection), so the repositories see one kind of value on
both engines. Errors come back as the sqlite3 classes the repositories and handlers already
handle (a double booking, a unique key, a lost connection), raised from asyncpg's.

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
from datetime import datetime
from typing import Any, cast

import asyncpg

from storage.codec import ts
from storage.repos import Tx, Writes
from storage.versions import NewerDatabase, migrations

log = logging.getLogger(__name__)
PROBE_AFTER = 5.0  # seconds, as storage/db.py
FAILING_FOR = 10.0  # seconds
POOL_SIZE = 10
# Units of work are serialised across every process on the database, as SQLite's
# BEGIN IMMEDIATE does: the repositories' read-then-write steps (MAX()+1 numbers, claims) rely
# on it. One transaction-scoped advisory lock; the multi-worker claims relax it.
WRITER_LOCK = 0x6361_7265  # "care"
# Tables whose rows get an identity id the repositories read back after an INSERT.
_IDENTITY = frozenset(
    {
        "requests",
        "offers",
        "escalations",
        "ledger",
        "timers",
        "outbox",
        "change_requests",
        "series",
    }
)
# The key an `INSERT OR REPLACE` replaces on (the only tables the repositories use it on).
_REPLACE_KEY = {"telegram_messages": "outbox_id", "health_probe": "id"}
_INSERT_INTO = re.compile(r"^\s*INSERT\s+(?:OR\s+\w+\s+)?INTO\s+(\w+)\s*\(([^)]*)\)", re.I)
_JULIAN_SPAN = re.compile(r"\(julianday\((\w+)\)\s*-\s*julianday\((\w+)\)\)\s*\*\s*1440")
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

    __slots__ = ("returns_id", "savepoint", "sql")

    def __init__(self, sql: str) -> None:
        text = sql.strip()
        self.returns_id = False
        insert = _INSERT_INTO.match(text)
        upper = text.upper()
        if upper.startswith("INSERT OR IGNORE"):
            text = re.sub(r"(?i)INSERT\s+OR\s+IGNORE", "INSERT", text, count=1)
            text += " ON CONFLICT DO NOTHING"
        elif upper.startswith("INSERT OR REPLACE") and insert:
            table, columns = insert.group(1), [c.strip() for c in insert.group(2).split(",")]
            key = _REPLACE_KEY[table]
            sets = ", ".join(f"{c} = excluded.{c}" for c in columns if c != key)
            text = re.sub(r"(?i)INSERT\s+OR\s+REPLACE", "INSERT", text, count=1)
            text += f" ON CONFLICT ({key}) DO UPDATE SET {sets}"
        if insert and insert.group(1) in _IDENTITY and "RETURNING" not in upper:
            text += " RETURNING id"
            self.returns_id = True
        text = _JULIAN_SPAN.sub(r"EXTRACT(EPOCH FROM (\1 - \2)) / 60", text)
        # SQLite's expired lease is ''; a timestamptz cannot be empty.
        text = text.replace("lease_until = ''", "lease_until = '-infinity'")
        # A bare `? IS NULL` gives PostgreSQL no type to infer (the repositories pass text).
        text = re.sub(r"\?\s+IS\s+NULL", "?::text IS NULL", text)
        self.savepoint = bool(_MAY_CONFLICT.match(text))
        self.sql = _placeholders(text)


_statements: dict[str, Statement] = {}


def translate(sql: str) -> Statement:
    """The PostgreSQL form of a repository statement (translated once per process)."""
    found = _statements.get(sql)
    if found is None:
        found = _statements[sql] = Statement(sql)
    return found


def _encode_ts(value: object) -> str:
    """A repository's time (sortable UTC text, or a datetime) as timestamptz input text."""
    if isinstance(value, datetime):
        return ts(value) + "+00"
    if value == "":
        return "-infinity"
    return f"{value}+00"


def _decode_ts(text: str) -> str:
    """timestamptz output (the session is in UTC) as the SQLite codec's sortable text."""
    if text == "-infinity":
        return ""
    return text[:-3] if text.endswith("+00") else text


async def _init(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec(
        "timestamptz", encoder=_encode_ts, decoder=_decode_ts, schema="pg_catalog", format="text"
    )


def _coerced(args: Sequence[Any], types: Sequence[Any]) -> list[Any]:
    """Arguments as the prepared statement's parameter types want them (asyncpg is strict:
    SQLite takes '1200' for an integer column, asyncpg does not)."""
    out = list(args)
    for i, (value, kind) in enumerate(zip(out, types, strict=False)):
        name = getattr(kind, "name", "")
        if isinstance(value, str | bool) and name in ("int2", "int4", "int8"):
            out[i] = int(value)
        elif isinstance(value, int) and not isinstance(value, bool) and name == "text":
            out[i] = str(value)
    return out


def _as_sqlite_error(exc: BaseException) -> sqlite3.Error:
    """asyncpg's error as the sqlite3 class the repositories and handlers already handle."""
    if isinstance(exc, asyncpg.ExclusionViolationError):
        return sqlite3.IntegrityError(f"double booking ({exc})")
    if isinstance(exc, asyncpg.IntegrityConstraintViolationError):
        return sqlite3.IntegrityError(str(exc))
    return sqlite3.OperationalError(str(exc) or type(exc).__name__)


class Unreachable(sqlite3.OperationalError):
    """No PostgreSQL server answers at the URL (or it refuses us)."""


_TRANSIENT = (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, OSError)


class PgTx(Tx):
    """The repositories of one unit of work, on one pooled connection."""

    def __init__(self, conn: asyncpg.Connection, writes: Writes) -> None:
        super().__init__(cast(Any, None), cast(Any, None), writes)
        self._pg = conn

    async def _call(self, method: str, stmt: Statement, args: Sequence[Any]) -> Any:
        fn = getattr(self._pg, method)
        try:
            try:
                return await self._guarded(fn, stmt, args)
            except asyncpg.DataError:
                # A value of another Python type than the column's (found before sending).
                prepared = await self._pg.prepare(stmt.sql)
                fixed = _coerced(args, prepared.get_parameters())
                return await self._guarded(fn, stmt, fixed)
        except (asyncpg.IntegrityConstraintViolationError, *_TRANSIENT) as exc:
            raise _as_sqlite_error(exc) from exc

    async def _guarded(self, fn: Any, stmt: Statement, args: Sequence[Any]) -> Any:
        """Run a statement; one that may break a constraint inside a savepoint, so that the
        unit of work goes on after it fails, as it does on SQLite."""
        if not stmt.savepoint:
            return await fn(stmt.sql, *args)
        await self._pg.execute("SAVEPOINT carebot_statement")
        try:
            result = await fn(stmt.sql, *args)
        except BaseException:
            await self._pg.execute("ROLLBACK TO SAVEPOINT carebot_statement")
            raise
        await self._pg.execute("RELEASE SAVEPOINT carebot_statement")
        return result

    async def _one(self, sql: str, args: Sequence[Any] = ()) -> Any:
        return await self._call("fetchrow", translate(sql), args)

    async def _all(self, sql: str, args: Sequence[Any] = ()) -> Any:
        return await self._call("fetch", translate(sql), args)

    async def _heavy(self, sql: str, args: Sequence[Any] = ()) -> Any:
        return await self._call("fetch", translate(sql), args)

    async def _many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        batch = list(rows)
        if batch:
            stmt = translate(sql)
            try:
                await self._pg.executemany(stmt.sql, batch)
            except (asyncpg.IntegrityConstraintViolationError, *_TRANSIENT) as exc:
                raise _as_sqlite_error(exc) from exc

    async def _run(self, sql: str, args: Sequence[Any] = ()) -> tuple[int, int]:
        stmt = translate(sql)
        if stmt.returns_id:
            row = await self._call("fetchrow", stmt, args)
            return (0, 0) if row is None else (1, int(row["id"]))
        status: str = await self._call("execute", stmt, args)
        count = status.rsplit(" ", 1)[-1]
        return (int(count) if count.isdigit() else 0), 0


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
                init=_init,
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
                    await conn.execute(sql)
                    await conn.execute("INSERT INTO schema_version (version) VALUES ($1)", number)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        """A unit of work on one connection: commit on success, roll back on any error."""
        async with self._lock:
            try:
                conn = await self._pool.acquire()
            except (*_TRANSIENT, asyncpg.PostgresError) as exc:
                error = _as_sqlite_error(exc)
                self._wrote(error)
                raise error from exc
            try:
                try:
                    await conn.execute(f"BEGIN; SELECT pg_advisory_xact_lock({WRITER_LOCK})")
                except (*_TRANSIENT, asyncpg.PostgresError) as exc:
                    error = _as_sqlite_error(exc)
                    self._wrote(error)
                    raise error from exc
                try:
                    yield PgTx(conn, self._writes)
                    await conn.execute("COMMIT")
                except BaseException as exc:
                    if not conn.is_closed() and conn.is_in_transaction():
                        try:
                            await conn.execute("ROLLBACK")
                        except (*_TRANSIENT, asyncpg.PostgresError):
                            conn.terminate()
                    if isinstance(exc, (*_TRANSIENT, asyncpg.PostgresError)):
                        error = _as_sqlite_error(exc)
                        self._wrote(error)
                        raise error from exc
                    if isinstance(exc, sqlite3.OperationalError):
                        self._wrote(exc)
                    raise
                self._wrote(None)
            finally:
                await self._pool.release(conn)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Tx]:
        """Reads only, outside any writer's lock (health checks, timer look-ups)."""
        try:
            async with self._pool.acquire() as conn:
                yield PgTx(conn, self._writes)
        except (*_TRANSIENT, asyncpg.PostgresError) as exc:
            raise _as_sqlite_error(exc) from exc

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
                await tx.touch_health(at)
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
    return f"{base_url}{joiner}search_path={name},public"


async def drop_schema(url: str) -> None:
    """Drop the schema a fresh_schema URL points at."""
    found = re.search(r"search_path=(carebot_[0-9a-f]+)", url)
    if found is None:
        return
    base = re.sub(r"[?&]search_path=[^&]*", "", url)
    conn = await asyncpg.connect(base)
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {found.group(1)} CASCADE")
    finally:
        await conn.close()
