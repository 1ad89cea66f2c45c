"""Telegram throughput and latency: a real `carebot run` next to a bare echo bot, one fake API.

Usage: python bench/bench_telegram.py [--users N] [--one-at-a-time M] [--quick]

Three targets poll the same fake Bot API (tests/fakes/telegram_api.py) in one run:
- echo: a bare python-telegram-bot Application whose MessageHandler replies with the text
  (the floor: what the library and the fake cost);
- carebot: `carebot run` (polling) on a roster of N Telegram members, each typing
  "/bookings" once: stored, processed by the flows, answered through the outbox, paced to
  Telegram's limits (30 messages a second overall);
- carebot, pace lifted: `carebot run` again with Telegram's limits set off
  (CAREBOT_TELEGRAM_PER_SECOND, CAREBOT_TELEGRAM_PER_CHAT), to show what the process can do.
For each: a burst (N users write at once; updates per second = N / time from the first
update to the last reply) and one update at a time (M users in turn). Latency is from the
update being injected to the reply being received by the fake. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.clock import SystemClock  # noqa: E402
from bot.domain.agency import Agency, AgencyFile, Member, Service, Staff  # noqa: E402
from bot.root import open_carebot  # noqa: E402
from tests.fakes.telegram_api import FAKE_TOKEN, NO_LIMITS, FakeTelegram  # noqa: E402

FIRST_USER = 100_000


@dataclass
class Figures:
    """One target's results."""

    name: str
    updates: int
    per_second: float
    burst: list[float]  # latencies of the burst, seconds
    alone: list[float]  # latencies one at a time, seconds


