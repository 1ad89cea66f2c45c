"""Read a French or English care-visit date/time range ("demain de 14h à 18h", "fri 10-2").

Our own regex grammar reads times, ranges, durations and the common date forms; dateparser
supplies the month and weekday vocabulary and is the (cached) fallback for a date fragment
around a month name that the grammar cannot place. The conventions are written down in
docs/parsers.md.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from itertools import pairwise
from typing import Literal

import dateparser
from dateparser.languages import default_loader

from bot.nlu.spoken import spoken_times
from bot.nlu.typos import correct_words

__all__ = ["When", "WhenError", "named_day", "parse_when", "when_to_json"]


@dataclass(frozen=True)
class When:
    """A care slot: the day it starts, and its start and end as naive local times."""

    date: date
    start: datetime | None
    end: datetime | None


class WhenError(ValueError):
    """The text holds no usable date range; .reason is a short machine code like 'no_date'."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def when_to_json(when: When) -> dict[str, str | None]:
    """Render a When as {"date": "YYYY-MM-DD", "start": "YYYY-MM-DDTHH:MM" | None, "end": ...}."""
    return {
        "date": when.date.isoformat(),
        "start": _iso_minutes(when.start),
        "end": _iso_minutes(when.end),
    }


def _iso_minutes(moment: datetime | None) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M")


# --------------------------------------------------------------------------- normalisation

_DASHES_RE = re.compile("[\u2010-\u2015\u2212\ufe58\ufe63\uff0d]")
_APOSTROPHES_RE = re.compile("[\u2018\u2019\u201b\u2032`\u00b4]")
_COMBINING_RE = re.compile("[\u0300-\u036f]")
# Anything left outside printable ASCII (emoji, other scripts, control characters) becomes a
# space, so that it separates words instead of gluing them together.
_NON_ASCII_RE = re.compile(r"[^\x20-\x7e]+")
_SPACES_RE = re.compile(r" {2,}")
_ISO_T_RE = re.compile(r"(?<=[0-9])t(?=[0-9])")
# "24h/24", "24/7", "7j/7" mean round-the-clock care: neither a date nor a time.
# "one-to-one care" is not 1 o'clock to 1 o'clock either.
_ROUND_THE_CLOCK_RE = re.compile(
    r"\b(?:24 ?h? ?/ ?24|24 ?/ ?7|7 ?j? ?/ ?7|(?:one|1) ?-? ?(?:to|on) ?-? ?(?:one|1))\b"
)


_VULGAR_FRACTIONS = str.maketrans(
    {"\u00bd": " 1/2", "\u00bc": " 1/4", "\u00be": " 3/4", "\u2044": "/"}
)


def _fold(text: str) -> str:
    """Lower-case ASCII with accents removed: 'Après-midi' -> 'apres-midi'."""
    text = _DASHES_RE.sub("-", text)
    text = _APOSTROPHES_RE.sub("'", text).translate(_VULGAR_FRACTIONS)
    # NFKD splits accents off and folds look-alikes (full-width digits, ligatures).
    text = _COMBINING_RE.sub("", unicodedata.normalize("NFKD", text))
    return _NON_ASCII_RE.sub(" ", text).lower()


# "0900-1300", "0930": four-digit times, only where they cannot be a year.
_HHMM = r"(?:[01][0-9]|2[0-3])[0-5][0-9]"
_MILITARY_RE = re.compile(
    rf"\b(?P<a>{_HHMM}) ?h?(?P<sep> ?(?:-|to|till|until|a) ?)(?P<b>{_HHMM})\b"
    r"|\b(?P<c>0[0-9][0-5][0-9])\b"
)


def _military(match: re.Match[str]) -> str:
    if match["c"]:
        return f"{match['c'][:2]}:{match['c'][2:]}"
    a, b = match["a"], match["b"]
    return f"{a[:2]}:{a[2:]}{match['sep']}{b[:2]}:{b[2:]}"


def _normalize(text: str, lang: str) -> str:
    text = _ISO_T_RE.sub(" ", _fold(text))  # "2026-12-20t14:00" -> "2026-12-20 14:00"
    text = _MILITARY_RE.sub(_military, text)
    text = _ROUND_THE_CLOCK_RE.sub(" ", text)
    # Typed words to the vocabulary ("deamin" -> "demain"), then spoken times to digits.
    text = correct_words(text, lang)
    return _SPACES_RE.sub(" ", spoken_times(text)).strip()


# --------------------------------------------------------------------------- vocabulary

_MONTH_KEYS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
_WEEKDAY_KEYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# Spellings people type that dateparser's locale data lacks.
_EXTRA_MONTHS = {"fev": 2, "fevr": 2, "aout": 8, "sept": 9, "decembre": 12}
_EXTRA_WEEKDAYS = {"tues": 1, "weds": 2, "thur": 3, "thurs": 3}


def _locale_words(lang: str, keys: tuple[str, ...], first: int) -> dict[str, int]:
    """Words of dateparser's `lang` locale for `keys`, numbered from `first`."""
    info = default_loader.get_locale(lang).info
    words: dict[str, int] = {}
    for number, key in enumerate(keys, start=first):
        for word in info.get(key) or ():
            folded = _fold(str(word)).strip(". ")
            # Two-letter forms ("me", "je", "sa", "di") are everyday words in chat text.
            if len(folded) >= 3:
                words[folded] = number
    return words


