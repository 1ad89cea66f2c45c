"""Numbers written in words, French and English: "vingt-cinq" -> 25, "forty five" -> 45.

A small reader, not a list: units, teens and tens compose the way each language composes
them ("twenty-five", "vingt et un", "dix-sept", "soixante-dix"), so any number a person
spells for a time or a duration is read. Both parsers use it on folded text (lower case,
no accents), one word at a time.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["NUMBER_WORDS", "read_number"]

# Words that are a number on their own. "a"/"an"/"un"/"une" are left to the callers: they are
# articles far more often than numbers.
_UNITS: dict[str, int] = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19,
    "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "sept": 7, "huit": 8, "neuf": 9,
    "dix": 10, "onze": 11, "douze": 12, "treize": 13, "quatorze": 14, "quinze": 15,
    "seize": 16,
}  # fmt: skip
_TENS: dict[str, int] = {
    "twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90,
    "vingt": 20, "trente": 30, "quarante": 40, "cinquante": 50, "soixante": 60,
}  # fmt: skip
# Units that follow "et" in French ("vingt et un", "soixante et onze").
_AFTER_ET = {"un": 1, "une": 1, "onze": 11}
NUMBER_WORDS = frozenset(_UNITS) | frozenset(_TENS)


def read_number(words: Sequence[str], i: int) -> tuple[int, int] | None:
    """The number spelled from words[i] on, and the index after it; None when none starts there.

    `words` are single words: "vingt-deux" comes as "vingt", "deux".
    """
    first = words[i] if i < len(words) else ""
    if first in _TENS:
        return _tens(words, _TENS[first], i + 1)
    if first not in _UNITS:
        return None
    value = _UNITS[first]
    following = words[i + 1] if i + 1 < len(words) else ""
    if value == 10 and following in ("sept", "huit", "neuf"):
        return 10 + _UNITS[following], i + 2  # "dix-sept"
    return value, i + 1


def _tens(words: Sequence[str], tens: int, j: int) -> tuple[int, int]:
    """A tens word, and what it composes with: "twenty five", "vingt et un", "soixante-dix"."""
    nxt = words[j] if j < len(words) else ""
    if nxt in ("et", "and") and j + 1 < len(words) and words[j + 1] in _AFTER_ET:
        return tens + _AFTER_ET[words[j + 1]], j + 2
    unit = _UNITS.get(nxt)
    if unit is None or unit == 0:
        return tens, j
    if tens == 60 and unit >= 10:  # "soixante-dix", "soixante-quinze"
        teen = read_number(words, j)
        assert teen is not None
        return 60 + teen[0], teen[1]
    return (tens + unit, j + 1) if unit <= 9 else (tens, j)
