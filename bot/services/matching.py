"""Who can take a window: the providers free for all of it, ranked, and those free for part."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.agency import Provider
from bot.domain.availability import covers, free_spans
from bot.domain.ranking import Candidate, rank
from bot.services.desk import Desk
from bot.services.ports import DaySpan

SHOWN = 8  # providers offered at once: a list, not a directory
PARTLY_SHOWN = 3


@dataclass(frozen=True)
class Wanted:
    """A window of a service to find providers for, less those already asked (`exclude`)."""

    service_id: str
    start: datetime
    end: datetime
    exclude: frozenset[str] = frozenset()


def _same_day(desk: Desk, start: datetime, end: datetime) -> DaySpan | None:
    """The window as a span of one local day; None when it runs past local midnight."""
    local_start, local_end = desk.local(start), desk.local(end)
    midnight_after = local_start.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(
        days=1
    )
    if local_end > midnight_after:
        return None
    last = 24 * 60 if local_end == midnight_after else local_end.hour * 60 + local_end.minute
    first = local_start.hour * 60 + local_start.minute
    return DaySpan(start, end, local_start.weekday(), local_start.date(), first, last)


async def available_providers(
    desk: Desk, member_id: str, wanted: Wanted, limit: int = SHOWN
) -> list[Candidate]:
    """Providers who offer the service and are free for the whole window, ranked (rule 1.9).

    A same-day window (nearly all of them) is filtered in SQL, ranked on light keys, and only
    the `limit` best are loaded; a window across midnight takes the general path.
    """
    service_id, start, end, exclude = wanted.service_id, wanted.start, wanted.end, wanted.exclude
    span = _same_day(desk, start, end)
    if span is None:
        busy = await desk.tx.availability.busy(start, end)
        keys = [
            (p.id, p.rating)
            for p in await desk.tx.roster.providers_offering(service_id)
            if p.id not in busy
            and covers(p.availability, p.unavailable, desk.local(start), desk.local(end))
        ]
    else:
        keys = await desk.tx.availability.free(service_id, span)
    keys = [(pid, rating) for pid, rating in keys if pid not in exclude]
    if not keys:
        return []
    known = await desk.tx.availability.had_before(member_id)
    local_start = desk.local(start)
    monday = (local_start - timedelta(days=local_start.weekday())).replace(
        hour=0, minute=0, second=0, microsecond=0
    )

    def group(key: tuple[str, float | None]) -> tuple[bool, float]:
        return key[0] not in known, -(key[1] if key[1] is not None else -1.0)

    # Hours booked only break ties within a (known, rating) group: look them up just for the
    # groups that reach into the best `limit`, not for every free provider.
    keys.sort(key=group)
    cutoff = group(keys[min(limit, len(keys)) - 1])
    contenders = [k for k in keys if group(k) <= cutoff]
    booked = await desk.tx.availability.minutes_booked(
        monday, monday + timedelta(days=7), [pid for pid, _ in contenders]
    )
    best = sorted(contenders, key=lambda k: (*group(k), booked.get(k[0], 0), k[0]))[:limit]
    providers = await desk.tx.roster.providers([pid for pid, _ in best])
    return rank(Candidate(p, p.id in known, booked.get(p.id, 0)) for p in providers)


async def partly_available(
    desk: Desk, wanted: Wanted, limit: int = PARTLY_SHOWN
) -> list[tuple[Provider, list[tuple[datetime, datetime]]]]:
    """The best few providers free for only part of a window, with the parts they can do."""
    span = _same_day(desk, wanted.start, wanted.end)
    if span is None:
        return []  # near misses across midnight are not worth the noise
    exclude = wanted.exclude
    ids = await desk.tx.availability.partly_free(wanted.service_id, span, limit + len(exclude))
    providers = await desk.tx.roster.providers([i for i in ids if i not in exclude][:limit])
    local_start, local_end = desk.local(wanted.start), desk.local(wanted.end)
    return [
        (p, free_spans(p.availability, p.unavailable, local_start, local_end)) for p in providers
    ]
