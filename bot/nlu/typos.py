"""Day, month and date words as people type them: "deamin", "jeudu", "tuseday", "dmn", "2mrw".

Each misspelt word is matched against a closed vocabulary per language by edit distance
(insertions, deletions, substitutions and swaps of two neighbours), with a budget that grows
with the word: one typo from five letters, two from seven. A word that is itself a word of
the vocabulary, or a real word close to one ("mari" is not "mardi"), is never changed; a
word as close to two targets is left alone. Words typed without their vowels ("dmn", "mrd",
"tmrw", "frdy") match a target's consonants. Short forms that share nothing with the word
("auj", "2m1") are a small table. Only words of at least four letters are corrected, and
only towards long targets: on short words one edit too often makes another word.
"""

from __future__ import annotations

import re
from functools import lru_cache

from bot.nlu.numbers import NUMBER_WORDS

__all__ = ["correct", "correct_words"]

# The targets: folded (no accents, lower case), as bot.nlu.when reads them.
_DAYS_MONTHS = (
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "january",
    "february", "april", "august", "september", "october", "november", "december",
    "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche", "janvier",
    "fevrier", "avril", "juillet", "septembre", "octobre", "novembre", "decembre",
)  # fmt: skip
_EN = (
    *_DAYS_MONTHS[:15],
    "tomorrow", "today", "tonight", "yesterday", "christmas", "afternoon", "morning",
    "evening", "quarter", "minutes", "hours", "o'clock", "midnight", "between",
)  # fmt: skip
_FR = (
    *_DAYS_MONTHS[15:],
    "demain", "aujourd'hui", "apres-demain", "hier", "noel", "reveillon", "sylvestre",
    "prochain", "prochaine", "semaine", "heures", "minutes", "apres-midi", "minuit", "quart",
)  # fmt: skip
# Shortenings that edit distance cannot reach.
_SHORT = {
    "dmn": "demain", "dmain": "demain", "2main": "demain", "2m1": "demain", "dem1": "demain",
    "dmin": "demain", "auj": "aujourd'hui", "ajd": "aujourd'hui", "ajrd": "aujourd'hui",
    "aujd": "aujourd'hui", "ojd": "aujourd'hui", "oj": "aujourd'hui",
    "2mrw": "tomorrow", "2moro": "tomorrow", "2morro": "tomorrow", "2morrow": "tomorrow",
    "2morow": "tomorrow", "2mrow": "tomorrow", "2mro": "tomorrow", "tmrw": "tomorrow",
    "tmr": "tomorrow", "tmw": "tomorrow", "tmrow": "tomorrow", "tmoz": "tomorrow",
    "tomoz": "tomorrow", "tomo": "tomorrow", "tmro": "tomorrow", "2day": "today",
    "2dy": "today", "tdy": "today", "2nite": "tonight", "2night": "tonight",
    "2nyt": "tonight", "tonite": "tonight", "xmas": "christmas", "chrstmas": "christmas",
    "wkend": "weekend", "wknd": "weekend", "ystrdy": "yesterday", "yday": "yesterday",
    "btw": "between", "btwn": "between", "betw": "between", "nxt": "next", "wk": "week",
    "sem": "semaine", "proch": "prochaine",
    "apdm": "apres-demain", "aprem": "apres-midi", "aprm": "apres-midi",
}  # fmt: skip
# Real words within a typo of a target: they mean something else and stay as typed.
_REAL_WORDS = frozenset(
    {
        "mari", "maris", "domain", "domains", "sundae", "sundaes", "tours", "hour", "ours",
        "vendre", "vendu", "jeudis", "tonights", "todays", "morning", "mourning", "evenings",
        "minute", "heure", "minuet", "minutes", "between", "quartz", "quarts", "quatre",
        "demi", "demis", "demies", "noels", "novel", "noe", "nowell", "semaines", "prochains",
        "prochaines", "martin", "mardis", "lundis", "samedis", "dimanches", "mercredis",
        "vendredis", "mondays", "tuesdays", "wednesdays", "thursdays", "fridays",
        "saturdays", "sundays", "friend", "fried", "frida", "freida", "monkey", "money",
        "mona", "sunny", "sundry", "touday", "decembers", "augusta", "april", "avis", "avion",
        "aprils", "march", "january", "demand", "demande", "domaine",
        "mondial", "month", "months", "towards", "tomorrows", "mardy", "quarters", "hors",
        "quartier", "quartiers", "chris", "vends",
    }
)  # fmt: skip
_VOWELS_RE = re.compile(r"[aeiou'\-]")
_DOUBLES_RE = re.compile(r"(.)\1+")


