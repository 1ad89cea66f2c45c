"""Times said in words, rewritten as the digits the date grammar reads.

"half past two" -> "2:30", "a quarter to five" -> "4:45", "ten past four" -> "4:10",
"two thirty" -> "2:30", "trois heures et demie" -> "3:30", "neuf heures moins le quart" ->
"8:45", "17h moins 10" -> "16h50", "midi moins le quart" -> "11h45", "fiveish" -> "5", and
any other spelled number to its digits ("from three to seven" -> "from 3 to 7"). A time
given in words keeps its am/pm open ("H:MM"), as a spoken hour does; one given in digits with
"h" keeps the French reading ("HhMM"). Amounts after "for"/"pendant"/"dans" stay amounts.
The input is folded text (lower case, ASCII).
"""

from __future__ import annotations

import re
from typing import NamedTuple

from bot.nlu.numbers import NUMBER_WORDS, read_number

__all__ = ["spoken_times"]

_TOKEN_RE = re.compile(r"[a-z]+|[0-9]+")
# What a number follows when it is an amount, not a time of day.
_AMOUNT_CUES = frozenset(
    {"for", "pendant", "pour", "durant", "during", "in", "dans", "ici", "than", "que", "every",
     "within", "sous", "lasting", "duree"}
)  # fmt: skip
# Words that may sit between such a cue and its amount ("for about two hours").
_HEDGES = frozenset(
    {"about", "around", "environ", "approx", "approximately", "roughly", "maybe", "a", "peu",
     "pres", "presque", "nearly", "almost", "just", "only", "juste", "seulement", "like"}
)  # fmt: skip
# "from ten to five" is a range, not 4:50.
_RANGE_CUES = frozenset({"from", "de", "between", "entre", "du", "des"})
_ARTICLES = frozenset({"the", "this", "that", "no", "any", "every", "some", "which", "each"})
_MINUTE_UNITS = frozenset({"min", "mins", "minute", "minutes", "mn", "mns"})
_HOUR_UNITS = frozenset({"h", "hr", "hrs", "hour", "hours", "heure", "heures"})
_PAST = frozenset({"past", "after"})
_TO = frozenset({"to", "till", "til", "before", "of"})
_ISH_RE = re.compile(r"\b([a-z0-9:.]+?)[ -]?ish\b")
# Most messages hold none of the words these rules start from: skip them at once.
# (A set look-up per word: a regex alternation of every number word costs more.)
_TRIGGER_WORDS = NUMBER_WORDS | {"quarter", "half", "moins", "past", "after", "demi", "demie"}
_WORDS_RE = re.compile(r"[a-z]+")
_MINUTES_TO_RE = re.compile(r"[0-9] ?min[a-z]* (?:to|till|til|before|of)\b")


# Tuples, not frozen dataclasses: a token is made for every word of every message, and a
# frozen dataclass's __init__ sets each field through object.__setattr__ (twice the cost).
class _Token(NamedTuple):
    text: str
    start: int
    end: int


class _Number(NamedTuple):
    value: int
    end: int  # index of the token after it
    spelled: bool


