"""The order in which available providers are offered to a member (product rule 1.9)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.domain.agency import Provider


@dataclass(frozen=True)
class Candidate:
    """An available provider with what ranking needs to know about them."""

    provider: Provider
    had_before: bool  # the member already had them and did not cancel on them
    minutes_this_week: int  # already booked in the week of the requested start


def rank(candidates: Iterable[Candidate]) -> list[Candidate]:
    """Known providers first, then by rating, then by fewest hours that week; ties by id."""
    return sorted(
        candidates,
        key=lambda c: (
            not c.had_before,
            -(c.provider.rating if c.provider.rating is not None else -1.0),
            c.minutes_this_week,
            c.provider.id,
        ),
    )
