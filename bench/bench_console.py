"""Page load time of the console's week view for the large agency (issue 17, target < 1 s).

python bench/bench_console.py [--providers 5000] [--appointments 50000] [--loads 30]

Builds the large benchmark agency, serves the console as `carebot run` does (uvicorn, real
HTTP on loopback), signs in through a one-time link, then times whole page loads of the week
view (request to last byte, server-rendered HTML): the first page, a later page, a filter by
name, and the week after.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import socket
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import Future
from pathlib import Path

import httpx
import uvicorn
from starlette.applications import Starlette

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.large_agency import build
from bot.handlers.webconsole.routes import Console
from bot.services.console_links import ConsoleLinks

SECRET = "bench-secret-" + "b" * 40


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    """Build, serve, sign in, time the pages, print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--providers", type=int, default=5000)
    parser.add_argument("--members", type=int, default=20000)
    parser.add_argument("--appointments", type=int, default=50000)
    parser.add_argument("--loads", type=int, default=30)
    args = parser.parse_args()
    port = _port()
    url = f"http://127.0.0.1:{port}"
    links = ConsoleLinks(SECRET, url)
    ready: Future[tuple[object, uvicorn.Server, str]] = Future()
    loop = asyncio.new_event_loop()

    async def serve(path: Path) -> None:
        started = time.perf_counter()
        bot = await build(path, args.providers, args.members, args.appointments)
        print(f"built in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        console = Console(bot, links)
        await console.gateway.warm()  # as `carebot run` does at start
        server = uvicorn.Server(
            uvicorn.Config(
                Starlette(routes=console.routes()),
                host="127.0.0.1",
                port=port,
                log_level="warning",
                lifespan="off",
            )
        )
        serving = asyncio.ensure_future(server.serve())
        while not server.started:  # noqa: ASYNC110 - uvicorn offers a flag, no event
            await asyncio.sleep(0.01)
        ready.set_result((bot, server, links.link("s0", bot.clock.now())))
        await serving
        await bot.close()

    with tempfile.TemporaryDirectory() as tmp:
        thread = threading.Thread(
            target=loop.run_until_complete, args=(serve(Path(tmp) / "bench.db"),), daemon=True
        )
        thread.start()
        _, server, link = ready.result(600)
        try:
            rows = _measure(url, link, args.loads)
        finally:
            server.should_exit = True
            thread.join(30)
    print(f"\n{args.providers} providers, {args.appointments} appointments over 60 days\n")
    print("| page | loads | p50 ms | p99 ms | max ms | bytes |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, loads, size in rows:
        ordered = sorted(loads)
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        print(
            f"| {name} | {len(loads)} | {statistics.median(loads):.1f} | {p99:.1f} | "
            f"{max(loads):.1f} | {size} |"
        )


def _measure(url: str, link: str, loads: int) -> list[tuple[str, list[float], int]]:
    with httpx.Client(base_url=url, timeout=30) as http:
        page = http.get(link)
        csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
        assert csrf
        token = link.split("?t=", 1)[1]
        signed_in = http.post("/console/signin", data={"t": token, "csrf": csrf.group(1)})
        assert signed_in.status_code == 303, signed_in.text
        out = []
        for name, path in (
            ("week, first page (50 providers)", "/console"),
            ("week, page 60", "/console?page=60"),
            ("week, filtered by name", "/console?q=Provider%2042"),
            ("next week, first page", "/console?day=2026-11-30"),
        ):
            times, size = [], 0
            for _ in range(loads):
                started = time.perf_counter()
                response = http.get(path)
                times.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200
                size = len(response.content)
            out.append((name, times, size))
        return out


if __name__ == "__main__":
    main()