class _Reader:
    """The tokens of one text, and what has been rewritten so far."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = [_Token(m.group(), m.start(), m.end()) for m in _TOKEN_RE.finditer(text)]
        self.words = [token.text for token in self.tokens]
        self.out: list[str] = []
        self.pos = 0  # characters of `text` already written to `out`

    def word(self, i: int) -> str:
        return self.words[i] if 0 <= i < len(self.words) else ""

    def joined(self, i: int, j: int) -> bool:
        """Tokens i..j-1 follow one another with only spaces, hyphens or an apostrophe."""
        return all(
            self.text[self.tokens[k].end : self.tokens[k + 1].start].strip(" -'") == ""
            for k in range(i, j - 1)
        )

    def number(self, i: int) -> _Number | None:
        word = self.word(i)
        if word.isdigit():
            return _Number(int(word), i + 1, False) if len(word) <= 2 else None
        if word not in NUMBER_WORDS:
            return None
        found = read_number(self.words, i)
        if found is None or not self.joined(i, found[1]):
            return None
        return _Number(found[0], found[1], True)

    def emit(self, i: int, j: int, replacement: str) -> None:
        """Write tokens i..j-1 as `replacement`."""
        self.out.append(self.text[self.pos : self.tokens[i].start])
        self.out.append(replacement)
        self.pos = self.tokens[j - 1].end

    def result(self) -> str:
        return "".join(self.out) + self.text[self.pos :]


def _clock(hour: int, minute: int, spelled: bool) -> str | None:
    if not 0 <= hour <= 24 or not 0 <= minute <= 59:
        return None
    return f"{hour}:{minute:02d}" if spelled else f"{hour}h{minute:02d}"


def _minus(hour: int, minutes: int, spelled: bool) -> str | None:
    """`minutes` before `hour` o'clock: "quarter to five" is 4:45."""
    if not 1 <= minutes <= 30:
        return None
    before = (hour - 1) % 24 if hour else 23
    if before == 0 and spelled:
        before = 12  # "quarter to one": 12:45, noon or midnight as the hour one was
    return _clock(before, 60 - minutes, spelled)


def _quarter_half(r: _Reader, i: int) -> tuple[str, int] | None:
    """ "[a] quarter past/to H", "half past H", British "half H"."""
    word, j = r.word(i), i + 1
    if word == "a" and r.word(j) == "quarter":
        word, j = "quarter", j + 1
    if word not in ("quarter", "half"):
        return None
    link = r.word(j)
    if link in _PAST or link in _TO:
        j += 1
    elif word == "quarter" or r.word(j) in ("an", "a", "hour"):
        return None
    hour = r.number(j)
    if hour is None or r.word(hour.end) in _HOUR_UNITS | _MINUTE_UNITS:
        return None
    minutes = 15 if word == "quarter" else 30
    if link in _TO:
        text = _minus(hour.value, minutes, True) if word == "quarter" else None
    else:
        text = _clock(hour.value, minutes, True)
    return None if text is None else (text, hour.end)


def _minutes_past_to(r: _Reader, i: int, first: _Number) -> tuple[str, int] | None:
    """ "ten past four", "20 minutes to 5", "twenty to five" (not "from ten to five")."""
    j = first.end
    unit = r.word(j) in _MINUTE_UNITS
    if unit:
        j += 1
    link = r.word(j)
    if link not in _PAST and link not in _TO:
        return None
    hour = r.number(j + 1)
    if hour is None or not 1 <= first.value <= 59 or r.word(hour.end) in _MINUTE_UNITS:
        return None
    if link in _PAST:
        if not (unit or first.spelled):
            return None
        text = _clock(hour.value, first.value, True)
    else:
        spoken = first.spelled and first.value in (5, 10, 20, 25)
        if not (unit or spoken) or r.word(i - 1) in _RANGE_CUES:
            return None
        text = _minus(hour.value, first.value, True)
    return None if text is None else (text, hour.end)


def _hour_then(r: _Reader, i: int, hour: _Number) -> tuple[str, int] | None:
    """What follows "H heures"/"Hh": "et demie", "et quart", "moins le quart", "moins 10", "20"."""
    j = hour.end
    # A spelled hour needs "heure(s)"; one in digits may also be "9h".
    if r.word(j) in ("heure", "heures") or (not hour.spelled and r.word(j) == "h"):
        j += 1
    else:
        return None
    follow = r.word(j)
    if follow == "et" and r.word(j + 1) in ("demie", "demi", "quart"):
        minute = 15 if r.word(j + 1) == "quart" else 30
        text = _clock(hour.value, minute, hour.spelled)
        return None if text is None else (text, j + 2)
    if follow == "moins":
        k = j + 2 if r.word(j + 1) == "le" else j + 1
        if r.word(k) == "quart":
            text, end = _minus(hour.value, 15, hour.spelled), k + 1
        else:
            amount = r.number(k)
            if amount is None:
                return None
            end = amount.end + (1 if r.word(amount.end) in _MINUTE_UNITS else 0)
            text = _minus(hour.value, amount.value, hour.spelled)
        return None if text is None else (text, end)
    if not hour.spelled:
        return None
    minutes = r.number(j)
    if minutes is not None and minutes.spelled and r.joined(i, minutes.end):
        end = minutes.end + (1 if r.word(minutes.end) in _MINUTE_UNITS else 0)
        text = _clock(hour.value, minutes.value, True)
        return None if text is None else (text, end)
    text = _clock(hour.value, 0, True)
    return None if text is None else (text, j)


