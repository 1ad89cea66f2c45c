"""Database round trips per inbound SMS: statements and units of work, counted, not timed.

Each unit of work costs a BEGIN and a COMMIT besides its statements; on SQLite these are
function calls, on a database server each is a network round trip, so this count is what
limits a worker on PostgreSQL. The path of one "help" from a member: the webhook stores it
(one unit), the inbound worker processes it (one unit: claim, look up the person and the
conversation, queue the answer), the sender leases the answer and records it sent (two).

    python -m bench.bench_round_trips [--messages 200]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.agency_file import load_agency_file
from bot.clock import SystemClock
from bot.flows.router import Text
from bot.root import open_carebot
from storage import db as db_module
from storage.sqlite import SqliteExecutor

ROOT = Path(__file__).resolve().parent.parent
AGENCY = ROOT / "tests" / "transcripts" / "agency.toml"
MEMBER = "+447700900123"  # Bob, an SMS member
COUNTS: Counter[str] = Counter()


def _counting(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
    async def counted(self: SqliteExecutor, *args: Any) -> Any:
        COUNTS[name] += 1
        return await method(self, *args)

    return counted


def instrument() -> None:
    """Count every statement the repositories run, and every unit of work."""
    for name in ("one", "all", "heavy", "run", "insert", "many"):
        setattr(SqliteExecutor, name, _counting(name, getattr(SqliteExecutor, name)))
    transaction = db_module.Database.transaction

    def counted_transaction(self: db_module.Database) -> Any:
        COUNTS["units"] += 1
        return transaction(self)

    db_module.Database.transaction = counted_transaction  # type: ignore[method-assign]


async def main(messages: int) -> None:
    """Process `messages` help requests and print the counts per message."""
    with tempfile.TemporaryDirectory() as folder:
        bot = await open_carebot(Path(folder) / "carebot.db", SystemClock())
        await bot.import_agency(load_agency_file(AGENCY))
        instrument()
        phases: dict[str, Counter[str]] = {}
        for phase in ("store", "process", "send"):
            phases[phase] = Counter()
        for n in range(messages):
            for phase in ("store", "process", "send"):
                COUNTS.clear()
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
                phases[phase] += COUNTS
        await bot.close()
    total: Counter[str] = Counter()
    print(f"{messages} inbound SMS ('help' from a member), per message:")
    print("| phase | units of work | statements | round trips on a server |")
    print("| --- | --- | --- | --- |")
    for phase, counts in phases.items():
        total += counts
        _line(phase, counts, messages)
    _line("total", total, messages)


def _line(phase: str, counts: Counter[str], messages: int) -> None:
    units = counts["units"] / messages
    statements = sum(v for k, v in counts.items() if k != "units") / messages
    print(f"| {phase} | {units:.1f} | {statements:.1f} | {statements + 2 * units:.1f} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200)
    asyncio.run(main(parser.parse_args().messages))
