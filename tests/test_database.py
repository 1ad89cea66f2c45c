"""The unit of work on the loop's thread: another process's lock, checkpoints, rollbacks."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from storage import db as storage_db
from storage.db import Database


async def test_a_lock_held_elsewhere_is_waited_for_without_stalling_the_loop(
    tmp_path: Path,
) -> None:
    db = await Database.open(tmp_path / "c.db")
    other = sqlite3.connect(tmp_path / "c.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process writing, for longer than the inline wait
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    async def release_later() -> None:
        await asyncio.sleep(0.5)
        other.execute("COMMIT")

    tick = asyncio.create_task(ticker())
    release = asyncio.create_task(release_later())
    started = time.monotonic()
    try:
        async with db.transaction() as tx:
            assert await tx.outbox.last_id() == 0
        waited = time.monotonic() - started
        # The transaction began only once the other writer let go, and meanwhile the loop kept
        # turning (a blocked loop would not have ticked, nor run release_later at all).
        assert waited >= 0.45
        assert ticks >= 20
    finally:
        tick.cancel()
        await release
        other.close()
        await db.close()


async def test_an_error_rolls_the_whole_unit_back(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "c.db")
    try:
        with pytest.raises(RuntimeError):
            async with db.transaction() as tx:
                await tx.once.first("test", "key-1", _now())
                raise RuntimeError("a flow failed half way")
        async with db.transaction() as tx:
            assert await tx.once.first("test", "key-1", _now())  # not kept by the failure
    finally:
        await db.close()


@pytest.mark.parametrize(("every", "copied_at_least"), [(50, 350), (10_000, 0)])
async def test_the_wal_is_checkpointed_in_the_background_not_by_commits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, every: int, copied_at_least: int
) -> None:
    monkeypatch.setattr(storage_db, "CHECKPOINT_EVERY", every)
    path = tmp_path / "c.db"
    db = await Database.open(path)
    try:
        for i in range(400):  # beyond the 1,000 WAL pages of SQLite's own autocheckpoint
            async with db.transaction() as tx:
                await tx.once.first("test", f"key-{i}", _now())
        # What the main file holds without the WAL: only checkpoints copy rows there.
        copied = _rows_in_main_file(path)
        for _ in range(50 if copied_at_least else 0):  # the last checkpoint may be under way
            if copied >= copied_at_least:
                break
            await asyncio.sleep(0.05)
            copied = _rows_in_main_file(path)
        if copied_at_least:
            assert copied >= copied_at_least
        else:
            assert copied == 0  # no commit checkpointed on the loop by itself
    finally:
        await db.close()


def _rows_in_main_file(path: Path) -> int:
    check = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
    try:
        return int(check.execute("SELECT count(*) FROM once_keys").fetchone()[0])
    except sqlite3.OperationalError:  # not even the schema has been copied yet
        return 0
    finally:
        check.close()


def _now() -> datetime:
    return datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def test_every_migration_has_its_own_number() -> None:
    from storage.db import _migrations

    numbers = [number for number, _ in _migrations()]
    assert numbers == list(range(1, len(numbers) + 1))


async def test_once_only_keys_move_out_of_the_inbound_queue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "c.db"
    # A database as migration 014 left it (later migrations not applied): once-only keys
    # were payload-less inbound rows.
    import storage.db

    known = storage.db._migrations()
    with monkeypatch.context() as patched:
        patched.setattr(storage.db, "_migrations", lambda: [m for m in known if m[0] <= 14])
        await (await Database.open(path)).close()
    raw = sqlite3.connect(path, isolation_level=None)
    raw.executescript(
        "INSERT INTO inbound (channel, external_id, received_at) "
        "VALUES ('telegram', '42', '2026-11-23 09:00:00');"
        "INSERT INTO inbound (channel, external_id, received_at, address, payload, seq) "
        "VALUES ('sms', 'SM1', '2026-11-23 09:01:00', '+33600000000', '{}', 1);"
        "PRAGMA user_version = 14;"
    )
    raw.close()
    db = await Database.open(path)
    try:
        async with db.transaction() as tx:
            assert not await tx.once.first("telegram", "42", _now())  # seen before the move
            assert await tx.once.first("telegram", "43", _now())
            assert await tx.inbox.unprocessed(10) == [("sms", "SM1", "+33600000000", "{}")]
        check = sqlite3.connect(path)
        assert check.execute("SELECT channel, external_id FROM inbound").fetchall() == [
            ("sms", "SM1")
        ]
        check.close()
    finally:
        await db.close()


@pytest.mark.parametrize("refusal", ["a newer file", "a failing migration"])
async def test_an_open_that_fails_closes_its_connection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, refusal: str
) -> None:
    """A refused open (a file from a newer carebot, a migration that fails) leaves no
    connection open behind it: `carebot` retried in-process, or a test, would leak one each."""
    path = tmp_path / "c.db"
    known = storage_db._migrations()
    if refusal == "a newer file":
        with sqlite3.connect(path) as raw:
            raw.execute(f"PRAGMA user_version = {known[-1][0] + 1:d}")
        raw.close()
    else:
        broken = (known[-1][0] + 1, "CREATE TABLE nowhere (x);\nSELECT * FROM missing;")
        monkeypatch.setattr(storage_db, "_migrations", lambda: [*known, broken])
    opened: list[sqlite3.Connection] = []
    connect = sqlite3.connect

    def recording(database: str, **kwargs: bool | None) -> sqlite3.Connection:
        conn = connect(database, **kwargs)  # type: ignore[arg-type]
        opened.append(conn)
        return conn

    monkeypatch.setattr(sqlite3, "connect", recording)  # as storage.db calls it
    with pytest.raises(Exception, match=r"newer|missing"):
        await Database.open(path)
    assert opened
    for conn in opened:
        with pytest.raises(sqlite3.ProgrammingError, match="closed"):
            conn.execute("SELECT 1")
