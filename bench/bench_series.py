"""Weekly series rolled forward (issue 15): occurrences created per day for 10,000 series.

python bench/bench_series.py [--series 10000] [--providers 5000] [--days 14]

10,000 weekly series (each on its own provider and weekday, inside the provider's hours) are
recorded as confirmed; the first roll fills the 60-day horizon, then the clock moves one day
at a time and the daily roll (the same timer effect as the live bot) creates what enters the
horizon. Reported: the first fill, occurrences created per day, and the time a daily roll
takes. A second roll on the same day creates nothing (what makes restarts safe).
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

from bench.large_agency import START, agency_file, build
from bot.clock import VirtualClock
from bot.domain.booking import Series
from bot.services import series as weekly
from bot.services.desk import open_desk


async def main(count: int, providers: int, days: int) -> list[tuple[str, str]]:
    """Record the series, fill the horizon, then roll day by day."""
    rng = random.Random(15)
    data = agency_file(providers, count)
    pairs = [(p, w) for p in data.providers for w in p.availability]
    rng.shuffle(pairs)
    with tempfile.TemporaryDirectory() as folder:
        bot = await build(Path(folder) / "bench.db", providers, count, 0)
        clock = bot.clock
        assert isinstance(clock, VirtualClock)
        try:
            async with open_desk(bot.db, clock) as desk:
                for i, (provider, window) in enumerate(pairs[:count]):
                    start = window.start + 60 * rng.randint(0, 2)
                    await desk.tx.series.add(
                        Series(
                            id=0,
                            member_id=f"m{i}",
                            service_id=provider.services[0],
                            provider_id=provider.id,
                            weekday=window.weekday,
                            start_min=start,
                            end_min=min(window.end, start + 120),
                            first_day=weekly.first_day(desk, window.weekday, start),
                            until_day=None,
                            max_count=None,
                            status="active",
                            created_at=desk.now,
                        )
                    )
            t0 = time.perf_counter()
            async with open_desk(bot.db, clock) as desk:
                # As if the last roll were a week ago: every weekday is filled.
                filled = await weekly.roll(desk, desk.now - timedelta(days=7))
            fill_s = time.perf_counter() - t0
            per_day, seconds = [], []
            for day in range(1, days + 1):
                clock.set(START + timedelta(days=day))
                t0 = time.perf_counter()
                async with open_desk(bot.db, clock) as desk:
                    per_day.append(await weekly.roll(desk, desk.now))
                seconds.append(time.perf_counter() - t0)
            async with open_desk(bot.db, clock) as desk:
                again = await weekly.roll(desk, desk.now)
        finally:
            await bot.close()
    return [
        ("weekly series", f"{count}"),
        ("first fill of the 60-day horizon: occurrences / s", f"{filled} / {fill_s:.1f}"),
        ("occurrences created per day (mean, min-max)", f"{statistics.mean(per_day):.0f} "
         f"({min(per_day)}-{max(per_day)})"),
        ("daily roll (median s, max s)", f"{statistics.median(seconds):.2f}, {max(seconds):.2f}"),
        ("created by a second roll the same day", f"{again}"),
    ]  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--series", type=int, default=10000)
    parser.add_argument("--providers", type=int, default=5000)
    parser.add_argument("--days", type=int, default=14)
    args = parser.parse_args()
    rows = asyncio.run(main(args.series, args.providers, args.days))
    print("| series | value |\n| --- | --- |")
    for name, value in rows:
        print(f"| {name} | {value} |")