_MONTHS = {
    **_locale_words("en", _MONTH_KEYS, 1),
    **_locale_words("fr", _MONTH_KEYS, 1),
    **_EXTRA_MONTHS,
}
_EN_WEEKDAYS = {**_locale_words("en", _WEEKDAY_KEYS, 0), **_EXTRA_WEEKDAYS}
_FR_WEEKDAYS = _locale_words("fr", _WEEKDAY_KEYS, 0)
_WEEKDAYS = {**_EN_WEEKDAYS, **_FR_WEEKDAYS}
# "mar" is March in English and mardi in French: the `lang` of the message decides.
_MONTH_OR_WEEKDAY = frozenset(_MONTHS) & frozenset(_WEEKDAYS)

_NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "un": 1, "une": 1, "two": 2, "deux": 2, "three": 3, "trois": 3,
    "four": 4, "quatre": 4, "five": 5, "cinq": 5, "six": 6, "seven": 7, "sept": 7, "eight": 8,
    "huit": 8, "nine": 9, "neuf": 9, "ten": 10, "dix": 10, "eleven": 11, "onze": 11,
    "twelve": 12, "douze": 12,
}  # fmt: skip


def _alternation(words: Iterable[str]) -> str:
    # Longest first, so that "decembre" wins over "dec".
    return "|".join(re.escape(word) for word in sorted(words, key=len, reverse=True))


_MONTH_ALT = _alternation(_MONTHS)
_WEEKDAY_ALT = _alternation(_WEEKDAYS)
_FR_WEEKDAY_ALT = _alternation(_FR_WEEKDAYS)
_NUMBER_ALT = _alternation(_NUMBER_WORDS)

# --------------------------------------------------------------------------- text buffer


class _Text:
    """The normalised message; consumed spans are blanked so later passes do not re-read them."""

    def __init__(self, text: str) -> None:
        self.text = text

    def blank(self, start: int, end: int) -> None:
        self.text = self.text[:start] + " " * (end - start) + self.text[end:]

    def take(self, pattern: re.Pattern[str]) -> re.Match[str] | None:
        """Blank and return the first match of `pattern`."""
        match = pattern.search(self.text)
        if match:
            self.blank(*match.span())
        return match


# --------------------------------------------------------------------------- durations

_QTY_NUMBER = (
    rf"(?:[0-9]{{1,2}} )?[13]/[24]|[0-9]{{1,3}}(?:[.,][0-9]{{1,2}})?|half an?|une demie?"
    rf"|a couple(?: of)?|{_NUMBER_ALT}"
)
_HOUR_UNIT = r"hours?|hrs?|heures?|h"
_MINUTE_UNIT = r"minutes?|mins?|mn"
# "2 hours", "1h30", "two and a half hours", "an hour and a quarter", "une heure et quart",
# "an hour and ten (minutes)", "three quarters of an hour", "trois quarts d'heure".
_QTY_PARTS_RE = re.compile(
    rf"(?:(?P<n>{_QTY_NUMBER})(?P<n_half> (?:and|n|&) a half| et demie?)? ?-?"
    rf"(?:(?P<hours>{_HOUR_UNIT})(?: ?(?P<mm>[0-9]{{2}}))?|(?P<minutes>{_MINUTE_UNIT}))\b"
    r"(?: (?:and|n|&|et) (?:(?P<half>a half|demie?)|(?P<quarter>a quarter|quart|le quart)"
    rf"|(?P<and_m>[0-9]{{1,2}})(?: ?(?:{_MINUTE_UNIT})\b)?))?"
    r"|(?P<quarters>(?:[0-9] |an? |un |une )?(?:quarters?|quarts?)) (?:of an? |of |d'|d )?"
    r"(?:hour|heure)\b)"
)
_QTY = _QTY_PARTS_RE.pattern.replace("?P<", "?P<q_")  # the same grammar, embeddable
_HEDGE = r"(?:about |around |approx |approximately |environ |a peu pres |~ ?)?"
_RELATIVE_START_RE = re.compile(rf"\b(?:in|dans|d'ici) {_HEDGE}(?P<qty>{_QTY})")
_DURATION_RE = re.compile(rf"\b(?P<cue>for|pendant|pour|durant|during) {_HEDGE}(?P<qty>{_QTY})")
# Without a cue only the English word units are a duration ("a 3 hour visit"): in French
# "14 heures" is a clock time.
_BARE_DURATION_RE = re.compile(
    # Not an end of a range ("14hrs-18hrs").
    rf"(?<![-/] )(?<![-/])\b(?P<qty>(?:{_QTY_NUMBER})(?: and a half)? ?-?(?:hours?|hrs?)\b"
    r"(?: and a half)?)(?! ?[-/] ?[0-9])"
)
# "pour 14h" is a time ("someone for 2pm") unless the text already gives a start.
_CLOCKLIKE_QTY_RE = re.compile(r"(?P<h>[0-9]{1,2}) ?h(?: ?(?P<m>[0-9]{2}))?")


@dataclass(frozen=True)
class _Duration:
    minutes: int
    clock: _Clock | None  # the same words read as a start time, for "pour 14h"


