"""Shared test helpers: a Carebot on a real SQLite file with the transcripts' agency."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.agency_file import load_agency_file
from bot.app import Carebot
from bot.clock import VirtualClock
from bot.root import open_carebot
from storage.postgres import drop_schema, fresh_schema

ROOT = Path(__file__).resolve().parent.parent
TRANSCRIPTS = ROOT / "tests" / "transcripts"
AGENCY = TRANSCRIPTS / "agency.toml"
PARIS = ZoneInfo("Europe/Paris")


def paris(text: str) -> datetime:
    """'2026-11-23 10:00' in agency time."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=PARIS)


# The whole suite on PostgreSQL: CAREBOT_TEST_DATABASE=postgresql://postgres@127.0.0.1:5432/test
# gives every test using `database` (and the `bot` fixture, and every transcript) a schema of
# its own on that server. CAREBOT_REQUIRE_POSTGRES=1 (CI) turns "no server" into a failure.
TEST_DATABASE = os.environ.get("CAREBOT_TEST_DATABASE") or None
REQUIRE_POSTGRES = os.environ.get("CAREBOT_REQUIRE_POSTGRES") == "1"
POSTGRES = TEST_DATABASE or "postgresql://postgres@127.0.0.1:5432/test"
HOW = (
    "run a PostgreSQL server (trust auth) and set CAREBOT_TEST_DATABASE="
    "postgresql://postgres@127.0.0.1:5432/test to run the suite on it"
)
if TEST_DATABASE:
    os.environ["CAREBOT_REPLAY_DATABASE"] = TEST_DATABASE


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On PostgreSQL, tests that open the SQLite file with sqlite3 stay in the SQLite pass."""
    if not TEST_DATABASE:
        return
    skip = pytest.mark.skip(reason="reads or writes the SQLite file directly (SQLite pass)")
    for item in items:
        module = getattr(item, "module", None)
        if module is not None and getattr(module, "sqlite3", None) is not None:
            item.add_marker(skip)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Drop the schemas made for `carebot run` processes under test (tests/peek.py)."""
    from tests import peek

    for url in peek.LEFT:
        peek.in_thread(drop_schema(url))


_reachable: dict[str, str | None] = {}


async def postgres_or_skip(url: str) -> None:
    """Skip (fail when CAREBOT_REQUIRE_POSTGRES=1) unless a PostgreSQL server answers."""
    import asyncpg

    if url not in _reachable:
        try:
            conn = await asyncio.wait_for(asyncpg.connect(url), 5)
            await conn.close()
            _reachable[url] = None
        except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
            _reachable[url] = f"no PostgreSQL at {url} ({exc}): {HOW}"
    reason = _reachable[url]
    if reason is not None:
        if REQUIRE_POSTGRES:
            pytest.fail(reason + " (CAREBOT_REQUIRE_POSTGRES=1)")
        pytest.skip(reason)


@pytest.fixture
async def postgres() -> AsyncIterator[str]:
    """A fresh schema on the PostgreSQL server (tests about PostgreSQL itself)."""
    await postgres_or_skip(POSTGRES)
    url = await fresh_schema(POSTGRES)
    yield url
    await drop_schema(url)


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[str]:
    """Where a test keeps its data: a fresh SQLite file, or a fresh PostgreSQL schema when
    the suite runs on CAREBOT_TEST_DATABASE."""
    if TEST_DATABASE is None:
        yield str(tmp_path / "carebot.db")
        return
    await postgres_or_skip(TEST_DATABASE)
    url = await fresh_schema(TEST_DATABASE)
    yield url
    await drop_schema(url)


@pytest.fixture
def clock() -> VirtualClock:
    """The transcripts' usual Monday morning."""
    return VirtualClock(paris("2026-11-23 10:00"))


@pytest.fixture
async def bot(database: str, clock: VirtualClock) -> AsyncIterator[Carebot]:
    """A Carebot on a fresh database (see `database`) with the test agency imported."""
    carebot = await open_carebot(database, clock)
    await carebot.import_agency(load_agency_file(AGENCY))
    yield carebot
    await carebot.close()


@asynccontextmanager
async def two_carebots(
    location: str | Path, clock: VirtualClock
) -> AsyncIterator[tuple[Carebot, Carebot]]:
    """Two Carebots on one database holding the test agency, as two `carebot run` would be."""
    first = await open_carebot(location, clock)
    try:
        await first.import_agency(load_agency_file(AGENCY))
        second = await open_carebot(location, clock)
        try:
            yield first, second
        finally:
            await second.close()
    finally:
        await first.close()


def sqlite_file(db: object) -> str:
    """Where a bot's database lives: its SQLite file (or, on the PostgreSQL pass, its URL)."""
    from storage.engines import AnyDatabase

    assert isinstance(db, AnyDatabase), db
    return db.path
