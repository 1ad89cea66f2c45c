"""Whether a provider's weekly availability and days off cover a window."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from bot.domain.agency import AvailabilityWindow

DAY_MINUTES = 24 * 60


def _day_segments(start: datetime, end: datetime) -> list[tuple[date, int, int]]:
    """Split a local window into (day, start minute, end minute) pieces, one per calendar day."""
    pieces = []
    cursor = start
    while cursor < end:
        midnight = datetime.combine(
            cursor.date() + timedelta(days=1), datetime.min.time(), tzinfo=cursor.tzinfo
        )
        piece_end = min(end, midnight)
        first = cursor.hour * 60 + cursor.minute
        last = DAY_MINUTES if piece_end == midnight else piece_end.hour * 60 + piece_end.minute
        pieces.append((cursor.date(), first, last))
        cursor = piece_end
    return pieces


def covers(
    windows: Iterable[AvailabilityWindow], days_off: Iterable[date], start: datetime, end: datetime
) -> bool:
    """True when the local window [start, end) is inside weekly windows and on no day off."""
    by_day: dict[int, list[tuple[int, int]]] = {}
    for window in windows:
        by_day.setdefault(window.weekday, []).append((window.start, window.end))
    off = set(days_off)
    for day, first, last in _day_segments(start, end):
        if day in off:
            return False
        if not any(
            lo <= first and last <= hi for lo, hi in _merged(by_day.get(day.weekday(), []))
        ):
            return False
    return True


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Join touching or overlapping spans, so that 08:00-12:00 + 12:00-18:00 covers 10:00-14:00."""
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(spans):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def free_spans(
    windows: Iterable[AvailabilityWindow], days_off: Iterable[date], start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """The parts of a local window that fall inside the weekly windows (days off excluded)."""
    by_day: dict[int, list[tuple[int, int]]] = {}
    for window in windows:
        by_day.setdefault(window.weekday, []).append((window.start, window.end))
    off = set(days_off)
    spans: list[tuple[datetime, datetime]] = []
    for day, first, last in _day_segments(start, end):
        if day in off:
            continue
        midnight = datetime.combine(day, datetime.min.time(), tzinfo=start.tzinfo)
        for lo, hi in _merged(by_day.get(day.weekday(), [])):
            a, b = max(lo, first), min(hi, last)
            if a < b:
                piece = (midnight + timedelta(minutes=a), midnight + timedelta(minutes=b))
                if spans and spans[-1][1] == piece[0]:
                    spans[-1] = (spans[-1][0], piece[1])
                else:
                    spans.append(piece)
    return spans
