"""Inbound SMS throughput and latency of `carebot run`, against the fake Twilio and a floor.

Usage: python bench/bench_sms_inbound.py [--seconds 5] [--rates 100,300,500,1000]
                                         [--concurrency 32] [--members 14000]
                                         [--db sqlite] [--db postgresql://...] [--workers 1,2,3]
                                         [--profile FILE] [--quick]

For each --db (a fresh SQLite file, or a fresh schema on a PostgreSQL server, dropped
afterwards) and, on PostgreSQL, each --workers count, it imports the test agency plus
--members SMS members, starts the fake Twilio and that many `carebot run` workers on
loopback, then for each phase posts signed webhooks, each to the next worker in turn (a
round-robin balancer), "help" from a different member each time, so that every message is
answered by exactly one SMS: at a fixed offered rate (open loop: posts leave on schedule
whatever the answers do), after an uncounted warm-up, then flat out (--concurrency posters
back to back). It waits for every reply to reach the fake Twilio. Then the same phases hit
the floor (bench/sms_floor.py: a bare Starlette + uvicorn endpoint that checks the signature
and answers empty TwiML) on the same machine. It prints a Markdown table: webhook latency
(post to TwiML answer), sustained replies per second, and latency from post to the reply
arriving at the fake Twilio; then the flat-out figures as ratios within the run.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from twilio.request_validator import RequestValidator  # noqa: E402

from bench import engines  # noqa: E402
from bot.handlers.sms_standin import new_message_sid  # noqa: E402
from tests.fakes.twilio import ACCOUNT_SID, AUTH_TOKEN  # noqa: E402

AGENCY = ROOT / "tests" / "transcripts" / "agency.toml"
BOT_NUMBER = "+15005550006"


@dataclass
class Phase:
    """One load phase and what it measured."""

    name: str
    rate: float | None  # posts per second, None = flat out
    posted: list[tuple[str, float, float, int]] = field(default_factory=list)  # to, t0, t1, code
    started: float = 0.0
    ended: float = 0.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _agency(path: Path, members: int) -> list[str]:
    """The test agency plus `members` SMS members; returns their phone numbers."""
    phones = [f"+3361{i:07d}" for i in range(members)]
    extra = "".join(
        f'\n[[member]]\nid = "bench{i}"\nname = "Bench Member {i}"\nchannel = "sms"\n'
        f'phone = "{phone}"\nlanguage = "{"fr" if i % 2 else "en"}"\n'
        for i, phone in enumerate(phones)
    )
    path.write_text(AGENCY.read_text(encoding="utf-8") + extra, encoding="utf-8")
    return phones


def _wait_up(url: str, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"{what} did not start")


def _start_server(module: str, health: str, what: str) -> tuple[subprocess.Popen[bytes], str]:
    """`python -m module --port P`, once its `health` path answers."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", module, "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    _wait_up(url + health, process, what)
    return process, url


def _start_bot(db: str, fake_url: str, profile: str | None) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAREBOT_")}
    env.update(
        CAREBOT_DATABASE=db,
        CAREBOT_PUBLIC_URL=url,
        CAREBOT_TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        CAREBOT_TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        CAREBOT_TWILIO_FROM=BOT_NUMBER,
        CAREBOT_TWILIO_API_URL=fake_url,
    )
    run = ["-m", "bot", "run", "--port", str(port)]
    if profile:
        # uvicorn re-raises SIGTERM after its graceful stop: ignore it so the profile is written.
        code = "import cProfile, signal; from bot.cli import main; "
        code += "signal.signal(signal.SIGTERM, lambda *_: None); "
        code += f'cProfile.run("main({run[2:]!r})", {profile!r})'
        run = ["-c", code]
    process = subprocess.Popen(
        [sys.executable, *run],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait_up(url + "/healthz", process, "carebot run")
    return process, url


def _signed(url: str, sender: str) -> tuple[bytes, dict[str, str]]:
    """A signed inbound webhook body and headers (prepared before the clock starts)."""
    sid = new_message_sid()
    form = {
        "MessageSid": sid,
        "SmsSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": sender,
        "To": BOT_NUMBER,
        "Body": "help",
        "NumMedia": "0",
    }
    signature = RequestValidator(AUTH_TOKEN).compute_signature(url + "/sms/inbound", form)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": signature,
    }
    return urlencode(form).encode(), headers


