"""Numbered migrations per engine, and the refusal to open a database from a newer carebot.

One file per change, storage/migrations/NNN_name.sql, serves both engines: it is written for
PostgreSQL, and SQLite reads it with its few type names translated (`for_sqlite`). What only
one engine has (SQLite's double-booking triggers, PostgreSQL's exclusion constraint, a literal
written differently) goes in sqlite/NNN_name.sql or postgresql/NNN_name.sql, which run right
after the shared file of that number. Both engines thus number every change alike.
"""

from __future__ import annotations

import re
from importlib import resources
from importlib.abc import Traversable

ENGINES = ("sqlite", "postgresql")

# PostgreSQL type names -> SQLite's. INTEGER PRIMARY KEY is SQLite's rowid alias, which numbers
# rows itself like the identity; moments are sortable UTC text (storage/sqlite.py writes them);
# SQLite integers are all 64-bit. The SQLite schema comes out as the SQLite-only files of
# earlier versions wrote it. Case-insensitive so that a lower-case `timestamptz` cannot slip
# through as a NUMERIC column.
_SQLITE_TYPES = (
    (
        r"\bBIGINT\s+GENERATED\s+BY\s+DEFAULT\s+AS\s+IDENTITY\s+PRIMARY\s+KEY\b",
        "INTEGER PRIMARY KEY",
    ),
    (r"\bTIMESTAMPTZ\b", "TEXT"),
    (r"\bBIGINT\b", "INTEGER"),
    (r"\bDOUBLE\s+PRECISION\b", "REAL"),
)


class NewerDatabase(RuntimeError):
    """The database was migrated by a newer carebot than this one: opening it would misread it."""

    def __init__(self, location: str, found: int, known: int) -> None:
        super().__init__(
            f"{location} is at schema version {found}, newer than this carebot knows "
            f"({known}): upgrade carebot, or open a backup taken before the upgrade"
        )


def for_sqlite(sql: str) -> str:
    """A shared (PostgreSQL) migration as SQLite runs it: its type names translated."""
    for pattern, replacement in _SQLITE_TYPES:
        sql = re.sub(pattern, replacement, sql, flags=re.IGNORECASE)
    return sql


def migrations(engine: str = "sqlite", folder: Traversable | None = None) -> list[tuple[int, str]]:
    """The numbered migrations of `engine` in order (those shipped in storage/migrations unless
    `folder` is given): each number's shared file, translated for SQLite, then the engine's own
    file of that number, if any."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}")
    folder = folder or resources.files("storage") / "migrations"
    shared = _numbered(folder)
    own = {engine: _numbered(folder / engine) for engine in ENGINES}
    names: dict[int, str] = {}
    for files in (shared, *own.values()):
        for number, (name, _) in files.items():
            if names.setdefault(number, name) != name:
                # Two branches that each added "the next" migration: one would never run on a
                # database that already has the other's number.
                raise RuntimeError(f"two migrations numbered {number}: {names[number]}, {name}")
    found = []
    for number in sorted(names):
        common = shared.get(number, ("", ""))[1]
        if engine == "sqlite":
            common = for_sqlite(common)
        found.append((number, common + own[engine].get(number, ("", ""))[1]))
    return found


def _numbered(folder: Traversable) -> dict[int, tuple[str, str]]:
    """The NNN_name.sql files directly in `folder`: number -> (name, text)."""
    if not folder.is_dir():
        return {}
    found: dict[int, tuple[str, str]] = {}
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            number = int(entry.name.split("_", 1)[0])
            if number in found:
                raise RuntimeError(f"two migrations numbered {number}: {entry.name}")
            found[number] = (entry.name, entry.read_text(encoding="utf-8"))
    return found
