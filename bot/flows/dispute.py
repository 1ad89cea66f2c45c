"""A member contests a cancellation their provider reported (§2.4): 'contest', 'contester'."""

from __future__ import annotations

import re

from bot.domain.agency import Member
from bot.nlu.replies import normalize
from bot.services import disputes
from bot.services.desk import Desk

# The word alone, or followed by the member's reason ("contester je n'ai rien annulé").
_CONTEST = re.compile(r"^(?:je )?(?:contest|contester|conteste|dispute)\b(.*)$")


async def on_press(desk: Desk, member: Member, args: tuple[str, ...]) -> None:
    """The 'Contest' option of a reported cancellation ('ct:<request>')."""
    request_id = int(args[0]) if args and args[0].isdigit() else None
    await disputes.contest(desk, member, request_id)


async def on_text(desk: Desk, member: Member, text: str) -> bool:
    """A typed 'contest' (with an optional reason); False for anything else."""
    match = _CONTEST.match(normalize(text))
    if match is None:
        return False
    reason = text.strip().split(None, 1)[1] if match.group(1).strip() else ""
    await disputes.contest(desk, member, None, reason)
    return True
