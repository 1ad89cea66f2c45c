"""SMS text: options as a numbered list, text normalised for SMS, at most two segments.

An SMS is GSM-7 (160 septets, 153 per segment once split; the extension table costs two)
unless one character is outside GSM-7, and then the whole message is UCS-2 (70 UTF-16 units,
67 per segment). CLDR formats put non-breaking spaces in amounts and times, and translators
use typographic quotes: both would turn a French message into UCS-2 and halve its room, so
they are replaced by their plain forms. The catalogue's SMS French is written in GSM-7
(locales/fr/LC_MESSAGES/sms.po); what still falls outside it comes from names, bios and
what people typed. Accents are kept while the message fits; otherwise only folds that
change no meaning are made (a name's letters, the oe ligature), never one that turns a
French word into another word or a misspelling. Option lists shed bios before names, and
a cut is always at a word boundary.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence

MAX_SEGMENTS = 2

# 0x1B of the basic table is the escape to the extension table, not a character: a text
# holding ESC is not GSM-7 (sending it raw would swallow the next character).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")
_GSM7 = GSM7_BASIC | GSM7_EXTENSION
_AN_EXTENSION = re.compile("[" + re.escape("".join(sorted(GSM7_EXTENSION))) + "]")
GSM7_SINGLE, GSM7_MULTI = 160, 153
UCS2_SINGLE, UCS2_MULTI = 70, 67

ELLIPSIS = "..."
# What flows put between the parts of an option (name · rating · bio): the renderer drops
# parts from the end (the bio first) before it cuts anything.
PART_SEPARATOR = " · "
# Shortening keeps this much of option labels, then of the text, before cutting deeper.
LABEL_FLOOR = 24
TEXT_FLOOR = 40

_REPLACEMENTS = {
    **dict.fromkeys("‘’‚‛′ʼ`´", "'"),
    **dict.fromkeys("“”„‟″«»", '"'),
    **dict.fromkeys("‐‑‒–—―−", "-"),
    "…": ELLIPSIS,
    "•": "-",
    "·": "-",
    "\t": " ",
    "\u2028": "\n",
    "\u2029": "\n",
}
# Invisible characters (zero-width space and joiners, BOM, emoji variation selectors).
_INVISIBLE = frozenset("\u200b\u200c\u200d\u2060\ufeff\ufe0e\ufe0f\u00ad")
# Symbols that carry meaning (n°, 20 °C, ©): kept, even though they make the SMS UCS-2.
_SIGNS = frozenset("°©®™")
_GUILLEMETS = re.compile(r"«\s*(.*?)\s*»", re.DOTALL)
_TAGS = re.compile(r"</?(?:b|i|u|s|em|strong|code|pre|a(?:\s[^>]*)?)>", re.IGNORECASE)
_SPACES = re.compile(r" {2,}")

# Folding, the last resort before cutting. Every fold of a French word makes a misspelling
# or another word (dû/du, côté/coté, tôt, français, être), so lower-case words keep their
# letters, except a ligature and the few words whose folded form is also correct spelling.
# A capitalised word is a name (Françoise, Anaïs, Jérôme): folding it changes no meaning,
# unless it is one of the common words a sentence may start with.
_LIGATURES = {"œ": "oe", "Œ": "OE"}
_FOLDS_TO_A_SPELLING = {"août": "aout"}  # the 1990 spelling, as correct as the other
# Common words whose accent matters, that may start a sentence with a capital.
_MEANINGFUL = """
à ça dû mû crû côte côté tôt plutôt bientôt aussitôt sitôt être peut-être même
français française françaises reçu reçue leçon garçon remplaçant remplaçante aîné aînée
connaît paraît maître tâche pêche mûr sûr sûre jeûne forêt hôpital fenêtre âge
prêt prête intérêt arrêt hôte
"""
_NEVER_FOLDED = frozenset(_MEANINGFUL.split())
_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")


def normalise(text: str) -> str:
    """Composed accents, plain spaces, straight quotes, '...' and no decorations."""
    # e + U+0301 is two characters and not GSM-7; é is one, and is.
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n"))
    if "<" in text:
        text = _TAGS.sub("", text)
    if "«" in text:
        text = _GUILLEMETS.sub(r'"\1"', text)
    if not is_gsm7(text):
        text = _NOT_GSM7.sub(_PLAIN, text)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return "\n".join(lines).strip()


def _is_decoration(char: str) -> bool:
    """Emoji and pictographs (chat decorations): they would make the whole SMS UCS-2."""
    return ord(char) > 0xFFFF or (unicodedata.category(char) == "So" and char not in _SIGNS)


# Finds, in C, the few characters of a message that need a decision (most are plain GSM-7).
_NOT_GSM7 = re.compile("[^" + "".join(re.escape(c) for c in sorted(_GSM7)) + "]")


def _remembered(decide: Callable[[str], str]) -> Callable[[re.Match[str]], str]:
    """A re.sub callback deciding each match once (the memory stops at 4,096 entries,
    so random Unicode cannot grow it)."""
    known: dict[str, str] = {}

    def replace(match: re.Match[str]) -> str:
        found = match.group()
        fate = known.get(found)
        if fate is None:
            fate = decide(found)
            if len(known) < 4096:
                known[found] = fate
        return fate

    return replace


def _plain(char: str) -> str:
    """A character outside GSM-7 in its plain SMS form ('' when it goes)."""
    if char in _REPLACEMENTS:
        return _REPLACEMENTS[char]
    if char in _INVISIBLE:
        return ""
    category = unicodedata.category(char)
    if category == "Zs":  # NBSP U+00A0, NNBSP U+202F, thin spaces...
        return " "
    if category == "Cc":  # ESC and other controls: invisible, or worse, on a phone
        return ""
    return "" if _is_decoration(char) else char


def _folded_word(word: str) -> str:
    """A word with letters outside GSM-7, folded only when that changes no meaning."""
    lower = word.lower()
    if lower in _FOLDS_TO_A_SPELLING:
        spelled = _FOLDS_TO_A_SPELLING[lower]
        return spelled.capitalize() if word[0].isupper() else spelled
    word = "".join(_LIGATURES.get(c, c) for c in word)
    if len(word) < 2 or not word[0].isupper() or lower in _NEVER_FOLDED:
        return word
    return "".join(c if c in _GSM7 else _base_letter(c) for c in word)


def _base_letter(char: str) -> str:
    """A letter's GSM-7 base letter (ï -> i, Ô -> O), or the letter itself."""
    base = unicodedata.normalize("NFD", char)[0]
    return base if base in GSM7_BASIC else char


