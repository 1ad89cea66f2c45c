"""Every option the flows emit is a packed action that round-trips and works when pressed.

Telegram gives callback data 64 bytes; SMS users type the option's number, which comes back
as the same action (architecture.md, "One action, two channels"). A driver plays
conversations that reach every kind of option (service, provider, confirm / give up,
nobody available, provider yes / no and "which one?", staff offer / close, menu, language,
plus cancel, change, a provider's appointments and the day of care) and checks each option
it sees. Whenever someone receives a message with options, each option is pressed by them,
on a copy of the database, and must not be answered "no longer available".
"""

from __future__ import annotations

import itertools
import sqlite3
from datetime import timedelta
from pathlib import Path

from bot.agency_file import AgencyFileError, parse_agency_toml
from bot.app import Carebot
from bot.clock import VirtualClock
from bot.flows.router import Inbound, Press, Text
from bot.i18n import tr
from bot.root import open_carebot
from bot.services.actions import MAX_BYTES, Action, unpack
from bot.services.ports import OutboxMessage
from tests.conftest import AGENCY, paris

APOLOGY = 'Sorry, something went wrong on our side. Please try again, or type "menu".'
REFUSALS = (
    APOLOGY,
    "This choice is no longer available.",
    "This option is no longer available.",
    "This escalation no longer exists.",
    "You have already answered this request.",
    "This action is reserved for agency staff.",
)
# Every kind of option the booking skeleton (§7), offers (§1.5) and escalations (§3) emit.
KINDS = {
    "bk:s",  # service
    "bk:p",  # provider
    "bk:ok",  # confirm
    "bk:x",  # give up
    "bk:staff",  # nobody available: leave it to the team
    "bk:w",  # nobody available: another time
    "oa:y",  # provider: yes
    "oa:n",  # provider: no
    "eo",  # staff: offer to a provider
    "eu",  # staff: close as unfilled
    "mn:book",
    "mn:bookings",
    "mn:balance",
    "mn:pending",
    "mn:language",
    "mn:help",
    "lg:fr",
    "lg:en",
}


def refusals() -> set[str]:
    return {tr(lang, text) for text in REFUSALS for lang in ("fr", "en")}


def kind(packed: str) -> str:
    act = unpack(packed)
    assert isinstance(act, Action), act
    if act.verb in ("mn", "lg"):
        return f"{act.verb}:{act.args[0]}"
    if act.verb == "bk":
        return f"bk:{act.args[1]}"
    if act.verb == "oa":
        return f"oa:{act.args[1]}"
    return act.verb


class Driver:
    """Plays a conversation and checks every option of every message on the way."""

    def __init__(self, bot: Carebot, clock: VirtualClock, tmp_path: Path) -> None:
        self.bot = bot
        self.clock = clock
        self.tmp_path = tmp_path
        self.copies = itertools.count()
        self.kinds: set[str] = set()
        self.pressed: set[tuple[str, str]] = set()  # (who, action): the menu's come back often

    async def say(self, who: str, inbound: Inbound | str) -> list[OutboxMessage]:
        if isinstance(inbound, str):
            inbound = Text(inbound)
        before = await self.bot.last_outbox_id()
        await self.bot.receive_from(who, inbound)
        return await self._check(before)

    async def advance(self, delta: timedelta) -> list[OutboxMessage]:
        before = await self.bot.last_outbox_id()
        target = self.clock.now() + delta
        await self.bot.fire_due_timers(target, move_clock=True)
        self.clock.set(target)
        return await self._check(before)

    async def pick(self, who: str, message: OutboxMessage, label_part: str) -> list[OutboxMessage]:
        """Press the one option of `message` whose label contains `label_part`."""
        hits = [act for label, act in message.options if label_part in label]
        assert len(hits) == 1, (label_part, message.options)
        return await self.say(who, Press(hits[0]))

    async def _check(self, before: int) -> list[OutboxMessage]:
        sent = await self.bot.outbox_after(before)
        for message in sent:
            assert message.text not in refusals(), message
            self._check_options(message)
        # The latest message with options of each recipient: every option works once.
        latest = {m.person_id: m for m in sent if m.person_id is not None}
        for who, message in latest.items():
            for label, packed in message.options:
                if (who, packed) in self.pressed:
                    continue
                self.pressed.add((who, packed))
                replies = await self._press_on_copy(who, packed)
                assert replies, (who, label, packed)
                for reply in replies:
                    assert reply.text not in refusals(), (who, label, packed, reply.text)
        return sent

    def _check_options(self, message: OutboxMessage) -> None:
        actions = [packed for _, packed in message.options]
        assert len(set(actions)) == len(actions), message.options  # no two the same
        for label, packed in message.options:
            assert isinstance(label, str) and label.strip(), message.options
            assert len(packed.encode()) <= MAX_BYTES, packed
            act = unpack(packed)
            assert act is not None, packed
            assert act.pack() == packed
            self.kinds.add(kind(packed))

    async def _press_on_copy(self, who: str, packed: str) -> list[OutboxMessage]:
        """Press an option as `who` on a copy of the database; what the bot answered them."""
        copy = self.tmp_path / f"copy-{next(self.copies)}.db"
        source, target = sqlite3.connect(self.bot.db.path), sqlite3.connect(copy)
        try:
            source.backup(target)
        finally:
            source.close()
            target.close()
        other = await open_carebot(copy, VirtualClock(self.clock.now()))
        try:
            before = await other.last_outbox_id()
            await other.receive_from(who, Press(packed))
            return [m for m in await other.outbox_after(before) if m.person_id == who]
        finally:
            await other.close()
            for path in (copy, Path(f"{copy}-wal"), Path(f"{copy}-shm")):
                path.unlink(missing_ok=True)


