"""Which engine a --db / CAREBOT_DATABASE value names: a SQLite path or a PostgreSQL URL."""

from __future__ import annotations

from pathlib import Path

from storage.db import Database
from storage.postgres import IDLE_IN_TRANSACTION_SECONDS, PgDatabase, is_url

AnyDatabase = Database | PgDatabase


async def open_database(
    location: str | Path,
    *,
    wait_busy_ms: int = 10_000,
    full_while: str | None = None,
    idle_seconds: float = IDLE_IN_TRANSACTION_SECONDS,
) -> AnyDatabase:
    """Open and migrate the database at `location`: `postgresql://user@host:port/dbname`
    opens PostgreSQL, anything else is a SQLite file (`wait_busy_ms`, `full_while`: SQLite;
    `idle_seconds`: PostgreSQL, see PgDatabase.open)."""
    if is_url(location):
        return await PgDatabase.open(str(location), idle_seconds=idle_seconds)
    return await Database.open(location, wait_busy_ms=wait_busy_ms, full_while=full_while)


__all__ = ["AnyDatabase", "is_url", "open_database"]
