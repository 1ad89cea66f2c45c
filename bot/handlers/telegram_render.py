"""How outbox messages look on Telegram: escaped HTML, keyboards, the pressed choice, commands.

Everything the flows write is plain text, so it is all escaped: Telegram HTML then shows it
exactly as written, whatever a person typed into a name or a note. Options become an inline
keyboard whose callback data is the packed action itself (at most 64 bytes), except the two
linking markers of bot.services.linking, which become Telegram's contact button and its
removal.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from bot.i18n import N_, tr
from bot.services.actions import MAX_BYTES
from bot.services.desk import Option
from bot.services.linking import ASK_CONTACT, CLOSE_KEYBOARD

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove

MAX_TEXT = 4096  # Telegram's limit, in UTF-16 code units of the text after entity parsing
MAX_LABEL = 120  # longer button labels are cut: clients show a line or two anyway
CUT = "…"

# (command, description) in the order Telegram shows them; descriptions are translated.
MEMBER_COMMANDS: tuple[tuple[str, str], ...] = (
    ("start", N_("Start, or link your Telegram account")),
    ("book", N_("Book care")),
    ("bookings", N_("My bookings")),
    ("cancel", N_("Cancel a booking")),
    ("change", N_("Change a booking")),
    ("balance", N_("My balance and session credits")),
    ("language", N_("Français / English")),
    ("help", N_("What I can do")),
    ("menu", N_("Main menu")),
)
PROVIDER_COMMANDS: tuple[tuple[str, str], ...] = (("today", N_("Carers: my appointments")),)
STAFF_COMMANDS: tuple[tuple[str, str], ...] = (
    ("pending", N_("Staff: escalations waiting")),
    ("unresolved", N_("Staff: past appointments not settled")),
)


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _cut(text: str, limit: int) -> str:
    """`text` cut to `limit` UTF-16 code units (Telegram's measure), with an ellipsis."""
    if _utf16(text) <= limit:
        return text
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit - 1:  # room for the ellipsis
            return text[:index].rstrip() + CUT
    return text


def html_text(text: str, footer: str = "") -> str:
    """Plain text as Telegram HTML, every character escaped; an optional bold last line.

    The body is cut so that the whole fits Telegram's 4096 characters, footer included.
    """
    tail = f"\n\n{footer}" if footer else ""
    body = _cut(text, MAX_TEXT - _utf16(tail))
    escaped = html.escape(body, quote=False)
    if footer:
        escaped += f"\n\n<b>{html.escape(footer, quote=False)}</b>"
    return escaped


def is_inline(options: Sequence[Option]) -> bool:
    """Whether these options become an inline keyboard (whose presses we must recognise)."""
    return bool(options) and not any(act in (ASK_CONTACT, CLOSE_KEYBOARD) for _, act in options)


def check_callback_data(data: str) -> str:
    """A packed action as callback data; ValueError beyond Telegram's 64 bytes (or empty)."""
    if not data or len(data.encode()) > MAX_BYTES:
        raise ValueError(f"callback data must be 1 to {MAX_BYTES} bytes: {data!r}")
    return data


def markup(options: Sequence[Option]) -> Markup | None:
    """The keyboard for a message's options: one button per row, in the flows' order."""
    if not options:
        return None
    for label, act in options:
        if act == ASK_CONTACT:
            button = KeyboardButton(_cut(label, MAX_LABEL), request_contact=True)
            return ReplyKeyboardMarkup([[button]], resize_keyboard=True, one_time_keyboard=True)
        if act == CLOSE_KEYBOARD:
            return ReplyKeyboardRemove()
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    _cut(label, MAX_LABEL) or "·", callback_data=check_callback_data(act)
                )
            ]
            for label, act in options
        ]
    )


def option_label(options: Sequence[Option], data: str) -> str | None:
    """The label of the option whose packed action is `data`; None when there is none."""
    return next((label for label, act in options if act == data), None)


def chosen_line(lang: str, label: str, by: str | None = None) -> str:
    """The line that replaces a pressed keyboard: '✓ <label>' (and who, in the staff group)."""
    if by is None:
        return f"✓ {label}"
    return "✓ " + tr(lang, "{choice} (by {name})", choice=label, name=by)


def bot_commands(lang: str, commands: Sequence[tuple[str, str]]) -> list[BotCommand]:
    """Commands with their descriptions in `lang`, as setMyCommands wants them."""
    return [BotCommand(name, tr(lang, description)) for name, description in commands]
