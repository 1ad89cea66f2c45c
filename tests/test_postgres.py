"""The PostgreSQL backend: statement translation, migrations and versions, the exclusion
constraint against double booking, and the command line on a URL.

Tests that need a server skip with a message saying how to run them when none answers
(tests/conftest.py `postgres`); CI sets CAREBOT_REQUIRE_POSTGRES=1 so that they fail instead.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import asyncpg
import pytest

from bot.app import Carebot
from bot.clock import VirtualClock
from bot.domain.booking import Status
from bot.domain.errors import DoubleBooking
from bot.root import open_carebot
from storage.db import Database
from storage.engines import open_database
from storage.postgres import PgDatabase, translate
from storage.versions import NewerDatabase, migrations
from tests.conftest import AGENCY, paris


def test_placeholders_become_numbered_outside_literals() -> None:
    stmt = translate("SELECT * FROM t WHERE a = ? AND b = '?' AND c IN (?, ?)")
    assert stmt.sql == "SELECT * FROM t WHERE a = $1 AND b = '?' AND c IN ($2, $3)"


def test_inserts_return_their_id_and_guarded_writes_use_a_savepoint() -> None:
    added = translate("INSERT INTO offers (request_id) VALUES (?)", returning_id=True)
    assert added.sql == "INSERT INTO offers (request_id) VALUES ($1) RETURNING id"
    assert not translate("INSERT INTO offers (request_id) VALUES (?)").sql.endswith("id")
    assert translate("INSERT INTO requests (id) VALUES (?)").savepoint
    assert translate("UPDATE people SET phone = ? WHERE id = ?").savepoint
    assert not translate("UPDATE outbox SET state = ? WHERE id = ?").savepoint


def test_both_engines_have_the_same_migration_numbers() -> None:
    sqlite = [n for n, _ in migrations("sqlite")]
    postgres = [n for n, _ in migrations("postgresql")]
    assert sqlite == postgres == list(range(1, len(sqlite) + 1))


async def test_a_sqlite_file_from_a_newer_carebot_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    db = await Database.open(path)
    await db.close()
    newest = migrations("sqlite")[-1][0]
    import sqlite3

    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {newest + 1}")
    with pytest.raises(NewerDatabase, match=f"schema version {newest + 1}"):
        await Database.open(path)


async def test_a_postgres_database_from_a_newer_carebot_is_refused(postgres: str) -> None:
    db = await PgDatabase.open(postgres)
    await db.close()
    newest = migrations("postgresql")[-1][0]
    conn = await asyncpg.connect(postgres)
    try:
        await conn.execute("INSERT INTO schema_version (version) VALUES ($1)", newest + 1)
    finally:
        await conn.close()
    with pytest.raises(NewerDatabase, match="upgrade carebot"):
        await PgDatabase.open(postgres)


async def test_migrating_twice_changes_nothing(postgres: str) -> None:
    for _ in range(2):
        db = await PgDatabase.open(postgres)
        await db.close()
    conn = await asyncpg.connect(postgres)
    try:
        versions = [r["version"] for r in await conn.fetch("SELECT version FROM schema_version")]
    finally:
        await conn.close()
    assert versions == [n for n, _ in migrations("postgresql")]


INSERT = (
    "INSERT INTO requests (member_id, member_seq, service_id, start_at, end_at, status, "
    "provider_id, price_minor, created_at, updated_at) VALUES ($1, $2, 'childcare', $3, $4, "
    "$5, 'marie', 3600, now(), now())"
)


async def test_the_exclusion_constraint_refuses_overlaps_between_concurrent_transactions(
    postgres: str,
) -> None:
    """Two connections, no lock of ours, READ COMMITTED: the second overlap cannot commit."""
    bot = await open_carebot(postgres, VirtualClock(paris("2026-11-23 10:00")))
    from bot.agency_file import load_agency_file

    await bot.import_agency(load_agency_file(AGENCY))
    await bot.close()
    first, second = await asyncpg.connect(postgres), await asyncpg.connect(postgres)
    try:
        one, two = first.transaction(), second.transaction()
        await one.start()
        await two.start()
        await first.execute(
            INSERT, "alice", 1, paris("2026-11-25 09:00"), paris("2026-11-25 11:00"), "pending"
        )
        # Blocks on the first transaction's row, then fails once it commits.
        late = asyncio.ensure_future(
            second.execute(
                INSERT, "bob", 1, paris("2026-11-25 10:59"), paris("2026-11-25 12:00"), "confirmed"
            )
        )
        await asyncio.sleep(0.2)
        assert not late.done()
        await one.commit()
        with pytest.raises(asyncpg.ExclusionViolationError):
            await late
        await two.rollback()
        # Touching windows do not overlap, and a cancelled request holds nothing.
        await first.execute(
            INSERT, "bob", 1, paris("2026-11-25 11:00"), paris("2026-11-25 12:00"), "pending"
        )
        await first.execute(
            INSERT, "chloe", 1, paris("2026-11-25 09:30"), paris("2026-11-25 10:00"), "cancelled"
        )
        with pytest.raises(asyncpg.ExclusionViolationError):
            await first.execute("UPDATE requests SET status = 'pending' WHERE member_id = 'chloe'")
    finally:
        await first.close()
        await second.close()


async def test_a_double_booking_on_postgres_is_the_same_no_longer_free_outcome(
    postgres: str,
) -> None:
    clock = VirtualClock(paris("2026-11-23 10:00"))
    bot = await open_carebot(postgres, clock)
    other = Carebot(await open_database(postgres), clock)
    try:
        from bot.agency_file import load_agency_file

        await bot.import_agency(load_agency_file(AGENCY))

        async def book(b: Carebot, member: str, start: str) -> str:
            try:
                async with b.db.transaction() as tx:
                    await tx.requests.add(
                        member_id=member,
                        service_id="childcare",
                        start=paris(start),
                        end=paris(start) + (paris("2026-11-25 12:00") - paris("2026-11-25 10:00")),
                        status=Status.PENDING,
                        provider_id="marie",
                        price=Decimal("36"),
                        fee=Decimal("0"),
                        at=clock.now(),
                    )
            except DoubleBooking:
                return "refused"
            return "booked"

        outcomes = await asyncio.gather(
            # Every pair of these two-hour windows overlaps (all hold 11:30-12:00).
            book(bot, "alice", "2026-11-25 10:00"),
            book(other, "bob", "2026-11-25 10:30"),
            book(bot, "chloe", "2026-11-25 11:00"),
            book(other, "david", "2026-11-25 11:30"),
        )
        assert sorted(outcomes) == ["booked", "refused", "refused", "refused"]
        # The unit of work that met the constraint went on and committed its other writes.
        async with bot.db.transaction() as tx:
            await tx.roster.set_language("alice", "en")
            assert (await tx.roster.person("alice")).language == "en"
    finally:
        await other.close()
        await bot.close()


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], capture_output=True, text=True, timeout=60
    )


def test_an_unreachable_server_is_one_line() -> None:
    done = _cli("import", str(AGENCY), "--db", "postgresql://postgres@127.0.0.1:1/nothing")
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1
    assert "cannot reach postgresql://postgres@127.0.0.1:1/nothing" in done.stderr


def test_backup_on_postgres_points_at_pg_dump() -> None:
    done = _cli("backup", "copy.dump", "--db", "postgresql://postgres@127.0.0.1:5432/test")
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1
    assert "pg_dump" in done.stderr


async def test_import_and_export_through_the_command_line(postgres: str, tmp_path: Path) -> None:
    done = await asyncio.to_thread(_cli, "import", str(AGENCY), "--db", postgres)
    assert done.returncode == 0, done.stderr
    assert "imported" in done.stdout
    again = await asyncio.to_thread(_cli, "import", str(AGENCY), "--db", postgres)
    assert "nothing changed" in again.stdout
    out = tmp_path / "ledger.csv"
    export = await asyncio.to_thread(
        _cli, "export", "ledger", "--from", "2026-01-01", "--to", "2030-01-01",
        "--db", postgres, "-o", str(out),
    )  # fmt: skip
    assert export.returncode == 0, export.stderr
    assert "opening" in out.read_text(encoding="utf-8")  # the file's opening balances


def test_the_demo_never_empties_a_server_database() -> None:
    done = _cli("demo", "--db", "postgresql://postgres@127.0.0.1:5432/test")
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1
    assert "--keep" in done.stderr


async def test_the_demo_plays_on_a_server_database_with_keep(
    postgres: str, tmp_path: Path
) -> None:
    """`demo --db URL --keep` opens the server (not a file named after the URL) and imports
    the sample agency there."""
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "bot", "demo", "--db", postgres, "--keep",
         "--now", "2026-11-23 10:00"],
        input="/quit\n", capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert not any(tmp_path.iterdir())  # noqa: ASYNC240 - no SQLite file named "postgresql:/..."
    bot = await open_carebot(postgres, VirtualClock(paris("2026-11-23 10:00")))
    try:
        assert await bot.has_agency()
    finally:
        await bot.close()


async def test_replay_on_a_server_through_the_command_line(postgres: str) -> None:
    """`carebot replay --db URL` replays on that server (a schema per transcript, dropped
    after it: tests/test_transcripts.py checks that part in process)."""
    base = postgres.split("?")[0]
    chat = str(AGENCY.parent / "answer-deadlines.chat")
    done = await asyncio.to_thread(_cli, "replay", "--db", base, chat)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout
    nowhere = await asyncio.to_thread(
        _cli, "replay", "--db", "postgresql://postgres@127.0.0.1:1/nothing", chat
    )
    assert nowhere.returncode == 2 and "Connect call failed" in nowhere.stdout, nowhere
    refused = await asyncio.to_thread(_cli, "replay", "--db", "some.db", chat)
    assert refused.returncode == 1 and "postgresql://" in refused.stderr
