"""Timers at scale (issue 7): 100,000 pending timers re-armed at start, 10,000 due in a minute.

python bench/bench_timers.py [--appointments 30000] [--past 20000] [--burst 10000]
                             [--spread 60]

Builds the large agency (5,000 providers, 50,000 appointments) on a SQLite file, then starts
a real `carebot run` on it and reads /healthz: start-up time and resident memory with every
timer pending and 10,000 conversations in progress (the memory figure of issue 7), then how
late the burst fires (p50/p99), and checks in the database that every burst timer fired
exactly once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.large_agency import agency_file  # noqa: E402
from bot.clock import SystemClock  # noqa: E402
from bot.domain.booking import Status  # noqa: E402
from bot.domain.errors import DoubleBooking  # noqa: E402
from bot.root import open_carebot  # noqa: E402
from bot.services.appointments import CHECKIN, REMIND_MEMBER, REMIND_PROVIDER  # noqa: E402


async def build(db: Path, appointments: int, past: int, conversations: int) -> list[int]:
    """The large agency (5,000 providers): `past` completed visits, and `appointments` ahead
    with three reminders pending each; returns the ids of those ahead."""
    rng = random.Random(5)
    bot = await open_carebot(db, SystemClock())
    data = agency_file(providers=5000, members=12000)
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
            try:
                request = await tx.requests.add(
                    member_id=f"m{rng.randrange(12000)}",
                    service_id=provider.services[0],
                    start=start,
                    end=start + timedelta(hours=2),
                    status=Status.CONFIRMED if ahead else Status.COMPLETED,
                    provider_id=provider.id,
                    price=Decimal("40"),
                    fee=Decimal("5"),
                    at=now,
                )
            except DoubleBooking:
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


async def add_burst(db: Path, ids: list[int], burst: int, lead: float, spread: float) -> None:
    """`burst` arrival prompts falling due within `spread` seconds, `lead` seconds from now."""
    bot = await open_carebot(db, SystemClock())
    start = datetime.now(UTC) + timedelta(seconds=lead)
    async with bot.db.transaction() as tx:
        await tx.timers.add_many(
            [
                (CHECKIN, start + timedelta(seconds=spread * i / burst), rid, None)
                for i, rid in enumerate(ids[:burst])
            ]
        )
    await bot.close()


def _health(port: int) -> dict[str, object] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
            return dict(json.load(answer))
    except OSError:
        return None


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run(appointments: int, past: int, burst: int, spread: float) -> list[tuple[str, str]]:
    """Build, start `carebot run`, measure; returns table rows."""
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "timers.db"
        t0 = time.perf_counter()
        ids = asyncio.run(build(db, appointments, past, 10_000))
        built = time.perf_counter() - t0
        lead = 15.0
        asyncio.run(add_burst(db, ids, burst, lead, spread))
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        env = {**os.environ, "CAREBOT_DATABASE": str(db), "CAREBOT_SWEEP_SECONDS": "5"}
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            health = None
            while health is None:
                time.sleep(0.05)
                health = _health(port)
            ready = time.perf_counter() - started
            rss_ready = _rss_mb(process.pid)
            pending = health["timers"]["pending"]  # type: ignore[index]
            deadline = time.perf_counter() + lead + spread + 120
            while time.perf_counter() < deadline:
                health = _health(port) or {}
                timers = health.get("timers", {})
                if isinstance(timers, dict) and timers.get("fired_since_start", 0) >= burst:
                    break
                time.sleep(0.5)
            rss_after = _rss_mb(process.pid)
        finally:
            process.kill()
            process.wait()
        conn = sqlite3.connect(db)
        fired = conn.execute(
            "SELECT COUNT(*) FROM timers WHERE kind = ? AND state = 'fired'", (CHECKIN,)
        ).fetchone()[0]
        prompts = conn.execute(
            "SELECT COUNT(*), COUNT(DISTINCT person_id || text) FROM outbox"
        ).fetchone()
        early = conn.execute(
            "SELECT COUNT(*) FROM timers WHERE kind = ? AND fired_at < due_at", (CHECKIN,)
        ).fetchone()[0]
        conn.close()
        lateness = health.get("timers", {}).get("lateness_ms")  # type: ignore[union-attr]
    return [
        ("providers / members", "5000 / 12000"),
        ("appointments ahead / completed", f"{appointments} / {past}"),
        ("pending timers at start", str(pending)),
        ("conversations in progress", "10000"),
        ("database built in (s)", f"{built:.1f}"),
        ("start to healthy, all timers re-armed (s)", f"{ready:.2f}"),
        ("resident memory at start (MB)", f"{rss_ready:.0f}"),
        ("resident memory after the burst (MB)", f"{rss_after:.0f}"),
        (f"burst: timers due within {spread:.0f} s", str(burst)),
        (
            "burst fired (exactly once each)",
            f"{fired} (messages {prompts[0]}, distinct {prompts[1]})",
        ),
        ("fired before due", str(early)),
        (
            "lateness p50 / p99 (ms)",
            f"{lateness['p50']} / {lateness['p99']}" if isinstance(lateness, dict) else "n/a",
        ),
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--appointments", type=int, default=30000)
    parser.add_argument("--past", type=int, default=20000, help="completed visits, no timers")
    parser.add_argument("--burst", type=int, default=10000)
    parser.add_argument("--spread", type=float, default=60.0)
    args = parser.parse_args()
    print("| timers | value |\n| --- | --- |")
    for name, value in run(args.appointments, args.past, args.burst, args.spread):
        print(f"| {name} | {value} |")
