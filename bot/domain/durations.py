"""Durations ("30m", "3h", "5d", "3w") and times of day ("HH:MM") as agency files write them."""

from __future__ import annotations

import re
from datetime import timedelta

# Units from largest to smallest, each at most once and in this order, so that every
# duration has one canonical spelling ("1d2h30m") and typos like "30mh" are refused.
_DURATION = re.compile(r"(?:(?P<w>\d+)w)?(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?")
_HHMM = re.compile(r"(?P<h>\d{1,2}):(?P<m>\d{2})")

MINUTES_PER_DAY = 24 * 60


def parse_duration(text: str) -> timedelta:
    """Parse "30m", "3h", "24h", "5d", "3w" or a combination like "1h30m" into a timedelta."""
    match = _DURATION.fullmatch(text.strip())
    if match is None or not any(match.groupdict().values()):
        raise ValueError(
            f'"{text}" is not a duration: use whole weeks, days, hours and minutes like "30m", '
            '"3h", "5d", "3w" or "1h30m"'
        )
    weeks, days, hours, minutes = (int(match.group(unit) or 0) for unit in "wdhm")
    return timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes)


def format_duration(duration: timedelta) -> str:
    """Write a duration the way parse_duration reads it, e.g. "1h30m" ("0m" for zero)."""
    if duration < timedelta(0):
        raise ValueError(f"a duration cannot be negative: {duration}")
    if duration % timedelta(minutes=1):
        raise ValueError(f"a duration must be whole minutes: {duration}")
    total_minutes = duration // timedelta(minutes=1)
    days, rest = divmod(total_minutes, MINUTES_PER_DAY)
    hours, minutes = divmod(rest, 60)
    parts = [f"{n}{unit}" for n, unit in ((days, "d"), (hours, "h"), (minutes, "m")) if n]
    return "".join(parts) or "0m"


def parse_hhmm(text: str, *, allow_midnight_end: bool = False) -> int:
    """Parse "HH:MM" (24-hour) into minutes since midnight; "24:00" only if allowed."""
    match = _HHMM.fullmatch(text.strip())
    if match is not None:
        hours, minutes = int(match.group("h")), int(match.group("m"))
        if hours < 24 and minutes < 60:
            return hours * 60 + minutes
        # "24:00" is how a window that runs to midnight ends; it is never a start time.
        if allow_midnight_end and (hours, minutes) == (24, 0):
            return MINUTES_PER_DAY
    latest = "24:00" if allow_midnight_end else "23:59"
    raise ValueError(f'"{text}" is not a time of day "HH:MM" between 00:00 and {latest}')


def format_hhmm(minutes: int) -> str:
    """Write minutes since midnight as "HH:MM" (1440 becomes "24:00")."""
    if not 0 <= minutes <= MINUTES_PER_DAY:
        raise ValueError(f"{minutes} minutes is not a time of day")
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
