"""Converters of an agency file's values: a raw TOML value in, a checked value out, or _Bad."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from types import MappingProxyType
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

from bot.domain.agency import (
    AvailabilityWindow,
)
from bot.domain.durations import parse_duration, parse_hhmm

T = TypeVar("T")

LANGUAGES = ("fr", "en")
CHANNELS = ("telegram", "sms")
CHANGE_REQUESTS = ("review", "auto")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_IDENTIFIER = re.compile(r"[a-z0-9_-]+")
_CURRENCY = re.compile(r"[A-Z]{3}")
# Two decimals for every currency: enough for EUR, GBP, USD, CHF...; a currency with other
# minor units (JPY: 0, TND: 3) would need a per-currency table here.
_MONEY = re.compile(r"\d+(?:\.\d{1,2})?")
_CENT = Decimal("0.01")
_AVAILABILITY_ROW = re.compile(
    r"(?P<first>[a-z]+)(?:-(?P<last>[a-z]+))? (?P<start>\d{1,2}:\d{2})-(?P<end>\d{1,2}:\d{2})"
)
# Number ranges reserved for fiction, which phonenumbers calls invalid although they are
# the right numbers for demos and tests: UK Ofcom drama range 07700 900000-900999.
_FICTION_RANGES = (("+447700900", 3),)


class _Bad(Exception):
    """What is wrong with a value, before the reader says where the value sits."""


def _show(value: object) -> str:
    """A value roughly as TOML writes it, for error messages."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return str(value)


def _text(value: object) -> str:
    """A non-empty string, trimmed."""
    if not isinstance(value, str) or not value.strip():
        raise _Bad(f"{_show(value)} is not a non-empty string")
    return value.strip()


MAX_ID = 32


def _identifier(value: object) -> str:
    """An id as transcripts and commands write it: lowercase letters, digits, _ and -."""
    if not isinstance(value, str) or not _IDENTIFIER.fullmatch(value):
        raise _Bad(f'{_show(value)} is not an id (lowercase letters, digits, "_" and "-")')
    if len(value) > MAX_ID:
        # Ids travel inside Telegram buttons, whose data is capped at 64 bytes.
        raise _Bad(f"{_show(value)} is longer than {MAX_ID} characters")
    return value


def _one_of(options: tuple[str, ...]) -> Callable[[object], str]:
    """A converter accepting exactly one of `options`."""

    def convert(value: object) -> str:
        if isinstance(value, str) and value in options:
            return value
        raise _Bad(f"{_show(value)} is not one of {', '.join(map(_show, options))}")

    return convert


_language = _one_of(LANGUAGES)
_channel = _one_of(CHANNELS)
_change_requests = _one_of(CHANGE_REQUESTS)


def _boolean(value: object) -> bool:
    """true or false."""
    if not isinstance(value, bool):
        raise _Bad(f"{_show(value)} is not true or false")
    return value


def _whole_number(minimum: int) -> Callable[[object], int]:
    """A converter accepting a TOML integer of at least `minimum`."""

    def convert(value: object) -> int:
        # bool is an int in Python; `credits = true` is a mistake, not 1.
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise _Bad(f"{_show(value)} is not a whole number of at least {minimum}")
        return value

    return convert


def _rating(value: object) -> float:
    """A number from 0 to 5."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 5:
        raise _Bad(f"{_show(value)} is not a number from 0 to 5")
    return float(value)


def _parsed(parse: Callable[[str], T], expected: str) -> Callable[[object], T]:
    """A converter of strings by `parse` (which raises ValueError); `expected` completes
    "... is not" in the complaint."""

    def convert(value: object) -> T:
        if isinstance(value, str):
            try:
                return parse(value)
            except ValueError:
                pass
        raise _Bad(f"{_show(value)} is not {expected}")

    return convert


# A duration string like "30m", "3h", "5d" or "1h30m".
_duration = _parsed(parse_duration, 'a duration like "30m", "3h" or "5d"')


def _durations(value: object) -> tuple[timedelta, ...]:
    """A list of distinct durations, e.g. reminder offsets."""
    durations = tuple(_list(value, _duration))
    if len(set(durations)) != len(durations):
        raise _Bad("lists the same duration twice")
    return durations


# A time of day "HH:MM" as minutes since midnight.
_time_of_day = _parsed(parse_hhmm, 'a time of day like "20:00"')


def _time_span(value: object) -> tuple[int, int]:
    """Two times of day "HH:MM-HH:MM" (the end may be on the next day) as minutes."""
    if isinstance(value, str) and value.count("-") == 1:
        first, second = value.split("-")
        try:
            start, end = parse_hhmm(first.strip()), parse_hhmm(second.strip())
        except ValueError:
            pass
        else:
            if start != end:
                return start, end
    raise _Bad(f'{_show(value)} is not a span of the day like "20:00-09:00"')


def _money(value: object) -> Decimal:
    """A quoted amount like "40.00": not negative, at most 2 decimals."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        # TOML numbers become floats, and floats are not exact amounts.
        raise _Bad(f'{value} must be quoted, like "{value:.2f}": amounts are strings')
    if not isinstance(value, str) or not _MONEY.fullmatch(value.strip()):
        raise _Bad(f'{_show(value)} is not an amount like "40.00" (not negative, 2 decimals)')
    return Decimal(value.strip()).quantize(_CENT)


def _price(value: object) -> Decimal:
    """An amount greater than zero."""
    amount = _money(value)
    if not amount:
        raise _Bad(f"{_show(value)} must be more than 0")
    return amount