def only(sent: list[OutboxMessage], who: str) -> OutboxMessage:
    mine = [m for m in sent if m.person_id == who]
    assert len(mine) == 1, sent
    return mine[0]


async def test_every_option_round_trips_and_works(
    bot: Carebot, clock: VirtualClock, tmp_path: Path
) -> None:
    d = Driver(bot, clock, tmp_path)

    # Menu, language (alice on Telegram, French).
    await d.say("alice", "menu")
    await d.say("alice", "/language")
    await d.say("sophie", "menu")  # staff have "pending escalations" too

    # Book step by step from the menu: service, window, providers, profile, summary, sent.
    menu = only(await d.say("alice", "menu"), "alice")
    services = only(await d.pick("alice", menu, tr("fr", "Book care")), "alice")
    await d.pick("alice", services, "Garde")
    providers = only(await d.say("alice", "demain de 14h à 18h"), "alice")
    await d.say("alice", "info 1")
    summary = only(await d.pick("alice", providers, "Marie"), "alice")
    sent = await d.pick("alice", summary, tr("fr", "Confirm and send"))
    assert only(sent, "marie").options  # Marie's yes / no

    # A second request to Marie: her typed "OUI" is ambiguous, she is asked which one.
    summary = only(await d.say("david", "garde mercredi de 9h à 12h"), "david")
    summary = only(await d.pick("david", summary, "Marie"), "david")
    await d.pick("david", summary, tr("fr", "Confirm and send"))
    await d.say("marie", "aide")  # (else "OUI" picks the "Oui" option of the latest offer)
    which = only(await d.say("marie", "OUI"), "marie")
    assert len(which.options) == 2
    await d.pick("marie", which, "mardi")  # alice's, Tuesday: confirmed

    # Nobody available (bob, SMS, English): another time, then leave it to the team.
    nobody = only(await d.say("bob", "massage on Sunday 10am to 11am"), "bob")
    await d.pick("bob", nobody, tr("en", "Another time"))
    nobody = only(await d.say("bob", "Sunday 10am to 11am"), "bob")
    await d.say("bob", "7")  # out of range: the same options again
    await d.pick("bob", nobody, tr("en", "Leave it to the team"))

    # A decline: staff get "offer to ..." and "close as unfilled"; Karim offers to Léa.
    providers = only(await d.say("chloe", "I need a babysitter on Thursday 2pm to 6pm"), "chloe")
    summary = only(await d.pick("chloe", providers, "Paul"), "chloe")
    await d.pick("chloe", summary, tr("en", "Confirm and send"))
    sent = await d.say("paul", "no sorry")
    escalation = only(sent, "karim")
    assert any(kind(packed) == "eo" for _, packed in escalation.options)
    sent = await d.pick("karim", escalation, "Léa")
    await d.pick("lea", only(sent, "lea"), tr("fr", "Yes, I confirm"))

    # Cancel and change flows, a provider's appointments, the day of care.
    await d.say("alice", "annuler")
    await d.say("alice", "menu")
    await d.say("alice", "modifier")
    await d.say("alice", "menu")
    await d.say("marie", "mes rendez-vous")
    await d.advance(paris("2026-11-24 13:30") - clock.now())  # alice's arrival prompt
    await d.say("marie", "arrivée")
    await d.advance(timedelta(hours=5))  # after the end: "done?"

    missing = KINDS - d.kinds
    assert not missing, f"the driver no longer reaches {sorted(missing)}"
    assert len(d.pressed) >= 40


async def test_a_staff_menu_and_language_switch_keep_working(
    bot: Carebot, clock: VirtualClock, tmp_path: Path
) -> None:
    """Options still work after the person switched language (labels change, actions not)."""
    d = Driver(bot, clock, tmp_path)
    choose = only(await d.say("sophie", "/language"), "sophie")
    await d.pick("sophie", choose, "English")
    menu = only(await d.say("sophie", "menu"), "sophie")
    assert tr("en", "Pending escalations") in [label for label, _ in menu.options]
    await d.pick("sophie", menu, tr("en", "Pending escalations"))


async def test_ids_the_agency_file_accepts_fit_in_every_action(
    clock: VirtualClock, tmp_path: Path
) -> None:
    long_id = "marie-" + "x" * 56  # lowercase letters and "-": a valid id by the file's rules
    text = AGENCY.read_text(encoding="utf-8")
    assert text.count('id = "marie"') == 1
    try:
        data = parse_agency_toml(text.replace('id = "marie"', f'id = "{long_id}"'), "agency.toml")
    except AgencyFileError as exc:  # refusing it, located, is fine too
        assert (exc.table, exc.key) == ("provider", "id")
        return
    bot = await open_carebot(tmp_path / "long.db", clock)
    try:
        await bot.import_agency(data)
        d = Driver(bot, clock, tmp_path)
        providers = only(
            await d.say("alice", "Je voudrais une garde demain de 14h à 18h"), "alice"
        )
        summary = only(await d.pick("alice", providers, "Marie"), "alice")
        await d.pick("alice", summary, tr("fr", "Confirm and send"))
    finally:
        await bot.close()