def _quantity_minutes(text: str) -> int | None:
    match = _QTY_PARTS_RE.fullmatch(text)
    if match is None:
        return None
    if match["quarters"]:
        count = match["quarters"][0]
        return 15 * (int(count) if count.isdigit() else 1)
    raw = match["n"]
    if raw[-2:] in ("/2", "/4"):  # "1 1/2", "3/4"
        whole, _, fraction = raw.rpartition(" ")
        amount = int(whole or 0) + int(fraction[0]) / int(fraction[-1])
    elif raw[0].isdigit():
        amount = float(raw.replace(",", "."))
    elif raw.startswith(("half", "une demi")):
        amount = 0.5
    elif raw.startswith("a couple"):
        amount = 2.0
    else:
        amount = float(_NUMBER_WORDS[raw])
    if match["n_half"]:
        amount += 0.5
    minutes = amount * 60 if match["hours"] else amount
    if match["mm"]:
        minutes += int(match["mm"])
    if match["half"]:
        minutes += 30
    if match["quarter"]:
        minutes += 15
    if match["and_m"] and match["hours"]:
        minutes += int(match["and_m"])
    return round(minutes) or None


def _take_relative_start(text: _Text) -> int | None:
    """Minutes from now for "in 3 hours" / "dans 2h"."""
    match = text.take(_RELATIVE_START_RE)
    return None if match is None else _quantity_minutes(match["qty"])


def _take_duration(text: _Text) -> _Duration | None:
    match = text.take(_DURATION_RE)
    if match is None:
        bare = text.take(_BARE_DURATION_RE)
        minutes = None if bare is None else _quantity_minutes(bare["qty"])
        return None if minutes is None else _Duration(minutes, None)
    minutes = _quantity_minutes(match["qty"])
    if minutes is None:
        return None
    clock = None
    clocklike = _CLOCKLIKE_QTY_RE.fullmatch(match["qty"])
    if match["cue"] == "pour" and clocklike:
        clock = _make_clock(clocklike["h"], int(clocklike["m"] or 0), True, None)
    return _Duration(minutes, clock)


# --------------------------------------------------------------------------- day parts

_Hint = Literal["morning", "afternoon", "evening", "night"]
# Greetings ("good evening", "bonne soirée") say nothing about the slot.
_NOT_GREETING = r"(?<!good )(?<!bonne )"
_DAYPART_RES: tuple[tuple[_Hint, re.Pattern[str]], ...] = (
    ("afternoon", re.compile(rf"{_NOT_GREETING}\b(?:afternoon|apres ?-? ?midi|aprem)\b")),
    ("evening", re.compile(rf"{_NOT_GREETING}\b(?:evening|tonight|tonite|soir(?:ee)?)\b")),
    ("night", re.compile(rf"{_NOT_GREETING}\b(?:night|overnight|nuit)\b")),
    ("morning", re.compile(rf"{_NOT_GREETING}\b(?:morning|matin(?:ee)?|avant ?-? ?midi)\b")),
)


def _find_daypart(text: str) -> _Hint | None:
    for hint, pattern in _DAYPART_RES:
        if pattern.search(text):
            return hint
    return None


def _blank_dayparts(text: _Text) -> None:
    # Must happen before reading times: "apres-midi" contains "midi" (noon).
    for _, pattern in _DAYPART_RES:
        for match in list(pattern.finditer(text.text)):
            text.blank(*match.span())


# --------------------------------------------------------------------------- dates


@dataclass(frozen=True)
class _Weekday:
    weekday: int  # Monday is 0
    weeks_ahead: int  # 0: nearest such day still ahead; n: that day in the n-th next week


_DateSpec = date | _Weekday

# A number that is a clock time, not a day of the month: "15h", "15:00", "3pm", "9 heures".
_TIME_AHEAD = r"(?! ?(?:[:.h][0-9]|h\b|heures?\b|[ap]\.? ?m\b|o'? ?clock))"
_ORDINAL = r"(?:st|nd|rd|th|er|eme|e)?"
_DAY_NUMBER = r"[0-9]{1,2}|premier|first"  # "le premier décembre", "the first of May"
# What follows a number that starts a time range: "the 9 to 5 shift" holds no day.
_RANGE_AHEAD = r"(?! ?(?:[-/]|to\b|a\b|au\b|till?\b|until\b|jusqu|et\b|and\b))"
# In French "le 13 à 9h" is a day and its time: "à" after "le 13" starts no range.
_FR_RANGE_AHEAD = r"(?! ?(?:[-/]|till?\b|until\b|jusqu|et\b|and\b))"

