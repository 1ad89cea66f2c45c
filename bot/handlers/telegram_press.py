"""A press on a Telegram button, judged before it reaches the flows (stale, foreign, staff
only, not linked), and commands as Telegram writes them."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.agency import Person, Staff
from bot.handlers.telegram_render import option_label
from bot.i18n import N_
from bot.services.ports import OutboxMessage

# What a refused press is told (answerCallbackQuery), and whether as an alert box.
STALE = N_("This button is no longer valid.")
STAFF_ONLY = N_("This action is reserved for agency staff.")
FOREIGN = N_("This button is not for you.")
USED = N_("This choice was already made.")
NOT_LINKED = N_("Your Telegram account is not linked yet: send /start.")
ALERTS = frozenset({STAFF_ONLY, FOREIGN})


def command_text(text: str) -> str:
    """'/book@carebot_bot' is '/book'; '/start <payload>' is '/start' (a deep link's payload
    carries nothing we use)."""
    stripped = text.strip()
    if not stripped.startswith("/"):
        return text
    head, _, rest = stripped.partition(" ")
    head = head.split("@", 1)[0]
    if head.lower() == "/start":
        return "/start"
    return f"{head} {rest}".strip()


@dataclass(frozen=True)
class Verdict:
    """What to do with a press: refuse it (with a message id) or accept it (with its label)."""

    refusal: str | None
    label: str = ""


def judge_press(
    row: OutboxMessage | None, person: Person | None, data: str, *, in_group: bool
) -> Verdict:
    """Whether a press may go to the flows: it must be one of the options of a message we
    sent, to this person (or, in the staff group, pressed by linked staff)."""
    label = option_label(row.options, data) if row is not None else None
    if row is None or label is None:
        return Verdict(STALE)
    if in_group:
        if row.broadcast is None:
            return Verdict(STALE)
        return Verdict(None if isinstance(person, Staff) else STAFF_ONLY, label)
    if person is None:
        return Verdict(NOT_LINKED)
    if row.person_id != person.id:
        return Verdict(FOREIGN)
    return Verdict(None, label)
