"""Numbered migrations per engine, and the refusal to open a database from a newer carebot."""

from __future__ import annotations

from importlib import resources


class NewerDatabase(RuntimeError):
    """The database was migrated by a newer carebot than this one: opening it would misread it."""

    def __init__(self, location: str, found: int, known: int) -> None:
        super().__init__(
            f"{location} is at schema version {found}, newer than this carebot knows "
            f"({known}): upgrade carebot, or open a backup taken before the upgrade"
        )


def migrations(engine: str = "sqlite") -> list[tuple[int, str]]:
    """Numbered SQL files shipped in storage/migrations (SQLite) or its postgresql/ folder,
    in order; both engines use the same numbers for the same change."""
    folder = resources.files("storage") / "migrations"
    if engine == "postgresql":
        folder = folder / "postgresql"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            found.append((int(entry.name.split("_", 1)[0]), entry.read_text(encoding="utf-8")))
    numbers = [number for number, _ in found]
    if len(set(numbers)) != len(numbers):
        # Two branches that each added "the next" migration: one would never run on a
        # database that already has the other's number.
        raise RuntimeError(f"two migrations share a number: {sorted(numbers)}")
    return sorted(found)
