"""Listing the available providers for a window in a large agency (issue 7, target p50 < 20 ms).

python bench/bench_availability.py [--providers 5000] [--appointments 50000] [--queries 200]
    [--own-hours N] [--db sqlite] [--db postgresql://...]

Each --db is a fresh SQLite file or a fresh schema on a PostgreSQL server (dropped afterwards);
one column per engine, measured one after the other in the same run.

With --own-hours N (default: every provider), N providers first change their own hours by
chat (§9): a Saturday window, an evening cut, or three days off, through the same parser and
use case as the chat, so that their schedules are the chat-written kind.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import engines
from bench.large_agency import SERVICES, START, build
from bot.app import Carebot
from bot.domain.agency import Provider
from bot.nlu.hours import parse_hours
from bot.services import hours
from bot.services.desk import open_desk
from bot.services.matching import Wanted, available_providers

CHANGES = (
    ("en", "available Saturdays 9am-6pm"),
    ("fr", "dispo le dimanche de 10h à 16h"),
    ("en", "no longer available on Fridays 5-8pm"),
    ("fr", "congé du {a} au {b} décembre"),
    ("en", "off {a}-{b} December"),
)


async def change_own_hours(bot: Carebot, count: int, rng: random.Random) -> float:
    """`count` providers change their own hours through the chat's parser and use case."""
    started = time.perf_counter()
    async with open_desk(bot.db, bot.clock) as desk:
        providers = [p for p in await desk.tx.roster.people("provider") if isinstance(p, Provider)]
        now = desk.local(desk.now).replace(tzinfo=None)
        for provider in providers[:count]:
            lang, text = rng.choice(CHANGES)
            first = rng.randint(1, 25)
            change = parse_hours(text.format(a=first, b=first + 2), now, lang)
            assert change is not None and change.kind != "unclear", text
            schedule = hours.changed(provider, change, now.date())
            assert schedule is not None
            await hours.apply(desk, provider, schedule)
    return time.perf_counter() - started


async def main(
    providers: int,
    appointments: int,
    queries: int,
    own_hours: int | None = None,
    location: str = engines.SQLITE,
) -> list[tuple[str, str]]:
    """Build the agency, then time `queries` random availability look-ups."""
    rng = random.Random(11)
    with tempfile.TemporaryDirectory() as folder:
        async with engines.scratch_async(location, Path(folder)) as db:
            return await _measure(db, providers, appointments, queries, own_hours, rng)


async def _measure(
    db: str,
    providers: int,
    appointments: int,
    queries: int,
    own_hours: int | None,
    rng: random.Random,
) -> list[tuple[str, str]]:
    """Build the agency in `db`, then time the look-ups."""
    started = time.perf_counter()
    bot = await build(db, providers, providers * 4, appointments)
    built = time.perf_counter() - started
    own = providers if own_hours is None else own_hours
    changed_in = await change_own_hours(bot, own, rng) if own else 0.0
    timings, found = [], []
    try:
        for _ in range(queries):
            start = START + timedelta(days=rng.randint(1, 50), hours=rng.randint(0, 9))
            end = start + timedelta(hours=rng.randint(1, 4))
            service = rng.choice(SERVICES)
            t0 = time.perf_counter()
            async with open_desk(bot.db, bot.clock) as desk:
                result = await available_providers(desk, "m1", Wanted(service, start, end))
            timings.append((time.perf_counter() - t0) * 1000)
            found.append(len(result))
    finally:
        await bot.close()
    timings.sort()
    return [
        ("providers / appointments", f"{providers} / {appointments}"),
        ("database built in (s)", f"{built:.1f}"),
        ("providers who changed their own hours / in (s)", f"{own} / {changed_in:.1f}"),
        ("providers listed per query (median)", f"{statistics.median(found):.0f}"),
        ("p50 (ms)", f"{timings[len(timings) // 2]:.1f}"),
        ("p99 (ms)", f"{timings[int(len(timings) * 0.99) - 1]:.1f}"),
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--providers", type=int, default=5000)
    parser.add_argument("--appointments", type=int, default=50000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--own-hours", type=int, default=None)
    parser.add_argument("--db", action="append", help="'sqlite' or a postgresql:// URL")
    args = parser.parse_args()
    engines.stop_cleanly()
    locations = args.db or [engines.SQLITE]
    columns = []
    for location in locations:
        one, five, fifteen = os.getloadavg()
        rows = asyncio.run(
            main(args.providers, args.appointments, args.queries, args.own_hours, location)
        )
        load = f"{one:.2f}, {five:.2f}, {fifteen:.2f}"
        columns.append([*rows, ("load average at the start (1, 5, 15 min)", load)])
    print("| availability | " + " | ".join(engines.engine(loc) for loc in locations) + " |")
    print("| --- |" + " --- |" * len(locations))
    for i, (name, _) in enumerate(columns[0]):
        print(f"| {name} | " + " | ".join(column[i][1] for column in columns) + " |")
