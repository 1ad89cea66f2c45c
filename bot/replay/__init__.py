"""`carebot replay`: run conversation transcripts on a virtual clock (format: docs/transcripts.md).

Each transcript gets a fresh database (a SQLite file, or a schema of its own on a PostgreSQL
server: see Scratch) and goes through the same flows, use cases, storage and timers as the
live bot; only the network transport is left out.
"""

from __future__ import annotations

import logging
import re
import sys
import tempfile
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TextIO
from zoneinfo import ZoneInfo

from bot.agency_file import AgencyFileError, load_agency_file
from bot.app import Carebot, Opener, apology
from bot.clock import VirtualClock
from bot.domain.agency import AgencyFile, Person
from bot.domain.durations import parse_duration
from bot.flows.router import Press, Text
from bot.i18n import LANGUAGES
from bot.replay.checks import Failed, Malformed, check, parse_moment, person_named
from bot.services.ports import OutboxMessage

_TRAILING_COMMENT = re.compile(r"(\s{2,}|\t)#.*$")
_SAY = re.compile(r"^([A-Za-z0-9_-]+):\s?(.*)$")
_EXPECT = re.compile(r"^=>\s*(\S+)\s*(!~|~|-)\s*(.*)$")


class Scratch(Protocol):
    """Where each transcript keeps its data (bot.root makes it: a file, or a PostgreSQL schema)."""

    async def make(self, folder: Path) -> str | Path:
        """A new, empty database for one transcript (`folder` is its own temporary folder)."""
        ...

    async def drop(self, location: str | Path) -> None:
        """Remove what make() made outside `folder` (a file goes with its folder)."""
        ...


class InFolder:
    """The default Scratch: a SQLite file in the transcript's temporary folder."""

    async def make(self, folder: Path) -> str | Path:
        """replay.db in `folder`."""
        return folder / "replay.db"

    async def drop(self, location: str | Path) -> None:
        """Nothing: the folder goes, and the file with it."""