def _skeleton(word: str) -> str:
    """The word's consonants, doubles collapsed: "tomorrow" -> "tmrw", "demain" -> "dmn"."""
    return _DOUBLES_RE.sub(r"\1", _VOWELS_RE.sub("", word))


def _skeletons(targets: tuple[str, ...]) -> dict[str, str]:
    found: dict[str, str] = {}
    for target in targets:
        if target in ("minutes", "hours", "heures", "quart", "demie", "between", "quarter"):
            continue  # units and fillers are no days: their consonants are too common
        found.setdefault(_skeleton(target), target)
    return found


_TARGETS = {"en": _EN, "fr": _FR}
_SKELETONS = {lang: _skeletons(targets) for lang, targets in _TARGETS.items()}
# Days and months cut short ("vend", "mercr", "sept", "nove"): a prefix of one of them only.
_CALENDAR = frozenset(_DAYS_MONTHS)


def _prefixes(targets: tuple[str, ...]) -> dict[str, str]:
    found: dict[str, str | None] = {}
    for target in targets:
        if target in _CALENDAR:
            for end in range(4, len(target)):
                key = target[:end]
                found[key] = target if found.get(key, target) == target else None
    return {key: target for key, target in found.items() if target is not None}


_PREFIXES = {lang: _prefixes(targets) for lang, targets in _TARGETS.items()}
# Words the date grammar already reads as typed: numbers, and the usual abbreviations.
_ABBREVIATIONS = frozenset(
    {"sept", "janv", "fevr", "juil", "aout", "thur", "thurs", "tues", "weds", "wedn"}
)
_ALL = frozenset(_EN) | frozenset(_FR) | frozenset(_SHORT.values()) | NUMBER_WORDS | _ABBREVIATIONS


def _budget(word: str) -> int:
    """Typos allowed in a word of this length."""
    return 0 if len(word) < 4 else 1 if len(word) < 7 else 2


def _distance(a: str, b: str, limit: int) -> int:
    """Edit distance with swaps of neighbours (optimal string alignment); > limit when far."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def _nearest(word: str, targets: tuple[str, ...]) -> str | None:
    """The one target within the word's budget; None when none is, or two are as near."""
    limit = _budget(word)
    best: list[str] = []
    best_distance = limit + 1
    for target in targets:
        # Long targets only, and a typo keeps the first letter (or swaps it with the second).
        if len(target) < 5 or (target[0] != word[0] and target[:2] != word[1::-1]):
            continue
        distance = _distance(word, target, limit)
        if distance < best_distance:
            best, best_distance = [target], distance
        elif distance == best_distance and distance <= limit:
            best.append(target)
    return best[0] if len(best) == 1 else None


@lru_cache(maxsize=4096)
def correct(word: str, lang: str) -> str:
    """The vocabulary word `word` stands for, in `lang` first ("fr"/"en"); else `word` itself."""
    if word in _ALL or word in _REAL_WORDS:
        return word
    short = _SHORT.get(word)
    if short is not None:
        return short
    if len(word) < 3 or not word.replace("'", "").isalpha():
        return word
    first, second = ("fr", "en") if lang == "fr" else ("en", "fr")
    if not _VOWELS_RE.search(word):
        for language in (first, second):
            target = _SKELETONS[language].get(_DOUBLES_RE.sub(r"\1", word))
            if target is not None:
                return target
        return word
    for language in (first, second):
        target = _nearest(word, _TARGETS[language]) or _PREFIXES[language].get(word)
        if target is not None:
            return target
    return word


_WORD_RE = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
# What each word seen so far becomes, per language; plain dicts, as this runs on every word.
_SEEN: dict[str, dict[str, str]] = {}


def correct_words(text: str, lang: str) -> str:
    """`text` (folded) with each typed day, month or date word corrected (see `correct`)."""
    seen = _SEEN.setdefault(lang if lang in ("en", "fr") else "en", {})
    if len(seen) > 8192:
        seen.clear()  # bounded: hostile input cannot grow it without end
    changes: dict[str, str] = {}
    for word in _WORD_RE.findall(text):
        fixed = seen.get(word)
        if fixed is None:
            fixed = seen[word] = correct(word, lang)
        if fixed != word:
            changes[word] = fixed
    if not changes:
        return text
    return _WORD_RE.sub(lambda match: changes.get(match.group(), match.group()), text)