_ISO_RE = re.compile(r"\b(?P<y>[0-9]{4})[-/.](?P<m>[0-9]{1,2})[-/.](?P<d>[0-9]{1,2})(?![0-9])")
_NUMERIC_RE = re.compile(
    r"(?<![0-9/.:h])(?P<d>[0-9]{1,2})/(?P<m>[0-9]{1,2})(?:/(?P<y>[0-9]{4}|[0-9]{2}))?(?![0-9/h])"
    r"|(?<![0-9/.:])(?P<d2>[0-9]{1,2})\.(?P<m2>[0-9]{1,2})\.(?P<y2>[0-9]{4}|[0-9]{2})(?![0-9])"
)
_DAY_MONTH_RE = re.compile(
    rf"\b(?:the )?(?P<d>{_DAY_NUMBER}){_ORDINAL} ?(?:of |de )?(?P<mon>{_MONTH_ALT})\b\.?"
    r"(?:,? (?P<y>[0-9]{4})\b)?"
)
_MONTH_DAY_RE = re.compile(
    rf"\b(?P<mon>{_MONTH_ALT})\b\.?,? (?:the )?(?P<d>{_DAY_NUMBER}){_ORDINAL}\b{_TIME_AHEAD}"
    r"(?:,? (?P<y>[0-9]{4})\b)?"
)
_RELATIVE_DAY_RES: tuple[tuple[int, re.Pattern[str]], ...] = (
    (2, re.compile(r"\b(?:(?:the )?day after tomorrow|apres ?-? ?demain)\b")),
    (1, re.compile(r"\b(?:tomorrow|tmrw?|tmr|2morrow|demain)\b")),
    (
        0,
        re.compile(
            r"\b(?:today|tonight|tonite|aujourd ?'? ?hui|auj|ce soir|cette nuit|ce matin"
            r"|cet apres ?-? ?midi|this (?:morning|afternoon|evening)|a (?:soir|matin)"
            r"|cet avant ?-? ?midi)\b|\bce(?= midi\b)"
        ),
    ),
)
_IN_DAYS_RE = re.compile(rf"\b(?:in|dans) (?P<n>[0-9]{{1,3}}|{_NUMBER_ALT}) (?:days?|jours?)\b")
# "the 18th", "le 18", "on the 3rd" (not "le 18h"), and "samedi 12" checked against the weekday.
_DAY_OF_MONTH_RE = re.compile(
    rf"\b(?:on the|the) (?P<d>[0-9]{{1,2}}){_ORDINAL}\b{_TIME_AHEAD}{_RANGE_AHEAD}"
    rf"|\ble (?P<d3>[0-9]{{1,2}})(?:er|eme|e)?\b{_TIME_AHEAD}{_FR_RANGE_AHEAD}"
    r"|\b(?P<d2>[0-9]{1,2})(?:st|nd|rd|th|er)\b"
)
_FR_WEEKDAY_DAY_RE = re.compile(
    rf"\b(?P<wd>{_FR_WEEKDAY_ALT})\.? (?P<d>[0-9]{{1,2}})(?:er)?\b{_TIME_AHEAD}{_FR_RANGE_AHEAD}"
)
_WEEKDAY_RE = re.compile(rf"\b(?P<wd>{_WEEKDAY_ALT})(?P<plural>s)?\b\.?")
_WEEKS_AHEAD_RE = re.compile(
    r"\b(?:(?:of |on )?(?:the )?next week|(?:de )?la semaine (?:prochaine|pro|d'apres)"
    r"|semaine (?:prochaine|pro))\b"
    r"|\b(?P<two>(?:in|dans) (?:2|two|deux) (?:weeks|semaines)|(?:the )?week after next)\b"
)
_VAGUE_RE = re.compile(
    r"\b(?:weeks?|months?|week-?end|semaines?|mois|soon|asap|later|sometime|whenever"
    r"|bientot|prochainement|plus tard|au plus vite|des que possible)\b"
)
_MONTH_WORD_RE = re.compile(rf"\b(?:{_MONTH_ALT})\b")


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _year(raw: str | None) -> int | None:
    if raw is None:
        return None
    return int(raw) + 2000 if len(raw) == 2 else int(raw)


def _next_occurrence(month: int, day: int, today: date) -> date | None:
    """The day/month on or after today (a date without a year is its next occurrence)."""
    for year in (today.year, today.year + 1, today.year + 2, today.year + 3, today.year + 4):
        found = _safe_date(year, month, day)  # 29 February needs a leap year
        if found is not None and found >= today:
            return found
    return None


def _day_month(day: str, month: int, year: str | None, today: date) -> date | None:
    number = int(day) if day.isdigit() else 1  # "premier", "first"
    explicit_year = _year(year)
    if explicit_year is None:
        return _next_occurrence(month, number, today)
    return _safe_date(explicit_year, month, number)


def _next_day_of_month(day: int, today: date) -> date | None:
    year, month = today.year, today.month
    for _ in range(13):
        found = _safe_date(year, month, day)
        if found is not None and found >= today:
            return found
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return None


def _iso_date(match: re.Match[str], today: date) -> date | None:
    return _safe_date(int(match["y"]), int(match["m"]), int(match["d"]))


def _numeric_date(match: re.Match[str], today: date) -> date | None:
    day, month = match["d"] or match["d2"], match["m"] or match["m2"]
    year = match["y"] if match["d"] else match["y2"]
    if int(month) > 12 >= int(day):
        day, month = month, day  # "12/15" cannot be day first; read it the US way
    return _day_month(day, int(month), year, today)


def _named_month_date(match: re.Match[str], today: date) -> date | None:
    return _day_month(match["d"], _MONTHS[match["mon"]], match["y"], today)


def _day_of_month_date(match: re.Match[str], today: date) -> date | None:
    return _next_day_of_month(int(match["d"] or match["d2"] or match["d3"]), today)


def _fr_weekday_day_date(match: re.Match[str], today: date) -> date | None:
    # "samedi 12" is the 12th only when the 12th is a Saturday; else "12" may be a time.
    found = _next_day_of_month(int(match["d"]), today)
    if found is None or found.weekday() != _WEEKDAYS[match["wd"]]:
        return None
    return found