class _Errors(logging.Handler):
    """Keeps every error the bot logs while a transcript runs: each one fails it."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@dataclass
class Run:
    """The state of one transcript being replayed."""

    path: Path
    out: TextIO
    verbose: bool
    open_bot: Opener
    scratch: Scratch = field(default_factory=InFolder)
    bot: Carebot | None = None
    clock: VirtualClock | None = None
    agency: AgencyFile | None = None
    tz: ZoneInfo | None = None
    step: list[OutboxMessage] = field(default_factory=list)
    step_line: int = 0
    tmp: tempfile.TemporaryDirectory[str] | None = None
    location: str | Path = ""  # the run's database, once @now made it
    strict: bool = False
    # Ids of the current step's messages that some `~` expectation matched (for @strict).
    matched: set[int] = field(default_factory=set)
    errors: _Errors = field(default_factory=_Errors)

    def where(self, number: int) -> str:
        """'file.chat:12' for messages."""
        return f"{self.path}:{number}"


def _strip(line: str) -> str:
    return _TRAILING_COMMENT.sub("", line).strip()


async def run_file(
    path: Path,
    out: TextIO,
    verbose: bool = False,
    *,
    open_bot: Opener,
    scratch: Scratch | None = None,
) -> int:
    """Replay one transcript; 0 = every expectation held, 1 = one failed, 2 = malformed.

    `open_bot` (bot.root.open_carebot) opens the fresh database `scratch` makes for each
    transcript (by default a SQLite file in a temporary folder)."""
    run = Run(path, out, verbose, open_bot, scratch or InFolder())
    number = 0
    logging.getLogger().addHandler(run.errors)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()  # noqa: ASYNC240 - small file
        for number, raw in enumerate(lines, start=1):
            line = _strip(raw)
            if not line or line.startswith("#"):
                continue
            await _step(run, line, number)
        _close_step(run)
        return 0
    except Malformed as exc:
        print(f"{run.where(number)}: malformed transcript: {exc}", file=out)
        return 2
    except Failed as exc:
        print(f"{run.where(exc.line or number)}: {exc}", file=out)
        return 1
    except OSError as exc:
        print(f"{path}: cannot read: {exc}", file=out)
        return 2
    except Exception:
        # A timer's effect raises on the virtual clock (app.fire_due_timers): the bot is broken.
        print(f"{run.where(number)}: the bot raised:\n{traceback.format_exc()}", file=out)
        return 1
    finally:
        logging.getLogger().removeHandler(run.errors)
        if run.bot is not None:
            await run.bot.close()
        if run.location:
            await run.scratch.drop(run.location)
        if run.tmp is not None:
            run.tmp.cleanup()


async def _step(run: Run, line: str, number: int) -> None:
    if line.startswith("@"):
        await _directive(run, line, number)
    elif line.startswith("=>"):
        _expect_message(run, line)
    elif line.startswith("?"):
        await check(line, *_ready(run))
    elif (match := _SAY.match(line)) is not None:
        await _say(run, match.group(1), match.group(2), number)
    else:
        raise Malformed(f"unknown step {line!r}")


def _ready(run: Run) -> tuple[Carebot, VirtualClock, AgencyFile, ZoneInfo]:
    if run.bot is None or run.clock is None or run.agency is None or run.tz is None:
        raise Malformed("@fixture and @now must come before the first step")
    return run.bot, run.clock, run.agency, run.tz


async def _directive(run: Run, line: str, number: int) -> None:
    word, _, arg = line.partition(" ")
    arg = arg.strip()
    if word == "@strict":
        if run.strict or arg:
            raise Malformed("@strict takes no argument and may appear once")
        run.strict = True
        return
    if word == "@fixture":
        if run.agency is not None:
            raise Malformed("@fixture may appear once")
        try:
            run.agency = load_agency_file(run.path.parent / arg)
        except AgencyFileError as exc:
            raise Malformed(str(exc)) from exc
        run.tz = ZoneInfo(run.agency.agency.timezone)
        return
    if word == "@now":
        if run.agency is None or run.tz is None:
            raise Malformed("@now needs @fixture first")
        if run.clock is not None:
            raise Malformed("@now may appear once")
        run.clock = VirtualClock(parse_moment(arg, run.tz))
        run.tmp = tempfile.TemporaryDirectory(prefix="carebot-replay-")
        run.location = await run.scratch.make(Path(run.tmp.name))
        run.bot = await run.open_bot(run.location, run.clock)
        await run.bot.import_agency(run.agency)
        return
    bot, clock, _, tz = _ready(run)
    if word == "@import":
        await _reimport(run, arg, number)
        return
    if word == "@restart":
        # The bot stops and starts again on the same database: what is pending must survive.
        if arg:
            raise Malformed("@restart takes no argument")
        _close_step(run)
        await bot.close()
        assert run.location
        run.bot = await run.open_bot(run.location, clock)
        run.step = []
        return
    if word == "@advance":
        try:
            target = clock.now() + parse_duration(arg)
        except ValueError as exc:
            raise Malformed(str(exc)) from exc
    elif word == "@until":
        target = parse_moment(arg, tz)
    else:
        raise Malformed(f"unknown directive {word}")
    _close_step(run)
    before = await bot.last_outbox_id()
    await bot.fire_due_timers(target, move_clock=True)
    clock.set(target)
    await _record(run, before, number, f"{word} {arg}")


async def _reimport(run: Run, arg: str, number: int) -> None:
    """`@import FILE [--reset-schedules]`: re-import an agency file now, as `carebot import`."""
    bot, _, _, _ = _ready(run)
    words = arg.split()
    reset = "--reset-schedules" in words
    paths = [w for w in words if w != "--reset-schedules"]
    if len(paths) != 1:
        raise Malformed("@import takes one agency file, optionally --reset-schedules")
    try:
        data = load_agency_file(run.path.parent / paths[0])
    except AgencyFileError as exc:
        raise Malformed(str(exc)) from exc
    _close_step(run)
    before = await bot.last_outbox_id()
    await bot.import_agency(data, reset_schedules=reset)
    run.agency = data
    await _record(run, before, number, f"@import {arg}")


async def _say(run: Run, name: str, text: str, number: int) -> None:
    bot, _, agency, _ = _ready(run)
    person = person_named(agency, name)
    _close_step(run)
    before = await bot.last_outbox_id()
    pick = re.fullmatch(r"\[(.*)\]", text.strip())
    if pick is None:
        await bot.receive_from(person.id, Text(text), delivery_id=f"replay:{number}")
    else:
        index, action = await _choose(run, bot, person, pick.group(1), number)
        inbound = Press(action) if person.channel == "telegram" else Text(str(index + 1))
        await bot.receive_from(person.id, inbound, delivery_id=f"replay:{number}")
    await _record(run, before, number, f"{name}: {text}")


async def _choose(
    run: Run, bot: Carebot, person: Person, pattern: str, number: int
) -> tuple[int, str]:
    """The option of the latest message with options that the pattern matches, exactly one."""
    try:
        regex = re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise Malformed(f"bad option pattern {pattern!r}: {exc}") from exc
    latest = None
    for message in await bot.outbox_after(0):
        if message.person_id == person.id and message.options:
            latest = message
    if latest is None:
        raise Failed(f"{person.id} has no message with options to pick [{pattern}] from")
    hits = [(i, act) for i, (label, act) in enumerate(latest.options) if regex.search(label)]
    if len(hits) != 1:
        labels = " | ".join(label for label, _ in latest.options)
        raise Failed(
            f"[{pattern}] matches {len(hits)} options of {person.id}'s latest "
            f"message with options (want exactly 1): {labels}"
        )
    return hits[0]


async def _record(run: Run, before: int, number: int, what: str) -> None:
    bot, clock, _, tz = _ready(run)
    run.step = await bot.outbox_after(before)
    run.step_line = number
    run.matched = set()
    if run.verbose:
        stamp = clock.now().astimezone(tz).strftime("%Y-%m-%d %H:%M")
        print(f"[{stamp}] {what}", file=run.out)
        for message in run.step:
            print(_render(message, "    -> "), file=run.out)
    _no_internal_error(run)


_APOLOGIES = frozenset(apology(lang) for lang in LANGUAGES)


def _no_internal_error(run: Run) -> None:
    """Whatever the mode, an apology for an internal error or a logged error fails the step."""
    if run.errors.records:
        record = run.errors.records[0]
        detail = record.getMessage()
        if record.exc_info is not None:
            detail += "\n" + "".join(traceback.format_exception(*record.exc_info)).rstrip()
        raise Failed(f"the bot logged an error during this step: {detail}")
    if any(m.text in _APOLOGIES for m in run.step):
        raise Failed(f"the bot apologised for an internal error\n{_actual(run)}")


def _close_step(run: Run) -> None:
    """In a strict transcript, every message of the step ending now must have been expected."""
    if not run.strict:
        return
    unmatched = [m for m in run.step if m.id not in run.matched]
    if unmatched:
        body = "\n".join(_render(m, "  ") for m in unmatched)
        raise Failed(
            f"strict: messages of this step matched by no ~ expectation:\n{body}",
            line=run.step_line,
        )


def _render(message: OutboxMessage, prefix: str) -> str:
    who = message.person_id or f"{message.channel}:{message.address}"
    text = message.text.replace("\n", "\n" + " " * (len(prefix) + len(who) + 2))
    lines = [f"{prefix}{who}: {text}"]
    lines += [
        f"{' ' * len(prefix)}  [{i}] {label}"
        for i, (label, _) in enumerate(message.options, start=1)
    ]
    return "\n".join(lines)


def _expect_message(run: Run, line: str) -> None:
    _, _, agency, _ = _ready(run)
    match = _EXPECT.match(line)
    if match is None:
        raise Malformed(f"bad expectation {line!r}")
    name, op, pattern = match.groups()
    if name == "staff":
        wanted = {p.id for p in agency.staff}
    else:
        wanted = {person_named(agency, name).id}
    received = [m for m in run.step if m.person_id in wanted]
    if op == "-":
        if received:
            raise Failed(f"expected {name} to receive nothing\n{_actual(run)}")
        return
    try:
        regex = re.compile(pattern.strip(), re.IGNORECASE)
    except re.error as exc:
        raise Malformed(f"bad pattern {pattern!r}: {exc}") from exc
    hits = [
        m
        for m in received
        if regex.search(m.text) or any(regex.search(label) for label, _ in m.options)
    ]
    hit = bool(hits)
    if op == "~":
        run.matched.update(m.id for m in hits)
    if op == "~" and not hit:
        raise Failed(f"expected a message to {name} matching /{pattern.strip()}/\n{_actual(run)}")
    if op == "!~" and hit:
        raise Failed(f"expected no message to {name} matching /{pattern.strip()}/\n{_actual(run)}")


def _actual(run: Run) -> str:
    if not run.step:
        return f"actual: nothing was sent by the step at line {run.step_line}"
    body = "\n".join(_render(m, "  ") for m in run.step)
    return f"actual (messages of the step at line {run.step_line}):\n{body}"


async def run_files(
    paths: list[Path],
    verbose: bool = False,
    out: TextIO = sys.stdout,
    *,
    open_bot: Opener,
    scratch: Scratch | None = None,
) -> int:
    """Replay several transcripts, each on a fresh database; prints 'N passed, M failed'."""
    passed = failed = 0
    worst = 0
    for path in paths:
        code = await run_file(path, out, verbose, open_bot=open_bot, scratch=scratch)
        if code == 0:
            passed += 1
        else:
            failed += 1
            worst = max(worst, code)
    print(f"{passed} passed, {failed} failed", file=out)
    return worst
