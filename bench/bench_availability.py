"""Listing the available providers for a window in a large agency (issue 7, target p50 < 20 ms).

python bench/bench_availability.py [--providers 5000] [--appointments 50000] [--queries 200]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.large_agency import SERVICES, START, build
from bot.services.booking import available_providers
from bot.services.desk import open_desk


async def main(providers: int, appointments: int, queries: int) -> list[tuple[str, str]]:
    """Build the agency, then time `queries` random availability look-ups."""
    rng = random.Random(11)
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        bot = await build(Path(folder) / "bench.db", providers, providers * 4, appointments)
        built = time.perf_counter() - started
        timings, found = [], []
        try:
            for _ in range(queries):
                start = START + timedelta(days=rng.randint(1, 50), hours=rng.randint(0, 9))
                end = start + timedelta(hours=rng.randint(1, 4))
                service = rng.choice(SERVICES)
                t0 = time.perf_counter()
                async with open_desk(bot.db, bot.clock) as desk:
                    result = await available_providers(desk, "m1", service, start, end)
                timings.append((time.perf_counter() - t0) * 1000)
                found.append(len(result))
        finally:
            await bot.close()
    timings.sort()
    return [
        ("providers / appointments", f"{providers} / {appointments}"),
        ("database built in (s)", f"{built:.1f}"),
        ("providers listed per query (median)", f"{statistics.median(found):.0f}"),
        ("p50 (ms)", f"{timings[len(timings) // 2]:.1f}"),
        ("p99 (ms)", f"{timings[int(len(timings) * 0.99) - 1]:.1f}"),
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--providers", type=int, default=5000)
    parser.add_argument("--appointments", type=int, default=50000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    rows = asyncio.run(main(args.providers, args.appointments, args.queries))
    print("| availability | value |\n| --- | --- |")
    for name, value in rows:
        print(f"| {name} | {value} |")
