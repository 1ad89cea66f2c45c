"""Helpers for tests that start a real `carebot run`: a clean environment, a free port,
importing an agency, starting the process and waiting until it is healthy, stopping it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

from bot.app import Carebot
from bot.clock import SystemClock
from bot.root import open_carebot

ROOT = Path(__file__).resolve().parent.parent


@asynccontextmanager
async def opened(db: Path | str) -> AsyncIterator[Carebot]:
    """A Carebot on a run's database, on the system clock (to set things up); closed after."""
    bot = await open_carebot(db, SystemClock())
    try:
        yield bot
    finally:
        await bot.close()


def clean_env(**settings: str) -> dict[str, str]:
    """This process's environment without any CAREBOT_ setting, plus these ones."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAREBOT_")}
    return env | settings


def import_agency(agency: Path, db: Path | str) -> None:
    """`carebot import` an agency file into a database (created if need be)."""
    imported = subprocess.run(
        [sys.executable, "-m", "bot", "import", str(agency), "--db", str(db)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert imported.returncode == 0, imported.stderr


def carebot_cli(*argv: str | Path) -> subprocess.CompletedProcess[str]:
    """Run one `carebot` command (as `python -m bot`) to its end; its output as text."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *map(str, argv)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        timeout=120,
    )


def start_run(port: int, env: dict[str, str], log: Path | None) -> subprocess.Popen[bytes]:
    """`carebot run` on `port`; its log appended to `log` (a file: a pipe nobody reads fills
    up), or kept in a pipe when there is no file and little to say."""
    command = [sys.executable, "-m", "bot", "run", "--port", str(port)]
    if log is None:
        return subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
    with log.open("ab") as stderr:
        return subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=stderr
        )


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop gracefully (SIGTERM), or kill after 10 s."""
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


@contextmanager
def carebot_run(
    port: int, env: dict[str, str], log: Path | None = None
) -> Iterator[tuple[subprocess.Popen[bytes], dict[str, Any]]]:
    """A healthy `carebot run` and its /healthz answer; stopped on the way out."""
    process = start_run(port, env, log)
    try:
        yield process, wait_healthy(port, process, log)
    finally:
        stop(process)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(
    port: int, process: subprocess.Popen[bytes], log: Path | None = None, within: float = 20.0
) -> dict[str, Any]:
    """/healthz of the bot on `port` once it answers; fails with its output if it died."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if process.poll() is not None:
            said = (
                log.read_text(errors="replace")[-3000:]
                if log is not None
                else (process.stderr.read().decode(errors="replace") if process.stderr else "")
            )
            raise AssertionError(f"carebot run died:\n{said}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as answer:
                return dict(json.load(answer))
        except OSError:
            time.sleep(0.05)
    raise AssertionError("carebot run never became healthy")
