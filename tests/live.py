"""Helpers for tests that start a real `carebot run`: a free port, and waiting until healthy."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any


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