# Named days: their date, next occurrence. "le réveillon" alone is the nearer of the 24th
# and the 31st of December.
_YEARS = r"years?'?s?"
_NAMED_DAY_RE = re.compile(
    r"\b(?:(?P<eve>(?:christmas|noel) eve|(?:la )?veille de noel|(?:le )?reveillon de noel)"
    rf"|(?P<nye>new {_YEARS} eve|nye|(?:la )?(?:saint|st) ?-? ?sylvestre"
    r"|(?:le )?reveillon (?:du |de la |de l'|de )?(?:nouvel an|jour de l'an|31|an"
    r"|(?:saint|st) ?-? ?sylvestre)|veille du jour de l'an)"
    r"|(?P<boxing>boxing day|lendemain de noel)"
    r"|(?P<xmas>christmas(?: day)?|(?:le )?jour de noel|noel)"
    rf"|(?P<ny>new {_YEARS}(?: day)?|(?:le )?jour de l'an|(?:le )?nouvel an"
    r"|(?:le )?premier de l'an|1er de l'an)"
    r"|(?P<either>(?:le )?reveillon))\b"
)
_NAMED_DAYS = {
    "eve": (12, 24),
    "nye": (12, 31),
    "boxing": (12, 26),
    "xmas": (12, 25),
    "ny": (1, 1),
}


def _named_day_date(match: re.Match[str], today: date) -> date | None:
    if match["either"]:
        found = [_next_occurrence(12, day, today) for day in (24, 31)]
        return min(day for day in found if day is not None)
    name = match.lastgroup or "xmas"
    return _next_occurrence(*_NAMED_DAYS[name], today)


_Reader = Callable[[re.Match[str], date], date | None]
# Unmistakable dates, most explicit first. They are blanked even when impossible
# ("31 février"), so that their numbers are not read as times or days instead.
_EXPLICIT_READERS: tuple[tuple[re.Pattern[str], _Reader], ...] = (
    (_NAMED_DAY_RE, _named_day_date),
    (_ISO_RE, _iso_date),
    (_NUMERIC_RE, _numeric_date),
    (_DAY_MONTH_RE, _named_month_date),
    (_MONTH_DAY_RE, _named_month_date),
)
# A day of the month without its month ("le 18", "samedi 12") ranks below "demain".
_DAY_OF_MONTH_READERS: tuple[tuple[re.Pattern[str], _Reader], ...] = (
    (_FR_WEEKDAY_DAY_RE, _fr_weekday_day_date),
    (_DAY_OF_MONTH_RE, _day_of_month_date),
)
_EXPLICIT_DATE_RES = tuple(pattern for pattern, _ in _EXPLICIT_READERS)


def _read_dates(
    text: _Text,
    today: date,
    lang: str,
    readers: tuple[tuple[re.Pattern[str], _Reader], ...],
    strict: bool,
) -> date | None:
    found: date | None = None
    for pattern, reader in readers:
        if pattern is _NAMED_DAY_RE and not any(n in text.text for n in _NAMED_DAY_NEEDLES):
            continue
        for match in list(pattern.finditer(text.text)):
            if pattern is _MONTH_DAY_RE and match["mon"] in _MONTH_OR_WEEKDAY and lang == "fr":
                continue  # "mar 15" in French is mardi 15
            value = reader(match, today)
            if value is not None or strict:
                text.blank(*match.span())
            found = found or value
    return found


def _read_relative_day(text: _Text, today: date) -> date | None:
    found: date | None = None
    for offset, pattern in _RELATIVE_DAY_RES:
        match = text.take(pattern)
        if match is not None and found is None:
            found = today + timedelta(days=offset)
    in_days = text.take(_IN_DAYS_RE)
    if in_days is not None and found is None:
        raw = in_days["n"]
        days = int(raw) if raw.isdigit() else _NUMBER_WORDS[raw]
        found = today + timedelta(days=days)
    return found


def _read_weekday(text: _Text, lang: str) -> _Weekday | None:
    # "next week" alone is vague; with a weekday it picks that day in the next calendar week.
    ahead = text.take(_WEEKS_AHEAD_RE)
    weeks = 0 if ahead is None else 2 if ahead["two"] else 1
    for match in _WEEKDAY_RE.finditer(text.text):
        word = match["wd"]
        if word in _MONTH_OR_WEEKDAY and lang != "fr":
            continue  # "mar" alone in English is March
        if match["plural"] and match.group().rstrip(".") in _MONTHS:
            continue  # "mars" is March, not "mardis"
        text.blank(*match.span())
        return _Weekday(_WEEKDAYS[word], weeks)
    return None


# A day already gone: refused, unless the text also names one ahead ("hier ... demain").
_PAST_RE = re.compile(
    rf"\b(?:yesterday|(?:avant ?-? ?)?hier|day before yesterday|last (?:night|{_WEEKDAY_ALT})"
    rf"|(?:{_WEEKDAY_ALT}) (?:dernier|passe))\b"
)


# Cheap substring tests before the costlier patterns: most messages hold none of these.
_PAST_NEEDLES = ("hier", "yesterday", "last", "dernier", "passe")
_NAMED_DAY_NEEDLES = (
    "noel", "christmas", "year", "nye", "sylvestre", "reveillon", "boxing", "l'an", "nouvel",
)  # fmt: skip


def _take_date(text: _Text, today: date, lang: str) -> _DateSpec | None:
    past = text.take(_PAST_RE) if any(n in text.text for n in _PAST_NEEDLES) else None
    found = _take_future_date(text, today, lang)
    if found is None and past is not None:
        raise WhenError("past")
    return found


def _take_future_date(text: _Text, today: date, lang: str) -> _DateSpec | None:
    explicit = _read_dates(text, today, lang, _EXPLICIT_READERS, strict=True)
    relative = _read_relative_day(text, today)
    day_of_month = _read_dates(text, today, lang, _DAY_OF_MONTH_READERS, strict=False)
    weekday = _read_weekday(text, lang)
    for found in (explicit, relative, day_of_month):
        if found is not None:
            return found
    if weekday is not None:
        return weekday
    return _fallback_date(text.text, today, lang)


