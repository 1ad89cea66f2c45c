"""When a non-urgent message may be sent (§10.2): outside the quiet hours and not on Sunday."""

from __future__ import annotations

from datetime import datetime, time, timedelta

SUNDAY = 6


def _minutes(moment: datetime) -> int:
    return moment.hour * 60 + moment.minute


def is_quiet(local: datetime, quiet: tuple[int, int]) -> bool:
    """True during the quiet hours (agency time; they may run past midnight) or on a Sunday."""
    if local.weekday() == SUNDAY:
        return True
    start, end = quiet
    m = _minutes(local)
    if start == end:
        return False
    if start > end:  # e.g. 20:00-09:00, across midnight
        return m >= start or m < end
    return start <= m < end


def _at(day: datetime, minutes: int) -> datetime:
    return datetime.combine(day.date(), time(minutes // 60, minutes % 60), tzinfo=day.tzinfo)


def next_allowed(local: datetime, quiet: tuple[int, int]) -> datetime:
    """The first moment from `local` (agency time, aware) at which a non-urgent message may go."""
    moment = local
    for _ in range(16):  # a few steps always suffice: a quiet night, then a Sunday at most
        if not is_quiet(moment, quiet):
            return moment
        if moment.weekday() == SUNDAY:
            moment = _at(moment + timedelta(days=1), 0)
            continue
        start, end = quiet
        if start > end and _minutes(moment) < end:
            moment = _at(moment, end)
        else:
            moment = _at(moment + timedelta(days=1) if start > end else moment, end)
    raise ValueError("no allowed moment: the quiet hours cover the whole day")


def next_morning(after: datetime, quiet: tuple[int, int]) -> datetime:
    """The first end of the quiet hours strictly after `after`, not on a Sunday (daily sweeps)."""
    moment = _at(after, quiet[1])
    while moment <= after or moment.weekday() == SUNDAY:
        moment = _at(moment + timedelta(days=1), quiet[1])
    return moment