async def _post(
    session: aiohttp.ClientSession,
    url: str,
    phase: Phase,
    to: str,
    body: bytes,
    headers: dict[str, str],
) -> None:
    t0 = time.time()
    try:
        async with session.post(url + "/sms/inbound", data=body, headers=headers) as answer:
            await answer.read()
            code = answer.status
    except aiohttp.ClientError:
        code = 0
    phase.posted.append((to, t0, time.time(), code))


async def _run_phase(
    urls: list[str], phase: Phase, numbers: list[str], seconds: float, concurrency: int
) -> None:
    """Post the phase's webhooks, each to the next of `urls` in turn (a round-robin balancer:
    each worker checks signatures made for its own URL)."""
    turn = itertools.cycle(urls)
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        if phase.rate is not None:
            count = int(phase.rate * seconds)
            targets = zip(numbers[:count], turn, strict=False)
            prepared = [(n, url, *_signed(url, n)) for n, url in targets]
            phase.started = time.time()
            start = time.monotonic()
            tasks = []
            for i, (to, url, body, headers) in enumerate(prepared):
                delay = start + i / phase.rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(_post(session, url, phase, to, body, headers)))
            await asyncio.gather(*tasks)
        else:
            queue = iter(numbers)
            phase.started = time.time()
            stop_at = time.monotonic() + seconds

            async def poster() -> None:
                for to in queue:
                    if time.monotonic() >= stop_at:
                        return
                    url = next(turn)
                    body, headers = _signed(url, to)
                    await _post(session, url, phase, to, body, headers)

            await asyncio.gather(*(poster() for _ in range(concurrency)))
        phase.ended = time.time()


def _sent(fake_url: str) -> dict[str, float]:
    """When the fake Twilio received a message for each number (the first one)."""
    with urllib.request.urlopen(fake_url + "/_log", timeout=30) as answer:
        log = json.load(answer)
    arrived: dict[str, float] = {}
    for message in log["messages"]:
        arrived.setdefault(message["to"], float(message["received_at"]))
    return arrived


def _wait_replies(
    fake_url: str, phase: Phase, idle: float = 20.0, limit: float = 900.0
) -> dict[str, float]:
    """When each posted number's reply reached the fake Twilio: waits for all of them while
    replies keep coming (a slow configuration drains its backlog, which its replies/s shows),
    and gives up after `idle` seconds without a new one."""
    wanted = {to for to, _, _, code in phase.posted if code == 200}
    deadline = time.monotonic() + limit
    seen, progress = -1, time.monotonic()
    while True:
        arrived = {to: at for to, at in _sent(fake_url).items() if to in wanted}
        if len(arrived) != seen:
            seen, progress = len(arrived), time.monotonic()
        now = time.monotonic()
        if len(arrived) == len(wanted) or now > deadline or now - progress > idle:
            return arrived
        time.sleep(0.2)


def _ms(values: list[float], fraction: float) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    return f"{ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000:.1f}"


def _posted_per_second(phase: Phase) -> float:
    return len(phase.posted) / (phase.ended - phase.started)


def _row(server: str, phase: Phase, replies: dict[str, float] | None) -> str:
    ok = [p for p in phase.posted if p[3] == 200]
    webhook = [t1 - t0 for _, t0, t1, _ in ok]
    offered = f"{phase.rate:.0f}" if phase.rate else "flat out"
    answered = "| - | - | - | - |"
    if replies is not None:
        end_to_end = [replies[to] - t0 for to, t0, _, _ in ok if to in replies]
        last = max(replies.values(), default=phase.ended)
        answered = (
            f"| {len(replies)} | {len(replies) / (last - phase.started):.0f} "
            f"| {_ms(end_to_end, 0.5)} | {_ms(end_to_end, 0.99)} |"
        )
    return (
        f"| {server} | {offered} | {len(phase.posted)} | {_posted_per_second(phase):.0f} "
        f"| {len(phase.posted) - len(ok)} | {_ms(webhook, 0.5)} | {_ms(webhook, 0.99)} " + answered
    )