def _noon_minus(r: _Reader, i: int) -> tuple[str, int] | None:
    """ "midi moins le quart" -> 11h45, "minuit moins 10" -> 23h50."""
    word = r.word(i)
    if word not in ("midi", "minuit", "noon", "midnight") or r.word(i + 1) != "moins":
        return None
    k = i + 3 if r.word(i + 2) == "le" else i + 2
    hour = 12 if word in ("midi", "noon") else 24
    if r.word(k) == "quart":
        text = _minus(hour, 15, False)
        return None if text is None else (text, k + 1)
    amount = r.number(k)
    if amount is None:
        return None
    text = _minus(hour, amount.value, False)
    end = amount.end + (1 if r.word(amount.end) in _MINUTE_UNITS else 0)
    return None if text is None else (text, end)


def _is_amount(r: _Reader, i: int) -> bool:
    """The number at token i follows a duration cue, maybe through hedges."""
    k = i - 1
    while r.word(k) in _HEDGES:
        k -= 1
    return r.word(k) in _AMOUNT_CUES


def _hour_and_minutes(r: _Reader, i: int, hour: _Number) -> tuple[str, int] | None:
    """ "two thirty", "eleven forty-five", "seven o five": an hour and its minutes, spoken."""
    if not hour.spelled or hour.value > 24:
        return None
    j = hour.end
    if r.word(j) in ("o", "oh"):
        minute = r.number(j + 1)
        if minute is None or not minute.spelled or not 1 <= minute.value <= 9:
            return None
    else:
        minute = r.number(j)
        if minute is None or not minute.spelled or not 10 <= minute.value <= 59:
            return None
    if not r.joined(i, minute.end) or r.word(minute.end) in _MINUTE_UNITS | _HOUR_UNITS:
        return None
    text = _clock(hour.value, minute.value, True)
    return None if text is None else (text, minute.end)


def _plain(r: _Reader, i: int, number: _Number) -> tuple[str, int] | None:
    """Any other spelled number, as digits; "one" and "sept" only when they are numbers."""
    if not number.spelled:
        return None
    word, before, after = r.word(i), r.word(i - 1), r.word(number.end)
    if word == "one" and number.end == i + 1 and (before in _ARTICLES or after == "of"):
        return None
    if word == "sept" and (before.isdigit() or before in ("premier", "er") or after.isdigit()):
        return None  # "le 3 sept", "sept 15": September
    return str(number.value), number.end


def _ish(match: re.Match[str]) -> str:
    stem = match.group(1)
    known = stem in NUMBER_WORDS or stem in ("noon", "midday", "midi", "midnight")
    if known or stem[0].isdigit() or stem.endswith(("am", "pm")):
        return stem
    return match.group()


def spoken_times(text: str) -> str:
    """`text` with times and numbers said in words written as digits (see the module doc)."""
    if "ish" in text:
        text = _ISH_RE.sub(_ish, text)
    if _TRIGGER_WORDS.isdisjoint(_WORDS_RE.findall(text)) and not _MINUTES_TO_RE.search(text):
        return text
    r = _Reader(text)
    i = 0
    while i < len(r.tokens):
        found = _quarter_half(r, i) or _noon_minus(r, i)
        number = None if found else r.number(i)
        if number is not None:
            amount = number.spelled and _is_amount(r, i)
            found = (
                _minutes_past_to(r, i, number)
                or (None if amount else _hour_then(r, i, number))
                or (None if amount else _hour_and_minutes(r, i, number))
                or _plain(r, i, number)
            )
        if found is None:
            i += 1
            continue
        replacement, end = found
        r.emit(i, end, replacement)
        i = end
    return r.result()
