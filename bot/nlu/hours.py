"""A provider's own hours in free text (§9): show, add or remove weekly windows and days off.

"dispo le samedi de 9h à 18h" / "available Saturdays 9am-6pm" adds a weekly window, "plus
dispo le samedi" / "no longer available on Saturdays" removes one, "pas dispo le 24
décembre", "congé du 24 au 26 décembre", "off 24-26 December" add days off and "finalement
dispo le 24" takes one back. The hours and single days come from the date parser
(`bot.nlu.when`); day ranges and weekdays are read here.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.nlu.when import WhenError, parse_when

MAX_RANGE_DAYS = 62  # a longer "day off" is a leave the agency arranges, not a chat line

WEEKDAYS: dict[str, int] = {}
for _number, _words in enumerate(
    (
        ("lundi", "monday", "mon", "lun"),
        ("mardi", "tuesday", "tue", "tues", "mar"),
        ("mercredi", "wednesday", "wed", "mer"),
        ("jeudi", "thursday", "thu", "thur", "thurs", "jeu"),
        ("vendredi", "friday", "fri", "ven"),
        ("samedi", "saturday", "sat", "sam"),
        ("dimanche", "sunday", "sun", "dim"),
    )
):
    for _word in _words:
        WEEKDAYS[_word] = _number
        if len(_word) > 4:
            WEEKDAYS[_word + "s"] = _number  # "les samedis", "Saturdays"

MONTHS = {
    "janvier": 1, "january": 1, "jan": 1, "fevrier": 2, "february": 2, "feb": 2, "fev": 2,
    "mars": 3, "march": 3, "avril": 4, "april": 4, "apr": 4, "avr": 4, "mai": 5, "may": 5,
    "juin": 6, "june": 6, "jun": 6, "juillet": 7, "july": 7, "jul": 7, "aout": 8,
    "august": 8, "aug": 8, "septembre": 9, "september": 9, "sep": 9, "sept": 9,
    "octobre": 10, "october": 10, "oct": 10, "novembre": 11, "november": 11, "nov": 11,
    "decembre": 12, "december": 12, "dec": 12,
}  # fmt: skip
_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
_DAY_RANGE = re.compile(
    rf"(?<!\d)(\d{{1,2}})(?:er|st|nd|rd|th)?\s*(?:({_MONTH})\s+)?"
    rf"(?:-|au|to|till|until|jusqu au|through|\s)\s*(?:the\s+)?"
    rf"(\d{{1,2}})(?:er|st|nd|rd|th)?\s+(?:of\s+)?({_MONTH})\b"
)
_WEEKDAY = re.compile(r"\b(" + "|".join(sorted(WEEKDAYS, key=len, reverse=True)) + r")\b")
_WEEKDAY_SPAN = re.compile(
    r"\b(?:du |from )?("
    + "|".join(sorted(WEEKDAYS, key=len, reverse=True))
    + r")\s*(?:-|au|to|through|a)\s*("
    + "|".join(sorted(WEEKDAYS, key=len, reverse=True))
    + r")\b"
)

_SHOW = re.compile(
    r"^(?:/hours|/dispos?|(?:mes |my |show my |voir mes )?"
    r"(?:dispos?|disponibilites?|availability|availabilities|hours|horaires|schedule hours))$"
)
_BACK = re.compile(
    r"\b(?:finalement|a nouveau|de nouveau|again|after all|back)\b.*\b(?:dispo|disponible|"
    r"available|travaille|work)|\b(?:dispo|disponible|available)\b.*\b(?:finalement|"
    r"a nouveau|de nouveau|again|after all)\b"
)
_REMOVE = re.compile(
    r"\b(?:plus dispo|plus disponible|no longer available|not available anymore|"
    r"not available any more|no more|ne travaille plus|no longer work)"
)
_OFF = re.compile(
    r"\b(?:pas dispo|pas disponible|indisponible|conges?|off|unavailable|not available|"
    r"day off|days off|vacances|holidays?|ferme)\b"
)
_ADD = re.compile(r"\b(?:dispo|dispos|disponible|available|travaille|work)\b")


@dataclass(frozen=True)
class HoursChange:
    """What a provider asks about their hours.

    kind: "show", "add_window", "remove_window", "days_off" (add), "day_back" (remove a day
    off), or "unclear" when the words are there but the days or hours are not.
    """

    kind: str
    weekdays: tuple[int, ...] = ()
    start: int | None = None  # minutes since midnight
    end: int | None = None  # minutes since midnight, 1440 = 24:00
    days: tuple[date, ...] = ()


def parse_hours(text: str, now: datetime, lang: str) -> HoursChange | None:
    """Read a provider's message about their own hours; None when it is about something else.

    `now` is naive agency time.
    """
    folded = _fold(text)
    if _SHOW.match(folded):
        return HoursChange("show")
    if _BACK.search(folded):
        days = read_days(folded, now, lang)
        return HoursChange("day_back", days=days) if days else HoursChange("unclear")
    if _REMOVE.search(folded):
        weekdays = _weekdays(folded)
        if weekdays and not _has_day_number(folded):
            start, end = _hours(folded, now, lang)
            return HoursChange("remove_window", weekdays, start, end)
        days = read_days(folded, now, lang)
        return HoursChange("days_off", days=days) if days else HoursChange("unclear")
    if _OFF.search(folded):
        days = read_days(folded, now, lang)
        return HoursChange("days_off", days=days) if days else HoursChange("unclear")
    if _ADD.search(folded):
        weekdays = _weekdays(folded)
        if not weekdays:
            return None
        start, end = _hours(folded, now, lang)
        if start is None or end is None:
            return HoursChange("unclear")
        return HoursChange("add_window", weekdays, start, end)
    return None


def _fold(text: str) -> str:
    """Lower case and accents off, keeping the dashes and colons that times and ranges use."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    bare = re.sub(r"[\u2010-\u2015]", "-", bare)
    bare = re.sub(r"[^\w/:.\- ]+", " ", bare.replace("'", " ").replace("\u2019", " "))
    return re.sub(r"\s+", " ", bare).strip(" .")


