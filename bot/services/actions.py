"""Typed actions: what an option does, packed small enough for Telegram's 64-byte callback data.

An action is a verb (the Verb enum) and its arguments, packed as "verb:arg:arg". The same
string comes back whether the person tapped a button or typed the option's number on SMS, so
both channels reach the same command. Each verb has a shape (how many arguments, which are
ids) checked by `unpack`, which never raises: anything unknown, stale or garbled becomes a
Refused with its reason, which the router answers as a stale choice. The packed form is the
one stored in outbox rows and conversation states since the start, so old buttons still load.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

MAX_BYTES = 64
MAX_ID_DIGITS = 18  # what fits SQLite's INTEGER ("²" or 30 digits do not)


class Verb(StrEnum):
    """Every verb an option may carry (two letters: the budget is 64 bytes)."""

    MENU = "mn"  # a command from the menu: mn:book
    LANGUAGE = "lg"  # lg:fr
    LINK = "ln"  # Telegram's contact keyboard: ln:contact, ln:close
    BOOK = "bk"  # booking flow step: bk:TOKEN:STEP...
    SERIES = "sr"  # recurring care (a weekly series) flow step
    CANCEL = "cx"  # cancel flow step
    CHANGE = "ch"  # change flow step
    HOURS = "av"  # a provider's hours flow step
    MOVE = "mv"  # a provider moving an appointment: mv:TOKEN:STEP...
    ANSWER_OFFER = "oa"  # oa:OFFER:y|n
    REPORT = "in"  # a provider's day-of report: in:REQUEST:WHAT[:VALUE]
    PROVIDER_CANCEL = "pc"  # pc:REQUEST:y|n
    CONTEST = "ct"  # a member contests a charge: ct:REQUEST
    WAIVER = "wv"  # a member asks for a waiver: wv[:REQUEST]
    APPROVE_WAIVER = "wa"  # staff: wa:ESCALATION
    DENY_WAIVER = "wd"
    APPROVE_CHANGE = "ca"
    DENY_CHANGE = "cd"
    STAFF_OFFER = "eo"  # staff: eo:ESCALATION:PROVIDER
    STAFF_UNFILLED = "eu"  # staff: eu:ESCALATION


@dataclass(frozen=True)
class Shape:
    """How many arguments a verb takes, and which positions must be ids."""

    least: int
    most: int
    ids: tuple[int, ...] = ()


STEP = Shape(2, 6, ids=(0,))  # a flow step: the step's token, then what was picked
SHAPES: dict[Verb, Shape] = {
    Verb.MENU: Shape(1, 1),
    Verb.LANGUAGE: Shape(1, 1),
    Verb.LINK: Shape(1, 1),
    Verb.BOOK: STEP,
    Verb.SERIES: STEP,
    Verb.CANCEL: STEP,
    Verb.CHANGE: STEP,
    Verb.HOURS: STEP,
    Verb.MOVE: STEP,
    Verb.ANSWER_OFFER: Shape(2, 2, ids=(0,)),
    Verb.REPORT: Shape(2, 3, ids=(0,)),
    Verb.PROVIDER_CANCEL: Shape(2, 2, ids=(0,)),
    Verb.CONTEST: Shape(0, 1, ids=(0,)),
    Verb.WAIVER: Shape(0, 1, ids=(0,)),
    Verb.APPROVE_WAIVER: Shape(1, 1, ids=(0,)),
    Verb.DENY_WAIVER: Shape(1, 1, ids=(0,)),
    Verb.APPROVE_CHANGE: Shape(1, 1, ids=(0,)),
    Verb.DENY_CHANGE: Shape(1, 1, ids=(0,)),
    Verb.STAFF_OFFER: Shape(2, 2, ids=(0,)),
    Verb.STAFF_UNFILLED: Shape(1, 1, ids=(0,)),
}


@dataclass(frozen=True)
class Action:
    """A verb and its arguments, e.g. Action(Verb.ANSWER_OFFER, ('12', 'y')): offer 12, yes."""

    verb: Verb
    args: tuple[str, ...] = ()

    def pack(self) -> str:
        """The compact form; raises ValueError when it would not fit the callback budget."""
        packed = ":".join((self.verb.value, *self.args))
        if len(packed.encode()) > MAX_BYTES or any(":" in a for a in self.args):
            raise ValueError(f"action does not pack in {MAX_BYTES} bytes: {packed!r}")
        return packed

    def number(self, position: int) -> int:
        """Argument `position` as an id (unpack checked that it is one)."""
        return int(self.args[position])


@dataclass(frozen=True)
class Refused:
    """A payload that is no action of ours (stale, garbled, foreign), and why."""

    data: str
    reason: str


def action(verb: Verb | str, *args: object) -> str:
    """Pack a verb and its arguments."""
    return Action(Verb(verb), tuple(str(a) for a in args)).pack()


def unpack(data: str) -> Action | Refused:
    """Read a packed action back; a Refused (never an exception) for anything else."""
    if not data:
        return Refused(data, "empty")
    if len(data.encode()) > MAX_BYTES:
        return Refused(data, "longer than 64 bytes")
    word, *args = data.split(":")
    try:
        verb = Verb(word)
    except ValueError:
        return Refused(data, "unknown verb")
    shape = SHAPES[verb]
    if not shape.least <= len(args) <= shape.most:
        return Refused(data, "wrong number of arguments")
    for position in shape.ids:
        if position < len(args) and not _is_id(args[position]):
            return Refused(data, f"argument {position + 1} is not an id")
    if any(a.isdigit() and not _is_id(a) for a in args):
        return Refused(data, "a number out of range")
    return Action(verb, tuple(args))


def _is_id(text: str) -> bool:
    """ASCII digits that fit an INTEGER column."""
    return text.isascii() and text.isdigit() and len(text) <= MAX_ID_DIGITS
