"""Database round trips per inbound SMS: statements and units of work, counted, not timed.

Each unit of work costs a BEGIN and a COMMIT besides its statements; on SQLite these are
function calls, on a database server each is a network round trip, so this count is what
limits a worker on PostgreSQL. The path of one "help" from a member: the webhook stores it
(one unit), the inbound worker processes it (one unit: claim, look up the person and the
conversation, queue the answer), the sender leases the answer and records it sent (two).

On SQLite the round trips are what the same statements would cost on a server (statements +
2 x units); on PostgreSQL they are counted at the driver: every call that reaches the server
through asyncpg (statements, BEGIN, COMMIT, savepoints, locks, the pool's reset of a
connection it takes back), after a warm-up that fills each connection's statement cache (a
statement is prepared once per connection, then only bound and run).

    python -m bench.bench_round_trips [--messages 200] [--db sqlite] [--db postgresql://...]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import engines  # noqa: E402
from bot.agency_file import load_agency_file  # noqa: E402
from bot.app import Carebot  # noqa: E402
from bot.clock import SystemClock  # noqa: E402
from bot.flows.router import Text  # noqa: E402
from bot.root import open_carebot  # noqa: E402
from storage import db as db_module  # noqa: E402
from storage import postgres  # noqa: E402
from storage.sqlite import SqliteExecutor  # noqa: E402

AGENCY = ROOT / "tests" / "transcripts" / "agency.toml"
MEMBER = "+447700900123"  # Bob, an SMS member
PHASES = ("store", "process", "send")
WARM_UP = 20  # messages before counting: every pooled connection has prepared its statements
COUNTS: Counter[str] = Counter()


def _counting(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
    async def counted(self: object, *args: Any, **kwargs: Any) -> Any:
        COUNTS[name] += 1
        return await method(self, *args, **kwargs)

    return counted


def _execute(method: Callable[..., Any]) -> Callable[..., Any]:
    """asyncpg's execute without arguments is one simple query (here: BEGIN, COMMIT, a
    savepoint, the pool's reset); with arguments it goes through _execute, counted there."""

    async def counted(self: asyncpg.Connection, query: str, *args: Any, **kwargs: Any) -> Any:
        if not args:
            COUNTS["trip"] += 1
            COUNTS["control"] += 1
        return await method(self, query, *args, **kwargs)

    return counted


def instrument() -> None:
    """Count every statement the repositories run, every unit of work, and on PostgreSQL
    every call that reaches the server."""
    for cls in (SqliteExecutor, postgres.PgExecutor):
        for name in ("one", "all", "heavy", "run", "insert", "many"):
            setattr(cls, name, _counting("statement", getattr(cls, name)))
    for database in (db_module.Database, postgres.PgDatabase):
        transaction = database.transaction

        def counted_transaction(self: Any, _begin: Any = transaction) -> Any:
            COUNTS["units"] += 1
            return _begin(self)

        database.transaction = counted_transaction  # type: ignore[method-assign]
    connection = asyncpg.connection.Connection
    connection.execute = _execute(connection.execute)  # type: ignore[method-assign]
    for name in ("_execute", "_executemany"):
        setattr(connection, name, _counting("trip", getattr(connection, name)))


async def _one(bot: Carebot, n: int, phase: str) -> None:
    """One phase of the n-th message's path."""
    if phase == "store":
        await bot.accept("sms", MEMBER, Text("help"), f"SM{n:032d}")
    elif phase == "process":
        await bot.process_pending()
    else:
        now = bot.clock.now()
        async with bot.db.transaction() as tx:
            rows = await tx.outbox.claim(
                "sms", now, 100, owner="bench:1:x", until=now + timedelta(seconds=60)
            )
        async with bot.db.transaction() as tx:
            for row in rows:
                await tx.outbox.mark_sent(row.id, f"SM-out-{row.id}", now)


async def count(location: str, messages: int) -> dict[str, Counter[str]]:
    """Process `messages` help requests on a fresh database; the counts per phase."""
    phases = {phase: Counter[str]() for phase in PHASES}
    with tempfile.TemporaryDirectory() as folder:
        async with engines.scratch_async(location, Path(folder)) as db:
            bot = await open_carebot(db, SystemClock())
            try:
                await bot.import_agency(load_agency_file(AGENCY))
                for n in range(WARM_UP + messages):
                    for phase in PHASES:
                        COUNTS.clear()
                        await _one(bot, n, phase)
                        if n >= WARM_UP:
                            phases[phase] += COUNTS
            finally:
                await bot.close()
    return phases


async def main(locations: list[str], messages: int) -> None:
    """Count on each engine and print one table per engine."""
    instrument()
    for location in locations:
        phases = await count(location, messages)
        name = engines.engine(location)
        server = "counted at the driver" if engines.is_url(location) else "if it were a server"
        print(f"\n{name}: {messages} inbound SMS ('help' from a member), per message:\n")
        print(
            f"| phase | units of work | statements | round trips ({server}) "
            "| of which without a statement (BEGIN, COMMIT, reset) |"
        )
        print("| --- | --- | --- | --- | --- |")
        total: Counter[str] = Counter()
        for phase, counts in phases.items():
            total += counts
            _line(phase, counts, messages)
        _line("total", total, messages)


def _line(phase: str, counts: Counter[str], messages: int) -> None:
    units = counts["units"] / messages
    statements = counts["statement"] / messages
    trips = counts["trip"] / messages if counts["trip"] else statements + 2 * units
    control = counts["control"] / messages if counts["trip"] else 2 * units
    print(f"| {phase} | {units:.1f} | {statements:.1f} | {trips:.1f} | {control:.1f} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--db", action="append", help="'sqlite' or a postgresql:// URL")
    args = parser.parse_args()
    engines.stop_cleanly()
    asyncio.run(main(args.db or [engines.SQLITE], args.messages))