def _warm_up(urls: list[str], numbers: list[str], concurrency: int) -> None:
    """One uncounted second at 100/s: connections opened, caches and catalogues loaded."""
    asyncio.run(_run_phase(urls, Phase("warm-up", 100.0), numbers, 1.0, concurrency))


@dataclass
class Server:
    """One configuration measured: `carebot run` on an engine with N workers, or the floor."""

    label: str
    phases: list[Phase] = field(default_factory=list)
    replies: list[dict[str, float] | None] = field(default_factory=list)


def _label(location: str, workers: int) -> str:
    return f"carebot run, {engines.engine(location)}, {workers} worker{'s' * (workers > 1)}"


def _measure_bot(
    location: str, workers: int, folder: Path, numbers: list[str], args: argparse.Namespace
) -> Server:
    """Every phase against `workers` `carebot run` processes on a fresh database."""
    server = Server(_label(location, workers))
    folder.mkdir()
    with engines.scratch(location, folder) as db:
        subprocess.run(
            [sys.executable, "-m", "bot", "import", str(folder.parent / AGENCY.name), "--db", db],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        fake, fake_url = _start_server("tests.fakes.twilio", "/_health", "the fake Twilio")
        bots: list[subprocess.Popen[bytes]] = []
        try:
            urls = []
            for i in range(workers):
                process, url = _start_bot(db, fake_url, args.profile if i == 0 else None)
                bots.append(process)
                urls.append(url)
            _warm_up(urls, numbers[:100], args.concurrency)
            used = 100
            for rate in args.rates:
                phase = Phase("flat out" if rate is None else f"{rate:.0f}/s", rate)
                load = (urls, phase, numbers[used:], args.seconds, args.concurrency)
                asyncio.run(_run_phase(*load))
                used += len(phase.posted)
                server.phases.append(phase)
                server.replies.append(_wait_replies(fake_url, phase))
                print(f"{server.label} {phase.name}: done", file=sys.stderr)
                if used >= len(numbers):
                    print("not enough members for the next phase: use --members", file=sys.stderr)
                    break
        finally:
            for process in bots:
                process.terminate()
            for process in bots:
                process.wait(10)
            fake.terminate()
            fake.wait(10)
    return server


def _measure_floor(numbers: list[str], args: argparse.Namespace) -> Server:
    """Every phase against the floor."""
    server = Server("floor")
    floor, floor_url = _start_server("bench.sms_floor", "/healthz", "the floor")
    try:
        _warm_up([floor_url], numbers[:100], args.concurrency)
        for rate in args.rates:
            phase = Phase("flat out" if rate is None else f"{rate:.0f}/s", rate)
            asyncio.run(
                _run_phase([floor_url], phase, numbers * 4, args.seconds, args.concurrency)
            )
            server.phases.append(phase)
            server.replies.append(None)
            print(f"floor {phase.name}: done", file=sys.stderr)
    finally:
        floor.terminate()
        floor.wait(10)
    return server


def _replies_per_second(phase: Phase, replies: dict[str, float] | None) -> float:
    if not replies:
        return 0.0
    return len(replies) / (max(replies.values()) - phase.started)


def _ratios(servers: list[Server]) -> None:
    """Flat out, each configuration against the first SQLite one and against the floor."""
    flat = [s for s in servers if s.phases and s.phases[-1].rate is None]
    floor = next((s for s in flat if s.label == "floor"), None)
    bots = [s for s in flat if s is not floor]
    if not bots:
        return
    base = next((s for s in bots if "SQLite" in s.label), bots[0])
    base_posted = _posted_per_second(base.phases[-1])
    base_replies = _replies_per_second(base.phases[-1], base.replies[-1])
    floor_posted = _posted_per_second(floor.phases[-1]) if floor else 0.0
    name = base.label.removeprefix("carebot run, ")
    print(f"\nFlat out, within this run (x {name} = ratio to {base.label}):\n")
    print(
        f"| server | webhooks/s | % of the floor | x {name} | replies/s | x {name} "
        "| post-to-reply p50 ms | post-to-reply p99 ms |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for server in bots:
        phase, replies = server.phases[-1], server.replies[-1] or {}
        posted = _posted_per_second(phase)
        answered = _replies_per_second(phase, replies)
        end_to_end = [replies[to] - t0 for to, t0, _, code in phase.posted if to in replies]
        share = f"{100 * posted / floor_posted:.0f}%" if floor_posted else "-"
        print(
            f"| {server.label} | {posted:.0f} | {share} | {posted / base_posted:.2f} "
            f"| {answered:.0f} | {answered / base_replies if base_replies else 0:.2f} "
            f"| {_ms(end_to_end, 0.5)} | {_ms(end_to_end, 0.99)} |"
        )
    if floor:
        print(
            f"| floor | {floor_posted:.0f} | 100% | {floor_posted / base_posted:.2f} | - | - "
            "| - | - |"
        )


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f}, {five:.2f}, {fifteen:.2f}"


def main() -> int:
    """Run the phases against carebot on each engine and worker count, then against the
    floor, and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rates", default="100,300,500,1000")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--members", type=int, default=14000)
    parser.add_argument(
        "--db",
        action="append",
        help="'sqlite' (a fresh file, the default) or a postgresql:// URL (a fresh schema on "
        "that server, dropped afterwards); repeat to measure both in one run",
    )
    parser.add_argument(
        "--workers",
        default="1",
        help="worker counts on PostgreSQL, e.g. 1,2,3 (SQLite: always one worker)",
    )
    parser.add_argument("--no-floor", action="store_true", help="skip the floor")
    parser.add_argument("--profile", help="run the (first) bot under cProfile, writing this file")
    parser.add_argument("--quick", action="store_true", help="2 s per phase (a smoke run)")
    args = parser.parse_args()
    engines.stop_cleanly()
    if args.quick:
        args.seconds, args.members = 2.0, min(args.members, 6000)
    args.rates = [float(r) for r in args.rates.split(",") if r] + [None]
    counts = [int(n) for n in args.workers.split(",") if n]
    locations = args.db or [engines.SQLITE]
    started_load = _load()
    servers: list[Server] = []
    with tempfile.TemporaryDirectory() as tmp:
        numbers = _agency(Path(tmp) / "agency.toml", args.members)
        for location in locations:
            for workers in counts if engines.is_url(location) else [1]:
                folder = Path(tmp) / f"run{len(servers)}"
                servers.append(_measure_bot(location, workers, folder, numbers, args))
    if not args.no_floor:
        servers.append(_measure_floor(numbers, args))
    print(
        f"`carebot run` on each engine (SQLite WAL; PostgreSQL on {_servers(locations)}, "
        "commits waiting for the disk as by default), N workers behind a round-robin client, "
        f"fake Twilio on loopback; {args.seconds:g} s per phase after a 1 s warm-up; every "
        "inbound SMS ('help' from a member) is answered by one SMS. The floor is a bare "
        "Starlette + uvicorn endpoint checking the signature (bench/sms_floor.py), hit the "
        "same way; the bench client, the workers, the fake Twilio and the database server "
        f"share the machine's {os.cpu_count()} cores. Load average (1, 5, 15 min) at the start "
        f"{started_load}, at the end {_load()}.\n"
    )
    print(
        "| server | offered/s | posted | posted/s | errors | webhook p50 ms | webhook p99 ms "
        "| replies | replies/s | post-to-reply p50 ms | post-to-reply p99 ms |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for server in servers:
        for phase, replies in zip(server.phases, server.replies, strict=True):
            print(_row(server.label, phase, replies))
    _ratios(servers)
    return 0


def _servers(locations: list[str]) -> str:
    hosts = {re.sub(r"^.*@|/.*$", "", loc) for loc in locations if engines.is_url(loc)}
    return ", ".join(sorted(hosts)) or "-"


if __name__ == "__main__":
    raise SystemExit(main())
