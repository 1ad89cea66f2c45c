"""The terminal demo: dated timestamps across midnight, /clock to a time, its own lines in
the language of the person at the terminal."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from bot.agency_file import load_agency_file
from bot.app import Carebot
from bot.clock import VirtualClock
from bot.handlers.console import Console
from bot.root import run_demo
from tests.conftest import AGENCY, ROOT, paris


async def console_at(bot: Carebot, clock: VirtualClock) -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    console = Console(bot, clock, load_agency_file(AGENCY), out)
    await console.start()
    return console, out


def said(out: io.StringIO) -> str:
    text = out.getvalue()
    out.seek(0)
    out.truncate()
    return text


async def test_a_message_after_midnight_shows_its_date(bot: Carebot, clock: VirtualClock) -> None:
    clock.set(paris("2026-11-23 23:30"))
    console, out = await console_at(bot, clock)  # alice, French
    said(out)
    await console.line("menu")
    first = said(out)
    assert "[23:30] -> alice" in first

    await console.line("/clock 2026-11-24 00:15")
    await console.line("menu")
    second = said(out)
    assert "[mardi 24 novembre 00:15] -> alice" in second

    await console.line("menu")
    assert "[00:15] -> alice" in said(out)  # the same day again: the time alone


async def test_clock_goes_to_an_absolute_time_or_forward_by_a_duration(
    bot: Carebot, clock: VirtualClock
) -> None:
    console, out = await console_at(bot, clock)
    await console.line("/clock 2026-12-01 09:00")
    assert clock.now() == paris("2026-12-01 09:00")
    assert "mardi 1 décembre 2026 09:00" in said(out)

    await console.line("/clock +12h")
    assert clock.now() == paris("2026-12-01 21:00")
    await console.line("/clock 90m")
    assert clock.now() == paris("2026-12-01 22:30")

    await console.line("/clock 2026-11-30 09:00")  # the past
    assert clock.now() == paris("2026-12-01 22:30")
    assert "L’horloge ne fait qu’avancer" in said(out)

    await console.line("/clock tomorrow")
    assert clock.now() == paris("2026-12-01 22:30")
    assert "Ce n’est pas une heure" in said(out)


async def test_the_demo_speaks_the_language_of_the_person_at_the_terminal(
    bot: Carebot, clock: VirtualClock
) -> None:
    console, out = await console_at(bot, clock)  # alice writes French
    start = said(out)
    assert "Commandes\u202f:" in start and "Vous êtes Alice" in start
    assert "Commands:" not in start

    await console.line("/pick 7")
    assert "Cette option n’existe pas." in said(out)
    await console.line("/as nobody")
    assert "Personne ne s’appelle 'nobody'" in said(out)

    await console.line("/as chloe")  # an English member
    assert "You are now Chloé Bernard (chloe). [telegram]" in said(out)
    await console.line("/demo-help")
    assert "Commands:" in said(out)
    await console.line("/pick 7")
    assert "No such option." in said(out)
    await console.line("/clock")
    assert "Clock: Monday 23 November 2026 10:00" in said(out)


def lines(*typed: str) -> Iterator[str | None]:
    yield from typed
    while True:
        yield None


async def test_run_demo_from_a_given_start_reads_until_the_end_of_input(tmp_path: Path) -> None:
    typed = lines("/clock 2026-11-24 08:00", "/quit")
    out = io.StringIO()
    code = await run_demo(
        str(tmp_path / "demo.db"),
        AGENCY,
        paris("2026-11-23 22:00").replace(tzinfo=None),
        read=lambda _prompt: next(typed),
        out=out,
    )
    assert code == 0
    text = out.getvalue()
    assert "Horloge\u202f: lundi 23 novembre 2026 22:00" in text
    assert "Horloge\u202f: mardi 24 novembre 2026 08:00" in text


def test_ctrl_c_leaves_the_demo_at_once_without_a_traceback(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "demo", "--db", str(tmp_path / "demo.db")],
        stdin=subprocess.PIPE,  # open, and nothing typed: the demo waits at its prompt
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        # As a background job of a non-interactive shell (or CI) starts it: SIGINT ignored.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    try:
        assert proc.stdout is not None
        seen = b""
        while b"alice> " not in seen:
            chunk = os.read(proc.stdout.fileno(), 4096)  # what is there, without waiting for more
            assert chunk, seen.decode()
            seen += chunk
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=15)  # stdin stays open: no end of input to help it leave
        assert proc.stderr is not None
        err = proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130
    assert b"Traceback" not in err