# dateparser is slow (milliseconds), so it only sees the few words around a month name our
# grammar could not place, and each fragment is parsed once per day.
_FRAGMENT_WORD_RE = re.compile(r"[a-z]+|[0-9]{1,4}[a-z]{0,3}")


def _fallback_date(text: str, today: date, lang: str) -> date | None:
    month = _MONTH_WORD_RE.search(text)
    if month is None:
        return None
    before = _FRAGMENT_WORD_RE.findall(text[max(0, month.start() - 24) : month.start()])[-3:]
    after = _FRAGMENT_WORD_RE.findall(text[month.end() : month.end() + 24])[:3]
    fragment = " ".join([*before, month.group(), *after])
    return _dateparser_date(fragment, today, "fr" if lang == "fr" else "en")


@lru_cache(maxsize=2048)
def _dateparser_date(fragment: str, today: date, lang: str) -> date | None:
    other = "en" if lang == "fr" else "fr"
    try:
        parsed = dateparser.parse(
            fragment,
            languages=[lang, other],
            settings={
                "RELATIVE_BASE": datetime(today.year, today.month, today.day),
                "PREFER_DATES_FROM": "future",
                "DATE_ORDER": "DMY",
                "REQUIRE_PARTS": ["day", "month"],
            },
        )
    except (ValueError, OverflowError):
        return None  # a third-party parser on free text: an odd fragment is just "no date"
    return None if parsed is None else parsed.date()


def _resolve_day(spec: _DateSpec, now: datetime, start: int | None) -> date:
    """The calendar day of `spec`; a weekday is the nearest one whose start is still ahead."""
    if isinstance(spec, date):
        return spec
    today = now.date()
    if spec.weeks_ahead:
        monday = today - timedelta(days=today.weekday())
        return monday + timedelta(days=7 * spec.weeks_ahead + spec.weekday)
    day = today + timedelta(days=(spec.weekday - today.weekday()) % 7)
    # Without a time the day has already begun, so "friday" said on a Friday is next week's.
    if day == today and (start is None or _at(today, start) <= now):
        day += timedelta(days=7)
    return day


def _at(day: date, minutes: int) -> datetime:
    return datetime(day.year, day.month, day.day) + timedelta(minutes=minutes)


# --------------------------------------------------------------------------- clock times

_Kind = Literal["fixed", "literal", "ambiguous"]


@dataclass(frozen=True)
class _Clock:
    """A time of day as written: fixed (14:00, 3pm), literal (French 9h) or ambiguous (9)."""

    minutes: int
    kind: _Kind

    def readings(self) -> tuple[int, int]:
        """Its am and pm readings, for an hour written 1-12."""
        am = self.minutes % 720
        return am, am + 720


_DAY = 24 * 60
_MER = r"(?:a\.? ?m|p\.? ?m)\b\.?"


def _half_group(name: str) -> str:
    """Optional "et demie" / "et quart" after an hour ("9h et demie", "midi et quart")."""
    return rf"(?: et (?P<{name}>demie?|quart))?"


_H_HALF, _W_HALF, _S_HALF = _half_group("h_half"), _half_group("w_half"), _half_group("s_half")
_CLOCK_WORDS = {
    word: number for word, number in _NUMBER_WORDS.items() if word not in {"a", "an", "un", "une"}
}
# "une" is a clock time only as "une heure"; "a"/"an"/"un" never are.
_CLOCK_WORD_ALT = _alternation(_CLOCK_WORDS) + "|une(?= heure)"
_TOKEN_RE = re.compile(
    # 14:30, 7.30am, 14:00h, 14h30, 14 h 30, 14 heures 30 (but not "10h 14h")
    rf"(?P<clock>\b(?P<c_h>[0-9]{{1,2}})"
    rf"(?:[:.](?P<c_m>[0-9]{{2}})(?![0-9])(?: ?h\b)?"
    rf"|(?P<c_hsep> ?(?:h|heures?) ?)(?P<c_m2>[0-9]{{2}})(?![0-9])(?! ?h\b))"
    rf"(?: ?(?P<c_mer>{_MER}))?)"
    # 14h, 9 heures, 3 o'clock, 9h et demie
    rf"|(?P<hour>\b(?P<h_h>[0-9]{{1,2}}) ?(?P<h_unit>h|hrs?|heures?|o'? ?clock)\b"
    rf"(?: ?(?P<h_mer>{_MER}))?{_H_HALF})"
    rf"|(?P<mer>\b(?P<m_h>[0-9]{{1,2}})(?: ?(?P<m_mer>{_MER})|(?P<m_ap>[ap])\b))"
    rf"|(?P<word>\b(?P<w_word>noon|midday|midi|midnight|minuit)\b{_W_HALF})"
    rf"|(?P<spelled>\b(?P<s_n>{_CLOCK_WORD_ALT})\b(?: ?(?P<s_unit>o'? ?clock|heures?)\b)?"
    rf"(?: ?(?P<s_mer>{_MER}))?{_S_HALF})"
    r"|(?P<num>\b[0-9]{1,2}\b)"
    r"|(?P<sep>-|/|\b(?:to|till?|until|through|thru|a|au|and|et|jusqu ?'? ?(?:a|au))\b)"
    r"|(?P<cue>@|\b(?:at|from|de|des|between|entre|vers|around|about|starting|du)\b)"
    r"|(?P<other>[a-z0-9']+|\S)"
)
_CLOCK_KINDS = frozenset({"clock", "hour", "mer", "word", "spelled", "num"})
# Written as a time beyond doubt: when such a one is impossible the text is refused.
_WRITTEN_CLOCKS = frozenset({"clock", "hour", "mer"})
# A bare number is a time only after one of these ("at 8", "à 8", "vers 9").
_SINGLE_CUES = frozenset({"at", "@", "a", "vers", "around", "about", "starting", "des", "from"})
_BETWEEN_CUES = frozenset({"between", "entre"})
# "until 5pm" / "avant 10h" bound the slot; they are not its start.
_NOT_START = frozenset({"until", "till", "til", "jusqua", "jusquau", "before", "avant", "by"})


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    clock: _Clock | None


