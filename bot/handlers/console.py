"""The console channel: chat as anyone on the roster in a terminal, on a virtual clock."""

from __future__ import annotations

import re
import sys
from datetime import timedelta
from typing import TextIO
from zoneinfo import ZoneInfo

from bot.app import Carebot
from bot.clock import VirtualClock
from bot.domain.agency import AgencyFile, Person
from bot.domain.durations import parse_duration
from bot.flows.router import Press, Text
from bot.services.ports import OutboxMessage

HELP = """Commands:
  /as NAME        speak as this person (members, providers, staff: see /who)
  /who            list everyone
  /clock +30m     move the clock forward (timers fire on the way); /clock shows the time
  /pick N         tap option N of the latest message you received with options
  /quit           leave
Anything else is sent as a message from the current person. On SMS, options are
picked by typing their number, as a real SMS user would."""


class Console:
    """A terminal front-end over the same Carebot the live channels use."""

    def __init__(
        self, bot: Carebot, clock: VirtualClock, agency: AgencyFile, out: TextIO = sys.stdout
    ) -> None:
        self.bot = bot
        self.clock = clock
        self.agency = agency
        self.out = out
        self.tz = ZoneInfo(agency.agency.timezone)
        first_member = agency.members[0] if agency.members else agency.people[0]
        self.current: Person = first_member
        self.seen = 0

    def say(self, text: str) -> None:
        """Print a line for the person at the terminal."""
        print(text, file=self.out)

    async def start(self) -> None:
        """Greet and skip messages queued before this session."""
        self.seen = await self.bot.last_outbox_id()
        self.say(f"carebot demo - {self.agency.agency.name}")
        self.say(HELP)
        self._show_now()
        self.say(f"You are {self.current.name} ({self.current.id}).")

    def _show_now(self) -> None:
        self.say(
            f"Clock: {self.clock.now().astimezone(self.tz):%A %d %B %Y %H:%M} "
            f"({self.agency.agency.timezone})"
        )

    async def line(self, text: str) -> bool:
        """Handle one typed line; False when the user wants to leave."""
        text = text.strip()
        if not text:
            return True
        command, _, arg = text.partition(" ")
        if command in ("/quit", "/exit"):
            return False
        if command == "/as":
            self._switch(arg.strip())
        elif command == "/who":
            for p in self.agency.people:
                self.say(f"  {p.id:12} {p.name} ({type(p).__name__.lower()}, {p.channel})")
        elif command == "/clock":
            await self._clock(arg.strip())
        elif command == "/pick":
            await self._pick(arg.strip())
        elif command == "/demo-help":
            self.say(HELP)
        else:
            await self.bot.receive_from(self.current.id, Text(text))
        await self._flush()
        return True

    def _switch(self, name: str) -> None:
        for person in self.agency.people:
            if person.id == name:
                self.current = person
                self.say(f"You are now {person.name} ({person.id}, {person.channel}).")
                return
        self.say(f"Nobody called {name!r}; /who lists everyone.")

    async def _clock(self, arg: str) -> None:
        if arg:
            match = re.fullmatch(r"\+?(\S+)", arg)
            try:
                delta = parse_duration(match.group(1)) if match else timedelta(-1)
            except ValueError as exc:
                self.say(str(exc))
                return
            target = self.clock.now() + delta
            await self.bot.fire_due_timers(target, move_clock=True)
            self.clock.set(target)
        self._show_now()

    async def _pick(self, arg: str) -> None:
        latest = None
        for message in await self.bot.outbox_after(0):
            if message.person_id == self.current.id and message.options:
                latest = message
        if latest is None or not arg.isdigit() or not 1 <= int(arg) <= len(latest.options):
            self.say("No such option.")
            return
        if self.current.channel == "telegram":
            await self.bot.receive_from(self.current.id, Press(latest.options[int(arg) - 1][1]))
        else:
            await self.bot.receive_from(self.current.id, Text(arg))

    async def _flush(self) -> None:
        """Show every message sent since the last look, to whoever it went."""
        for message in await self.bot.outbox_after(self.seen):
            self.seen = message.id
            self.say(render(message, self.clock, self.tz))


def render(message: OutboxMessage, clock: VirtualClock, tz: ZoneInfo) -> str:
    """A message as the console shows it: time, recipient, text, numbered options."""
    who = message.person_id or f"{message.channel}:{message.address}"
    stamp = message.created_at.astimezone(tz).strftime("%H:%M")
    lines = [f"[{stamp}] -> {who} ({message.channel}):"]
    lines += [f"    {line}" for line in message.text.splitlines()]
    lines += [f"    {i}. {label}" for i, (label, _) in enumerate(message.options, start=1)]
    return "\n".join(lines)
