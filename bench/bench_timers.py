"""Timers at scale (issues 7 and 12): 100,000 pending timers re-armed at start, 10,000 due in a
minute, 10,000 due at the same instant; on SQLite and on PostgreSQL.

python bench/bench_timers.py [--providers 5000] [--members 12000] [--conversations 10000]
                             [--appointments 30000] [--past 20000] [--burst 10000]
                             [--spread 60] [--flood 10000] [--lookups 200]
                             [--db sqlite] [--db postgresql://...]

For each --db (a fresh SQLite file, or a fresh schema on a PostgreSQL server, dropped
afterwards) it builds the large agency (5,000 providers, 50,000 appointments, three reminders
pending for each appointment ahead), then:
- times the due-timer look-up with every timer pending (the query the timer job runs before
  each batch: nothing due yet, and a full batch of 50 due; and the earliest due time the job
  sleeps until), in the process, --lookups times each;
- starts a real `carebot run` on it and reads /healthz: start-up time and resident memory with
  every timer pending and 10,000 conversations in progress (the memory figure of issue 7),
  then how late the burst fires (p50/p99), then how fast a flood of timers all due at one
  instant is fired (the firing throughput); and checks in the database that every burst and
  flood timer fired exactly once, none before it was due.
It prints one table, a column per engine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import engines  # noqa: E402
from bench.large_agency import agency_file, visit  # noqa: E402
from bot.app import Carebot  # noqa: E402
from bot.app.carebot import TIMER_BATCH  # noqa: E402
from bot.clock import SystemClock  # noqa: E402
from bot.domain.booking import Status  # noqa: E402
from bot.root import open_carebot  # noqa: E402
from bot.services.appointments import CHECKIN, REMIND_MEMBER, REMIND_PROVIDER  # noqa: E402
from tests.live import clean_env, free_port, start_run, wait_healthy  # noqa: E402


@dataclass
class Size:
    """How large the agency is."""

    providers: int = 5000
    members: int = 12000
    conversations: int = 10000
    appointments: int = 30000
    past: int = 20000


async def build(db: str, size: Size) -> list[int]:
    """The large agency: `past` completed visits, and `appointments` ahead with three
    reminders pending each; returns the ids of those ahead."""
    rng = random.Random(5)
    bot = await open_carebot(db, SystemClock())
    data = agency_file(providers=size.providers, members=size.members)
    appointments, past, conversations = size.appointments, size.past, size.conversations
    await bot.import_agency(data)
    now = datetime.now(UTC).replace(microsecond=0)
    ids: list[int] = []
    done = 0
    async with bot.db.transaction() as tx:
        while len(ids) < appointments or done < past:
            ahead = len(ids) < appointments
            provider = rng.choice(data.providers)
            days = rng.randint(3, 59) if ahead else -rng.randint(1, 90)
            start = now + timedelta(days=days, hours=rng.randint(0, 10))
            member_id = f"m{rng.randrange(size.members)}"
            status = Status.CONFIRMED if ahead else Status.COMPLETED
            request = await visit(
                tx, provider, member_id, start, start + timedelta(hours=2), status, now
            )
            if request is None:
                continue
            if ahead:
                ids.append(request.id)
            else:
                done += 1
        await tx.timers.add_many(
            [
                (kind, (now + timedelta(days=2, minutes=i % 5000)), rid, None)
                for i, rid in enumerate(ids)
                for kind in (REMIND_MEMBER, REMIND_MEMBER, REMIND_PROVIDER)
            ]
        )
        for i in range(conversations):
            await tx.conversations.save(f"m{i}", "bk", {"step": "window", "tok": 1}, now)
    await bot.close()
    return ids


def _ms(timings: list[float]) -> str:
    timings = sorted(timings)
    p50 = timings[len(timings) // 2]
    p99 = timings[min(len(timings) - 1, int(len(timings) * 0.99))]
    return f"{p50 * 1000:.2f} / {p99 * 1000:.2f}"


async def _timed(bot: Carebot, lookups: int, until: datetime | None) -> str:
    """p50 / p99 of the due look-up (until a time) or of the earliest due time (None)."""
    timings = []
    for _ in range(lookups):
        t0 = time.perf_counter()
        async with bot.db.read() as tx:
            if until is None:
                await tx.timers.next_due()
            else:
                await tx.timers.due(until, TIMER_BATCH)
        timings.append(time.perf_counter() - t0)
    return _ms(timings)


async def lookups(db: str, count: int) -> list[tuple[str, str]]:
    """The timer job's queries with every timer pending, timed in the process."""
    bot = await open_carebot(db, SystemClock())
    try:
        now = datetime.now(UTC)
        return [
            ("due look-up, none due, p50 / p99 (ms)", await _timed(bot, count, now)),
            (
                f"due look-up, a batch of {TIMER_BATCH} due, p50 / p99 (ms)",
                await _timed(bot, count, now + timedelta(days=365)),
            ),
            ("earliest due time, p50 / p99 (ms)", await _timed(bot, count, None)),
        ]
    finally:
        await bot.close()


async def add_timers(db: str, ids: list[int], start: datetime, spread: float) -> None:
    """Arrival prompts for `ids`, falling due from `start` over `spread` seconds."""
    bot = await open_carebot(db, SystemClock())
    async with bot.db.transaction() as tx:
        await tx.timers.add_many(
            [
                (CHECKIN, start + timedelta(seconds=spread * i / len(ids)), rid, None)
                for i, rid in enumerate(ids)
            ]
        )
    await bot.close()


def _health(port: int) -> dict[str, object] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
            return dict(json.load(answer))
    except OSError:
        return None