def _currency(value: object) -> str:
    """A three-letter uppercase ISO 4217 code like "EUR"."""
    if not isinstance(value, str) or not _CURRENCY.fullmatch(value):
        raise _Bad(f'{_show(value)} is not a currency code like "EUR" (3 uppercase letters)')
    return value


def _timezone(value: object) -> str:
    """An IANA time zone name like "Europe/Paris"."""
    # "localtime" is the server's zone, which says nothing about where the agency is.
    if isinstance(value, str) and value != "localtime":
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass
        else:
            return value
    raise _Bad(f'{_show(value)} is not an IANA time zone like "Europe/Paris"')


def _phone(value: object) -> str:
    """A phone number in international form, returned as E.164 ("+33612345678")."""
    if isinstance(value, str) and value.strip().startswith("+"):
        try:
            number = phonenumbers.parse(value.strip(), None)
        except phonenumbers.NumberParseException:
            number = None
        if number is not None and (phonenumbers.is_valid_number(number) or _is_fiction(number)):
            return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
    raise _Bad(f"{_show(value)} is not a valid E.164 phone number")


def _is_fiction(number: phonenumbers.PhoneNumber) -> bool:
    """Whether the number lies in a range reserved for fiction (see _FICTION_RANGES)."""
    e164 = str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
    return any(
        e164.startswith(prefix) and len(e164) == len(prefix) + digits and e164[1:].isdigit()
        for prefix, digits in _FICTION_RANGES
    )


def _day(value: object) -> date:
    """A whole day: a TOML date (2026-11-26) or an ISO string ("2026-11-26")."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise _Bad(f'{_show(value)} is not a date like "2026-11-26"')


def _days(value: object) -> frozenset[date]:
    """A list of whole days, e.g. a provider's days off."""
    return frozenset(_list(value, _day))


def _translations(*, required: bool) -> Callable[[object], Mapping[str, str]]:
    """A converter for a { fr = "...", en = "..." } table; `required` wants one at least."""

    def convert(value: object) -> Mapping[str, str]:
        if not isinstance(value, Mapping):
            raise _Bad(f'{_show(value)} is not a table like {{ fr = "...", en = "..." }}')
        texts: dict[str, str] = {}
        for lang, text in value.items():
            if lang not in LANGUAGES:
                raise _Bad(f'unknown language {_show(lang)}: use "fr" and "en"')
            texts[lang] = _text(text)
        if required and not texts:
            raise _Bad('needs a text in "fr" or "en" at least')
        return MappingProxyType(texts)

    return convert


def _list(value: object, convert: Callable[[object], T]) -> list[T]:
    """Each item of a TOML list, converted."""
    if not isinstance(value, list):
        raise _Bad(f"{_show(value)} is not a list [ ... ]")
    return [convert(item) for item in value]


def _service_ids(known: frozenset[str]) -> Callable[[object], str]:
    """A converter accepting the id of a [[service]] of the file."""

    def convert(value: object) -> str:
        if isinstance(value, str) and value in known:
            return value
        raise _Bad(f"unknown service {_show(value)} (known: {', '.join(sorted(known))})")

    return convert


def _availability(value: object) -> tuple[AvailabilityWindow, ...]:
    """Rows like "mon-fri 08:00-19:00", expanded per weekday and merged where they touch."""
    windows = [window for rows in _list(value, _availability_row) for window in rows]
    return _merge_windows(windows)


def _availability_row(value: object) -> list[AvailabilityWindow]:
    """One row: a day or a forward day range, then one window; the end may be "24:00"."""
    example = '"mon-fri 08:00-19:00" or "sat 09:00-13:00"'
    text = " ".join(value.lower().split()) if isinstance(value, str) else ""
    match = _AVAILABILITY_ROW.fullmatch(text)
    if match is None:
        raise _Bad(f"{_show(value)} is not an availability row like {example}")
    first, last = match["first"], match["last"] or match["first"]
    for day in (first, last):
        if day not in WEEKDAYS:
            raise _Bad(f"{_show(value)}: {_show(day)} is not a day ({', '.join(WEEKDAYS)})")
    if WEEKDAYS.index(last) < WEEKDAYS.index(first):
        # A wrapping range is more likely a typo than a week running sunday to monday.
        raise _Bad(f"{_show(value)}: day ranges run forward from mon to sun; split it in two")
    try:
        start = parse_hhmm(match["start"])
        end = parse_hhmm(match["end"], allow_midnight_end=True)
    except ValueError as exc:
        raise _Bad(f"{_show(value)}: {exc}") from None
    if end <= start:
        raise _Bad(f"{_show(value)}: the window must end after it starts (24:00 for midnight)")
    days = range(WEEKDAYS.index(first), WEEKDAYS.index(last) + 1)
    return [AvailabilityWindow(weekday, start, end) for weekday in days]


def _merge_windows(windows: list[AvailabilityWindow]) -> tuple[AvailabilityWindow, ...]:
    """Sort windows and merge those that overlap or touch, since several rows add up."""
    merged: list[AvailabilityWindow] = []
    for window in sorted(windows, key=lambda w: (w.weekday, w.start)):
        last = merged[-1] if merged else None
        if last is not None and last.weekday == window.weekday and window.start <= last.end:
            merged[-1] = replace(last, end=max(last.end, window.end))
        else:
            merged.append(window)
    return tuple(merged)
