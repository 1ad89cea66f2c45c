"""Packed actions: what an option does, small enough for Telegram's 64-byte callback data.

The same string comes back whether the person tapped a button or typed the option's
number on SMS, so both channels reach the same command.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_BYTES = 64


@dataclass(frozen=True)
class Action:
    """A verb and its arguments, e.g. Action('oa', ('12', 'y')) = answer offer 12 with yes."""

    verb: str
    args: tuple[str, ...]

    def pack(self) -> str:
        """The compact form, checked against the callback-data limit."""
        packed = ":".join((self.verb, *self.args))
        if len(packed.encode()) > MAX_BYTES or any(":" in a for a in self.args):
            raise ValueError(f"action does not pack in {MAX_BYTES} bytes: {packed!r}")
        return packed


def action(verb: str, *args: object) -> str:
    """Pack a verb and its arguments."""
    return Action(verb, tuple(str(a) for a in args)).pack()


def unpack(data: str) -> Action | None:
    """Read a packed action back; None for anything malformed or foreign."""
    if not data or len(data.encode()) > MAX_BYTES:
        return None
    verb, *args = data.split(":")
    if not verb.isalpha():
        return None
    # Numeric arguments are ids: ASCII digits that fit SQLite's INTEGER ("²" or 30 digits do not).
    if any(a.isdigit() and not (a.isascii() and len(a) <= 18) for a in args):
        return None
    return Action(verb, tuple(args))