_PLAIN = _remembered(_plain)
_FOLDED = _remembered(_folded_word)


def is_gsm7(text: str) -> bool:
    """Whether the text can travel as GSM-7 (basic table plus extension)."""
    return _GSM7.issuperset(text)


def _costs(text: str) -> tuple[list[int], int, int]:
    """Per-character cost, and the single- and multi-segment capacity of the encoding.

    A combining mark NFC could not compose costs nothing of its own: it rides with its
    letter, so that no segment boundary separates them.
    """
    if is_gsm7(text):
        return [2 if c in GSM7_EXTENSION else 1 for c in text], GSM7_SINGLE, GSM7_MULTI
    costs = [2 if ord(c) > 0xFFFF else 1 for c in text]
    for i in range(len(text) - 1, 0, -1):
        if unicodedata.combining(text[i]):
            costs[i - 1] += costs[i]
            costs[i] = 0
    return costs, UCS2_SINGLE, UCS2_MULTI


def segments(text: str) -> int:
    """How many SMS segments the text takes (a character is never split across two)."""
    # Counted in C for the usual texts: no escapes in GSM-7, no surrogate pairs in UCS-2.
    if is_gsm7(text):
        plain = _AN_EXTENSION.search(text) is None
        single, multi, units = GSM7_SINGLE, GSM7_MULTI, len(text) if plain else -1
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi = UCS2_SINGLE, UCS2_MULTI
        whole = units == len(text) and not any(map(unicodedata.combining, text))
        units = units if whole else -1
    if 0 <= units <= single:
        return 1
    if units > single:
        return -(-units // multi)
    costs, single, multi = _costs(text)
    if sum(costs) <= single:
        return 1
    count, used = 1, 0
    for cost in costs:
        if cost and used + cost > multi:
            count, used = count + 1, 0
        used += cost
    return count


def encoding(text: str) -> str:
    """'GSM-7' or 'UCS-2'."""
    return "GSM-7" if is_gsm7(text) else "UCS-2"


def fits(text: str, max_segments: int = MAX_SEGMENTS) -> bool:
    """Whether the text fits in `max_segments` segments."""
    return segments(text) <= max_segments


def fold_to_gsm7(text: str) -> str:
    """Fold what changes no meaning (names' letters, œ, août); French words keep theirs."""
    if is_gsm7(text):
        return text
    return _WORD.sub(_FOLDED, text)


def compose(text: str, labels: Sequence[str]) -> str:
    """'text\\n1. label\\n2. label'."""
    lines = [text] if text else []
    lines += [f"{n}. {label}".rstrip() for n, label in enumerate(labels, start=1)]
    return "\n".join(lines)


def cut(text: str, keep: int) -> str:
    """At most `keep` characters, '...' included, ending at a word boundary (never inside)."""
    if len(text) <= keep:
        return text
    head = text[: max(0, keep - len(ELLIPSIS)) + 1]
    space = max(head.rfind(" "), head.rfind("\n"))
    if space <= 0:
        return ""
    return head[:space].rstrip(" ,;:-\n") + ELLIPSIS


def _settled(body: str, max_segments: int) -> str | None:
    """The body as it is when it fits, else folded when that fits, else None."""
    if fits(body, max_segments):
        return body
    folded = fold_to_gsm7(body)
    return folded if folded != body and fits(folded, max_segments) else None


def render_sms(text: str, labels: Sequence[str] = (), max_segments: int = MAX_SEGMENTS) -> str:
    """The SMS body for a message and its options, shortened to fit in `max_segments`.

    Shortening goes: fold what changes no meaning; drop the options' last parts (bios, then
    ratings); cut long option labels (down to LABEL_FLOOR); cut the text (down to
    TEXT_FLOOR); then both further. Cuts end at a word; the options' numbers always stay.
    """
    text = normalise(text)
    parts = [
        [p for p in (normalise(part) for part in label.split(PART_SEPARATOR)) if p]
        for label in labels
    ]
    parts = [[p.replace("\n", " ") for p in label] for label in parts]
    deepest = max((len(label) for label in parts), default=1)
    for kept in range(deepest, 0, -1):
        shown = [" - ".join(label[:kept]) for label in parts]
        found = _settled(compose(text, shown), max_segments)
        if found is not None:
            return found
    names = [label[0] if label else "" for label in parts]

    def shortened(label_cap: int, text_keep: int) -> str:
        return compose(cut(text, text_keep), [cut(label, label_cap) for label in names])

    longest = max((len(label) for label in names), default=0)
    # Each stage shortens one thing between two bounds, with the other held.
    stages = [
        (lambda cap: shortened(cap, len(text)), LABEL_FLOOR, longest),
        (lambda keep: shortened(LABEL_FLOOR, keep), TEXT_FLOOR, len(text)),
        (lambda cap: shortened(cap, TEXT_FLOOR), 0, LABEL_FLOOR),
        (lambda keep: shortened(0, keep), 0, TEXT_FLOOR),
    ]
    for make, low, high in stages:
        found = _longest_fitting(make, low, high, max_segments)
        if found is not None:
            return found
    # Even bare numbers do not fit (hundreds of options): keep as many numbers as fit.
    numbers = [f"{n}." for n in range(1, len(labels) + 1)]
    while numbers and not fits("\n".join(numbers), max_segments):
        numbers.pop()
    return "\n".join(numbers)


def _longest_fitting(
    make: Callable[[int], str], low: int, high: int, max_segments: int
) -> str | None:
    """make(n), settled, for the largest n in [low, high] that fits; None when make(low)
    does not."""
    if high < low or _settled(make(low), max_segments) is None:
        return None
    # make(low) fits throughout; longer is (almost) never shorter, so bisect.
    while low < high:
        middle = (low + high + 1) // 2
        if _settled(make(middle), max_segments) is not None:
            low = middle
        else:
            high = middle - 1
    return _settled(make(low), max_segments)