def _has_day_number(folded: str) -> bool:
    """A date such as "le 24" or "24 December" (not an hour such as "9h" or "9am")."""
    return (
        re.search(r"\b(?:le|the|on the)\s+\d{1,2}\b(?!\s*[h:.]|\s*[ap]m)", folded) is not None
        or re.search(rf"\b\d{{1,2}}(?:er|st|nd|rd|th)?\s+(?:of\s+)?({_MONTH})\b", folded)
        is not None
        or re.search(r"\b\d{1,2}/\d{1,2}\b|\b\d{4}-\d{2}-\d{2}\b", folded) is not None
    )


def _weekdays(folded: str) -> tuple[int, ...]:
    """Weekdays named in the text: "samedi", "les samedis", "mon-fri", "du lundi au vendredi"."""
    found: list[int] = []
    for match in _WEEKDAY_SPAN.finditer(folded):
        first, last = WEEKDAYS[match.group(1)], WEEKDAYS[match.group(2)]
        found += [(first + i) % 7 for i in range((last - first) % 7 + 1)]
    rest = _WEEKDAY_SPAN.sub(" ", folded)
    # Short forms ("mar", "sam", "mer") are French words too: only whole day names count here.
    found += [WEEKDAYS[m.group(1)] for m in _WEEKDAY.finditer(rest) if len(m.group(1)) > 3]
    return tuple(sorted(set(found)))


def _hours(folded: str, now: datetime, lang: str) -> tuple[int | None, int | None]:
    """The daily window a text gives ("de 9h à 18h", "9am-6pm"), in minutes; None if none."""
    bare = _WEEKDAY.sub(" ", _WEEKDAY_SPAN.sub(" ", folded))
    bare = re.sub(r"\b(?:du|au|from|le|les|on|the)\b", " ", bare)
    anchor = "demain" if lang.startswith("fr") else "tomorrow"
    try:
        when = parse_when(f"{anchor} {bare}", now, lang)
    except WhenError:
        return None, None
    if when.start is None or when.end is None:
        return None, None
    start = when.start.hour * 60 + when.start.minute
    end = int((when.end - when.start.replace(hour=0, minute=0)).total_seconds() // 60)
    if end > 24 * 60 or end <= start:
        return None, None
    return start, end


def read_days(folded: str, now: datetime, lang: str) -> tuple[date, ...]:
    """The days a text names: a range ("du 24 au 26 décembre", "24-26 December") or one day."""
    match = _DAY_RANGE.search(folded)
    if match is not None:
        first_day, first_month, last_day, last_month = match.groups()
        try:
            last = parse_when(f"{last_day} {last_month}", now, lang).date
        except WhenError:
            return ()
        if last is None:
            return ()
        month = MONTHS[first_month] if first_month else MONTHS[last_month]
        year = last.year
        try:
            first = date(year, month, int(first_day))
            if first > last:
                first = date(year - 1, month, int(first_day)) if first_month else None  # type: ignore[assignment]
                if first is None:
                    back = date(year, month, 1) - timedelta(days=1)
                    first = date(back.year, back.month, int(first_day))
        except ValueError:
            return ()
        if first > last or (last - first).days >= MAX_RANGE_DAYS or first < now.date():
            return ()
        return tuple(first + timedelta(days=i) for i in range((last - first).days + 1))
    try:
        when = parse_when(folded, now, lang)
    except WhenError:
        return ()
    return (when.date,) if when.date is not None else ()