def percentile(values: list[float], fraction: float) -> float:
    """The value at `fraction` of the sorted values (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def agency(users: int) -> AgencyFile:
    """A roster of `users` Telegram members (ids from FIRST_USER) and one staff member."""
    members = tuple(
        Member(
            id=f"m{i}",
            name=f"Member {i}",
            channel="telegram",
            telegram_id=FIRST_USER + i,
            language="fr" if i % 2 else "en",
        )
        for i in range(users)
    )
    return AgencyFile(
        agency=Agency("Bench care", "Europe/Paris", "EUR", "fr"),
        services=(Service("childcare", {"fr": "Garde", "en": "Childcare"}, Decimal("20.00")),),
        members=members,
        providers=(),
        staff=(Staff(id="s0", name="Staff", channel="telegram", telegram_id=9),),
    )


def measure(
    fake: FakeTelegram, name: str, users: range, burst: int, alone: int, text: str
) -> Figures:
    """A burst of `burst` users writing at once, then `alone` more users one at a time."""
    crowd = list(users)[:burst]
    lone = list(users)[burst : burst + alone]
    sent_at: dict[int, float] = {}
    seen = {u: len(fake.messages_to(u)) for u in crowd + lone}
    started = time.time()
    for user in crowd:
        sent_at[user] = time.time()
        fake.send_text(user, text)
    replies = {u: fake.wait_message(u, after=seen[u], timeout=120) for u in crowd}
    finished = max(r.at for r in replies.values())
    burst_latency = [replies[u].at - sent_at[u] for u in crowd]
    alone_latency = []
    for user in lone:
        at = time.time()
        fake.send_text(user, text)
        alone_latency.append(fake.wait_message(user, after=seen[user], timeout=30).at - at)
    return Figures(
        name, len(crowd), len(crowd) / (finished - started), burst_latency, alone_latency
    )


@contextlib.contextmanager
def process(args: list[str], env: dict[str, str], ready: Callable[[], object]) -> Iterator[None]:
    """A subprocess, until `ready()` holds, then until the block ends."""
    child = subprocess.Popen(args, cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not ready():
            if child.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{args[:4]} did not start")
            time.sleep(0.05)
        yield
    finally:
        child.terminate()
        child.wait(10)


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
            return True
    except OSError:
        return False


def _polling_again(fake: FakeTelegram, before: int) -> Callable[[], bool]:
    return lambda: len(fake.calls_of("getUpdates")) > before


async def _prepare(db: Path, users: int) -> None:
    bot = await open_carebot(db, SystemClock())
    try:
        await bot.import_agency(agency(users))
    finally:
        await bot.close()


def run_echo_bot(api_url: str) -> None:
    """The floor: python-telegram-bot replying with the text, nothing else."""
    from telegram import Update
    from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters

    async def echo(update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        """Reply with the same text."""
        if update.message is not None and update.message.text is not None:
            await update.message.reply_text(update.message.text)

    app = ApplicationBuilder().token(FAKE_TOKEN).base_url(f"{api_url}/bot").build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    app.run_polling(poll_interval=0.0, timeout=10, drop_pending_updates=False)


def main() -> int:
    """Run the three targets and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=300, help="users in the burst")
    parser.add_argument("--one-at-a-time", type=int, default=100, help="users one by one")
    parser.add_argument("--quick", action="store_true", help="60 in the burst, 20 one by one")
    parser.add_argument("--echo-bot", help=argparse.SUPPRESS)  # the echo bot's own process
    args = parser.parse_args()
    if args.quick:
        args.users, args.one_at_a_time = 60, 20
    if args.echo_bot:
        run_echo_bot(args.echo_bot)
        return 0
    total = args.users + args.one_at_a_time
    results: list[Figures] = []
    # No limits in the fake: the bare echo bot has no pace; carebot's own pace is measured.
    with (
        tempfile.TemporaryDirectory(prefix="bench-telegram-") as tmp,
        FakeTelegram(limits=NO_LIMITS) as fake,
    ):
        env = {k: v for k, v in os.environ.items() if not k.startswith("CAREBOT_")}
        # The echo bot, on users nobody else uses.
        echo_users = range(FIRST_USER + 10 * total, FIRST_USER + 11 * total)
        before = len(fake.calls_of("getUpdates"))
        echo_cmd = [sys.executable, __file__, "--echo-bot", fake.url]
        with process(echo_cmd, env, _polling_again(fake, before)):
            results.append(
                measure(fake, "echo (bare PTB)", echo_users, args.users, args.one_at_a_time, "hi")
            )
        # carebot run, polling: with Telegram's pace, then with the pace lifted.
        db = Path(tmp) / "carebot.db"
        asyncio.run(_prepare(db, 2 * total))
        env |= {
            "CAREBOT_DATABASE": str(db),
            "CAREBOT_TELEGRAM_TOKEN": FAKE_TOKEN,
            "CAREBOT_TELEGRAM_API_URL": fake.url,
        }
        lifted = {"CAREBOT_TELEGRAM_PER_SECOND": "1000000", "CAREBOT_TELEGRAM_PER_CHAT": "0"}
        for name, extra, first in [
            ("carebot run", {}, FIRST_USER),
            ("carebot run, pace lifted", lifted, FIRST_USER + total),
        ]:
            port = _free_port()
            before = len(fake.calls_of("getUpdates"))
            run_cmd = [sys.executable, "-m", "bot", "run", "--port", str(port)]
            ready = _polling_again(fake, before)
            with process(run_cmd, env | extra, lambda: _healthy(port) and ready()):  # noqa: B023
                users = range(first, first + total)
                results.append(
                    measure(fake, name, users, args.users, args.one_at_a_time, "/bookings")
                )

    print("| target | burst updates | updates/s | burst p50 | burst p99 | alone p50 | alone p99 |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        ms = [
            percentile(r.burst, 0.5),
            percentile(r.burst, 0.99),
            percentile(r.alone, 0.5),
            percentile(r.alone, 0.99),
        ]
        cells = " | ".join(f"{v * 1000:.1f} ms" for v in ms)
        print(f"| {r.name} | {r.updates} | {r.per_second:.1f} | {cells} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