def _meridiem(hour: int, minute: int, mer: str) -> _Clock:
    if hour > 12 or hour == 0:
        return _Clock(hour * 60 + minute, "fixed")  # "14pm", "0am": the number says it all
    pm = mer.startswith("p")
    return _Clock((hour % 12 + (12 if pm else 0)) * 60 + minute, "fixed")


def _make_clock(raw_hour: str, minute: int, literal: bool, mer: str | None) -> _Clock | None:
    hour = int(raw_hour)
    if hour > 24 or minute > 59 or (hour == 24 and minute):
        return None
    if mer:
        return _meridiem(hour, minute, mer)
    if hour == 0 or hour >= 13 or (len(raw_hour) == 2 and raw_hour[0] == "0"):
        return _Clock(hour * 60 + minute, "fixed")
    # French "9h" is 09:00 and "1h" 01:00; "9", "9:30" or "9 o'clock" could be either.
    return _Clock(hour * 60 + minute, "literal" if literal else "ambiguous")


def _half(raw: str | None) -> int:
    return 0 if raw is None else 15 if raw == "quart" else 30


def _token_clock(match: re.Match[str]) -> _Clock | None:
    if match["clock"]:
        minute = int(match["c_m"] or match["c_m2"])
        return _make_clock(match["c_h"], minute, bool(match["c_hsep"]), match["c_mer"])
    if match["hour"]:
        literal = match["h_unit"] in ("h", "heure", "heures")  # "6 hrs" is English: open
        return _make_clock(match["h_h"], _half(match["h_half"]), literal, match["h_mer"])
    if match["mer"]:
        # "9a-1p": a single letter counts only when glued to the number ("9 a" is "9 à").
        return _make_clock(match["m_h"], 0, False, match["m_mer"] or match["m_ap"])
    if match["word"]:
        noon = match["w_word"] in {"noon", "midday", "midi"}
        return _Clock((720 if noon else 0) + _half(match["w_half"]), "fixed")
    if match["spelled"]:
        hour = str(_CLOCK_WORDS.get(match["s_n"], 1))  # only "une" is missing: une heure
        return _make_clock(hour, _half(match["s_half"]), False, match["s_mer"])
    return _make_clock(match["num"], 0, False, None)


def _token_kind(match: re.Match[str]) -> str:
    kind = match.lastgroup or "other"
    # A spelled number with no unit ("at nine") needs a cue, like a bare digit.
    if kind == "spelled" and not (match["s_unit"] or match["s_mer"] or match["s_half"]):
        return "num"
    return kind


def _tokens(text: str) -> list[_Token]:
    tokens = []
    for match in _TOKEN_RE.finditer(text):
        kind = _token_kind(match)
        clock = _token_clock(match) if kind in _CLOCK_KINDS else None
        if kind in _WRITTEN_CLOCKS and clock is None:
            raise WhenError("invalid_time")  # "25h", "14h75": what cannot be is refused
        if kind in _CLOCK_KINDS and clock is None:
            kind = "other"
        tokens.append(_Token(kind, match.group(), clock))
    return tokens


def _find_range(tokens: list[_Token]) -> tuple[_Clock, _Clock] | None:
    for first, last in pairwise(tokens):
        # Two written times side by side are a range: "19h 22h", "8 h 10 h".
        if first.clock and last.clock and {first.kind, last.kind} <= _WRITTEN_CLOCKS:
            return first.clock, last.clock
    for i in range(len(tokens) - 2):
        first, sep, last = tokens[i : i + 3]
        if first.clock is None or last.clock is None or sep.kind != "sep":
            continue
        # "and"/"et" join a range only after "between"/"entre" ("9h et 11h" may be two times).
        if sep.text in {"and", "et"} and (i == 0 or tokens[i - 1].text not in _BETWEEN_CUES):
            continue
        return first.clock, last.clock
    return None


def _find_single(tokens: list[_Token]) -> _Clock | None:
    starts = [
        (tokens[i - 1].text if i else "", token)
        for i, token in enumerate(tokens)
        if token.clock is not None and not (i and _squeeze(tokens[i - 1].text) in _NOT_START)
    ]
    for _, token in starts:
        if token.kind != "num":
            return token.clock
    for before, token in starts:
        if before in _SINGLE_CUES:
            return token.clock
    return None


def _squeeze(word: str) -> str:
    return word.replace(" ", "").replace("'", "")


# --------------------------------------------------------------------------- am/pm inference


def _care_hours(clock: _Clock) -> int:
    """Most plausible reading of a bare hour: 7-11 in the morning, 12-6 in the afternoon."""
    am, pm = clock.readings()
    return am if 7 * 60 <= am < 12 * 60 else pm


def _shortest_from(start: int, candidates: tuple[int, int]) -> int:
    return min(candidates, key=lambda end: (end - start) % _DAY or _DAY)


