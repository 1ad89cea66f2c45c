"""A weekly series in one message (§8): "tous les mardis de 18h à 20h", "every Tuesday 6-8pm
until June", "pendant 8 semaines"."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime

from bot.nlu.hours import MONTHS, _fold, _hours, _weekdays
from bot.nlu.when import WhenError, parse_when

_EVERY = re.compile(
    r"\b(?:tous les|toutes les|chaque|every|each|les)\s+"
    r"(?:lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|monday|tuesday|wednesday|"
    r"thursday|friday|saturday|sunday)s?\b"
    r"|\b(?:mondays|tuesdays|wednesdays|thursdays|fridays|saturdays|sundays)\b"
    r"|\b(?:lundis|mardis|mercredis|jeudis|vendredis|samedis|dimanches)\b"
    r"|\b(?:weekly|hebdomadaire|toutes les semaines|chaque semaine|every week)\b"
)
_UNTIL = re.compile(r"\b(?:until|till|up to|through|jusqu au|jusqu a|jusqu en|jusqu fin)\s+(.+)$")
_FOR_WEEKS = re.compile(
    r"\b(?:for|pendant|pour|durant|sur)\s+(\d{1,2})\s*(?:weeks?|semaines?|sem)\b"
)
_MONTH_ONLY = re.compile(r"^(?:the end of |la fin |fin )?(?:de |d |of )?(\w+)(?:\s+(\d{4}))?\b")


@dataclass(frozen=True)
class SeriesSpec:
    """What a member asked for: a weekday and a daily window, and how long it runs."""

    weekday: int
    start: int | None  # minutes since midnight
    end: int | None
    until: date | None = None
    weeks: int | None = None


def is_series(text: str) -> bool:
    """Whether a message asks for something every week."""
    return _EVERY.search(_fold(text)) is not None


def parse_series(text: str, now: datetime, lang: str) -> SeriesSpec | None:
    """Read a weekly series from a message; None when it names no single weekday.

    `now` is naive agency time.
    """
    folded = _fold(text)
    if not _EVERY.search(folded):
        return None
    until: date | None = None
    weeks: int | None = None
    body = folded
    found = _FOR_WEEKS.search(body)
    if found:
        weeks = int(found.group(1))
        body = body[: found.start()] + body[found.end() :]
    found = _UNTIL.search(body)
    if found:
        until = _until(found.group(1), now, lang)
        body = body[: found.start()]
    days = _weekdays(body)
    if len(days) != 1:
        return None
    start, end = _hours(body, now, lang)
    return SeriesSpec(days[0], start, end, until, weeks)


def _until(text: str, now: datetime, lang: str) -> date | None:
    """'30 juin', '30 June', 'June', 'la fin de juin' -> the last day the series may run."""
    month = _MONTH_ONLY.match(text.strip())
    if month and month.group(1) in MONTHS:
        number = MONTHS[month.group(1)]
        year = int(month.group(2)) if month.group(2) else now.year
        if not month.group(2) and number < now.month:
            year += 1
        return date(year, number, calendar.monthrange(year, number)[1])
    try:
        return parse_when(text, now, lang).date
    except WhenError:
        return None
