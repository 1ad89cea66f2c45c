"""The console channel: chat as anyone on the roster in a terminal, on a virtual clock."""

from __future__ import annotations

import sys
from datetime import date, datetime, timedelta
from typing import TextIO
from zoneinfo import ZoneInfo

from bot.app import Carebot
from bot.clock import VirtualClock
from bot.domain.agency import AgencyFile, Person
from bot.domain.durations import parse_duration
from bot.flows.router import Press, Text
from bot.i18n import N_, fmt_day, fmt_time, normalize_language, tr
from bot.services.ports import OutboxMessage

MOMENT = "%Y-%m-%d %H:%M"


# The demo's commands and what they do; each description is its own message so that
# every catalogue entry stays short.
HELP = (
    ("/as ID", N_("speak as this person (members, providers, staff: see /who)")),
    ("/who", N_("list everyone")),
    ("/clock +30m", N_("move the clock forward (timers fire on the way)")),
    ("/clock 2026-12-01 09:00", N_("move the clock to that time (agency time)")),
    ("/clock", N_("show the time")),
    ("/pick N", N_("tap option N of the latest message you received with options")),
    ("/demo-help", N_("this list")),
    ("/quit", N_("leave")),
)


def demo_help(lang: str) -> str:
    """The demo's own commands, in the person's language."""
    lines = [tr(lang, "Commands:")]
    lines += [f"  {command:25} {tr(lang, text)}" for command, text in HELP]
    lines.append(tr(lang, "Anything else is sent as a message from the current person."))
    lines.append(
        tr(lang, "On SMS, pick an option by typing its number, as a real SMS user would.")
    )
    return "\n".join(lines)


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
        # The day of the last message shown: a message on another day shows its date.
        self.shown_day: date = clock.now().astimezone(self.tz).date()

    @property
    def lang(self) -> str:
        """The language of the person at the terminal (theirs, else the agency's)."""
        return normalize_language(self.current.language, self.agency.agency.language)

    def say(self, text: str) -> None:
        """Print a line for the person at the terminal."""
        print(text, file=self.out)

    async def start(self) -> None:
        """Greet and skip messages queued before this session."""
        self.seen = await self.bot.last_outbox_id()
        self.say(tr(self.lang, "carebot demo - {agency}", agency=self.agency.agency.name))
        self.say(demo_help(self.lang))
        self._show_now()
        self.say(
            tr(self.lang, "You are {name} ({id}).", name=self.current.name, id=self.current.id)
        )

    def _show_now(self) -> None:
        now = self.clock.now().astimezone(self.tz)
        day = f"{fmt_day(now, self.lang)} {now.year}"
        clock = tr(self.lang, "Clock: {day} {time}", day=day, time=fmt_time(now, self.lang))
        self.say(f"{clock} ({self.agency.agency.timezone})")

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
            self.say(demo_help(self.lang))
        else:
            await self.bot.receive_from(self.current.id, Text(text))
        await self._flush()
        return True

    def _switch(self, name: str) -> None:
        for person in self.agency.people:
            if person.id == name:
                self.current = person
                said = tr(self.lang, "You are now {name} ({id}).", name=person.name, id=person.id)
                self.say(f"{said} [{person.channel}]")
                return
        self.say(tr(self.lang, "Nobody called {name}; /who lists everyone.", name=repr(name)))

    async def _clock(self, arg: str) -> None:
        if arg:
            target = self._target(arg)
            if target is None:
                return
            await self.bot.fire_due_timers(target, move_clock=True)
            self.clock.set(target)
            await self._flush()  # what the timers sent on the way, before the new time
        self._show_now()

    def _target(self, arg: str) -> datetime | None:
        """Where /clock goes: "+12h" (or "12h") from now, or "YYYY-MM-DD HH:MM" agency time."""
        now = self.clock.now()
        try:
            target = datetime.strptime(arg, MOMENT).replace(tzinfo=self.tz)
        except ValueError:
            try:
                delta = parse_duration(arg.removeprefix("+"))
            except ValueError:
                self.say(
                    tr(
                        self.lang,
                        "Not a time: write /clock +30m, /clock 2h or /clock YYYY-MM-DD HH:MM "
                        "(e.g. /clock {when}).",
                        when=(now + timedelta(days=1)).astimezone(self.tz).strftime(MOMENT),
                    )
                )
                return None
            target = now + delta
        if target < now:
            self.say(tr(self.lang, "The clock only moves forward; it is already later."))
            return None
        return target

    async def _pick(self, arg: str) -> None:
        latest = None
        for message in await self.bot.outbox_after(0):
            if message.person_id == self.current.id and message.options:
                latest = message
        if latest is None or not arg.isdigit() or not 1 <= int(arg) <= len(latest.options):
            self.say(tr(self.lang, "No such option."))
            return
        if self.current.channel == "telegram":
            await self.bot.receive_from(self.current.id, Press(latest.options[int(arg) - 1][1]))
        else:
            await self.bot.receive_from(self.current.id, Text(arg))

    async def _flush(self) -> None:
        """Show every message sent since the last look, to whoever it went."""
        for message in await self.bot.outbox_after(self.seen):
            self.seen = message.id
            local = message.created_at.astimezone(self.tz)
            with_day = local.date() != self.shown_day
            self.shown_day = local.date()
            self.say(render(message, self.tz, lang=self.lang, with_day=with_day))


def render(
    message: OutboxMessage, tz: ZoneInfo, *, lang: str = "en", with_day: bool = False
) -> str:
    """A message as the console shows it: time (with the day when it changed), recipient, text,
    numbered options."""
    who = message.person_id or f"{message.channel}:{message.address}"
    local = message.created_at.astimezone(tz)
    stamp = fmt_time(local, lang)
    if with_day:
        stamp = f"{fmt_day(local, lang)} {stamp}"
    lines = [f"[{stamp}] -> {who} ({message.channel}):"]
    lines += [f"    {line}" for line in message.text.splitlines()]
    lines += [f"    {i}. {label}" for i, (label, _) in enumerate(message.options, start=1)]
    return "\n".join(lines)