def _with_hint(clock: _Clock, hint: _Hint) -> int:
    am, pm = clock.readings()
    hour = clock.minutes // 60
    if hint == "morning":
        return am
    if hint == "night":
        return pm if 6 <= hour < 12 else am
    return pm


def _start_minutes(start: _Clock, end: _Clock | None, hint: _Hint | None) -> int:
    if start.kind == "fixed":
        return start.minutes % _DAY  # "24h" as a start is midnight
    if hint is not None and (start.kind == "ambiguous" or hint != "morning"):
        return _with_hint(start, hint)
    if start.kind == "literal":
        return start.minutes
    if end is not None and end.kind != "ambiguous":
        # "2-6pm": the reading that makes the shortest slot up to the given end.
        return min(start.readings(), key=lambda s: (end.minutes - s) % _DAY or _DAY)
    return _care_hours(start)


def _end_minutes(end: _Clock, start: int, hint: _Hint | None) -> int:
    explicit = end.kind == "fixed" or (end.kind == "literal" and hint in {None, "morning"})
    value = end.minutes if explicit else _shortest_from(start, end.readings())
    # An end not after the start is on the next day ("10pm to 2am", "till midnight").
    return value + _DAY if value <= start else value


def _take_times(text: _Text) -> tuple[_Clock | None, _Clock | None]:
    tokens = _tokens(text.text)
    found = _find_range(tokens)
    if found is not None:
        return found
    return _find_single(tokens), None


# --------------------------------------------------------------------------- assembly


@dataclass(frozen=True)
class _Reading:
    relative_start: int | None
    duration: _Duration | None
    hint: _Hint | None
    date: _DateSpec | None
    start: _Clock | None
    end: _Clock | None


def _read(text: str, today: date, lang: str) -> _Reading:
    buffer = _Text(_normalize(text, lang))
    relative_start = _take_relative_start(buffer)
    duration = _take_duration(buffer)
    hint = _find_daypart(buffer.text)
    spec = _take_date(buffer, today, lang)
    _blank_dayparts(buffer)
    start, end = _take_times(buffer)
    return _Reading(relative_start, duration, hint, spec, start, end)


def _error_reason(text: str, lang: str) -> str:
    normalized = _normalize(text, lang)
    if any(pattern.search(normalized) for pattern in _EXPLICIT_DATE_RES):
        return "invalid_date"  # "31/02", "le 31 février"
    if _VAGUE_RE.search(normalized) or _MONTH_WORD_RE.search(normalized):
        return "vague"  # "next week", "in December": the flow asks for a day
    return "no_date"


def _from_relative(reading: _Reading, now: datetime, offset: int) -> When:
    start = now + timedelta(minutes=offset)
    end = None if reading.duration is None else start + timedelta(minutes=reading.duration.minutes)
    return When(start.date(), start, end)


def _assemble(reading: _Reading, spec: _DateSpec, now: datetime) -> When:
    start_clock = reading.start
    if start_clock is None and reading.duration is not None and reading.duration.clock:
        start_clock, duration = reading.duration.clock, None  # "quelqu'un pour 14h"
    else:
        duration = reading.duration
    if start_clock is None:
        return When(_resolve_day(spec, now, None), None, None)
    start = _start_minutes(start_clock, reading.end, reading.hint)
    day = _resolve_day(spec, now, start)
    if start_clock.kind == "ambiguous" and start < 720 and _at(day, start) < now:
        start += 720  # "today at 9" said at 4 pm: 9 pm
    if reading.end is not None:
        end: int | None = _end_minutes(reading.end, start, reading.hint)
    elif duration is not None:
        end = start + duration.minutes
    else:
        end = None
    return When(day, _at(day, start), None if end is None else _at(day, end))


# The longest care slot one message books; a longer window is a slip ("de 15h à 14h").
_MAX_WINDOW = timedelta(hours=12)


def parse_when(text: str, now: datetime, lang: str) -> When:
    """Read a French or English date/time range; `now` is naive local time. Raises WhenError."""
    return _parse(text, now, lang)[1]


def _parse(text: str, now: datetime, lang: str) -> tuple[_Reading, When]:
    if not text or not text.strip():
        raise WhenError("empty")
    now = now.replace(second=0, microsecond=0)
    try:
        reading = _read(text, now.date(), lang)
        if reading.relative_start is not None:
            when = _from_relative(reading, now, reading.relative_start)
        elif reading.date is None:
            raise WhenError(_error_reason(text, lang))
        else:
            when = _assemble(reading, reading.date, now)
    except OverflowError:
        # Only reachable at the edges of the calendar (year 9999, "in 999 hours" near it).
        raise WhenError("out_of_range") from None
    _check_possible(when, now)
    return reading, when


def _check_possible(when: When, now: datetime) -> None:
    """Refuse what cannot be booked: a day or a start already past, a window over 12 hours."""
    if when.date < now.date() or (when.start is not None and when.start < now):
        raise WhenError("past")
    if when.start is not None and when.end is not None and when.end - when.start > _MAX_WINDOW:
        raise WhenError("too_long")


def named_day(text: str, now: datetime, lang: str) -> date | None:
    """The day a text names ("jeudi 10 décembre", "demain") by parse_when's rules, or None.

    A start relative to now ("in 2 hours") names no day, nor does a text parse_when refuses.
    """
    try:
        reading, when = _parse(text, now, lang)
    except WhenError:
        return None
    return None if reading.date is None or reading.relative_start is not None else when.date