def _fired(port: int) -> int:
    timers = (_health(port) or {}).get("timers", {})
    return int(timers.get("fired_since_start", 0)) if isinstance(timers, dict) else 0


def _wait_fired(port: int, count: int, timeout: float, every: float = 0.5) -> float:
    """Wait until `count` timers have fired since start; when that was seen (monotonic)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _fired(port) < count:
        time.sleep(every)
    return time.monotonic()


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run(
    location: str, size: Size, burst: int, spread: float, flood: int, count: int, lead: float
) -> list[tuple[str, str]]:
    """Build, time the look-ups, start `carebot run`, measure; returns table rows."""
    with tempfile.TemporaryDirectory() as folder, engines.scratch(location, Path(folder)) as db:
        t0 = time.perf_counter()
        ids = asyncio.run(build(db, size))
        built = time.perf_counter() - t0
        looked = asyncio.run(lookups(db, count))
        burst_at = datetime.now(UTC) + timedelta(seconds=lead)
        asyncio.run(add_timers(db, ids[:burst], burst_at, spread))
        port = free_port()
        env = clean_env(CAREBOT_DATABASE=db, CAREBOT_SWEEP_SECONDS="5")
        started = time.perf_counter()
        log = Path(folder) / "carebot-run.log"
        process = start_run(port, env, log)
        try:
            health = wait_healthy(port, process, log, within=600)
            ready = time.perf_counter() - started
            rss_ready = _rss_mb(process.pid)
            pending = health["timers"]["pending"]
            _wait_fired(port, burst, lead + spread + 120)
            lateness = ((_health(port) or {}).get("timers") or {}).get("lateness_ms")  # type: ignore[attr-defined]
            rss_after = _rss_mb(process.pid)
            # The flood: every timer due at the same whole second, 5 s from now.
            flood_at = (datetime.now(UTC) + timedelta(seconds=6)).replace(microsecond=0)
            asyncio.run(add_timers(db, ids[burst : burst + flood], flood_at, 0))
            due = time.monotonic() + (flood_at - datetime.now(UTC)).total_seconds()
            done = _wait_fired(port, burst + flood, 300, every=0.05)
            fired_flood = _fired(port) - burst
        finally:
            process.kill()
            process.wait()
        fired, early = engines.rows(
            db,
            "SELECT COUNT(*), SUM(CASE WHEN fired_at < due_at THEN 1 ELSE 0 END) FROM timers "
            "WHERE kind = ? AND state = 'fired'",
            (CHECKIN,),
        )[0]
        prompts = engines.rows(
            db, "SELECT COUNT(*), COUNT(DISTINCT person_id || text) FROM outbox"
        )
    return [
        ("providers / members", f"{size.providers} / {size.members}"),
        ("appointments ahead / completed", f"{size.appointments} / {size.past}"),
        ("pending timers at start", str(pending)),
        ("conversations in progress", str(size.conversations)),
        ("database built in (s)", f"{built:.1f}"),
        *looked,
        ("start to healthy, all timers re-armed (s)", f"{ready:.2f}"),
        ("resident memory at start (MB)", f"{rss_ready:.0f}"),
        ("resident memory after the burst (MB)", f"{rss_after:.0f}"),
        (f"burst: timers due within {spread:.0f} s", str(burst)),
        (
            "burst lateness p50 / p99 (ms)",
            f"{lateness['p50']} / {lateness['p99']}" if isinstance(lateness, dict) else "n/a",
        ),
        ("flood: timers due at the same second", str(flood)),
        (
            "flood fired in (s) / timers per s",
            f"{done - due:.2f} / {fired_flood / max(done - due, 1e-3):.0f}",
        ),
        (
            "burst + flood fired (exactly once each)",
            f"{fired} (messages {prompts[0][0]}, distinct {prompts[0][1]})",
        ),
        ("fired before due", str(early or 0)),
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--providers", type=int, default=5000)
    parser.add_argument("--members", type=int, default=12000)
    parser.add_argument("--conversations", type=int, default=10000)
    parser.add_argument("--appointments", type=int, default=30000)
    parser.add_argument("--past", type=int, default=20000, help="completed visits, no timers")
    parser.add_argument("--burst", type=int, default=10000)
    parser.add_argument("--spread", type=float, default=60.0)
    parser.add_argument("--flood", type=int, default=10000)
    parser.add_argument("--lookups", type=int, default=200)
    parser.add_argument(
        "--lead", type=float, default=15.0, help="seconds from start-up to the burst's first"
    )
    parser.add_argument("--db", action="append", help="'sqlite' or a postgresql:// URL")
    args = parser.parse_args()
    engines.stop_cleanly()
    if args.burst + args.flood > args.appointments:
        parser.error("--burst + --flood must not exceed --appointments (one prompt each)")
    if args.conversations > args.members:
        parser.error("--conversations must not exceed --members (one each)")
    size = Size(args.providers, args.members, args.conversations, args.appointments, args.past)
    locations = args.db or [engines.SQLITE]
    columns = []
    for location in locations:
        one, five, fifteen = os.getloadavg()
        rows = run(location, size, args.burst, args.spread, args.flood, args.lookups, args.lead)
        columns.append(
            [
                *rows,
                (
                    "load average at the start (1, 5, 15 min)",
                    f"{one:.2f}, {five:.2f}, {fifteen:.2f}",
                ),
            ]
        )
    print("| timers | " + " | ".join(engines.engine(loc) for loc in locations) + " |")
    print("| --- |" + " --- |" * len(locations))
    for i, (name, _) in enumerate(columns[0]):
        print(f"| {name} | " + " | ".join(column[i][1] for column in columns) + " |")
