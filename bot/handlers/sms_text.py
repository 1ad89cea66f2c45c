"""SMS text: options as a numbered list, text normalised for SMS, at most two segments.

An SMS is GSM-7 (160 septets, 153 per segment once split; the extension table costs two)
unless one character is outside GSM-7, and then the whole message is UCS-2 (70 UTF-16 units,
67 per segment). CLDR formats put non-breaking spaces in amounts and times, and translators
use typographic quotes: both would turn a French message into UCS-2 and halve its room, so
they are replaced by their plain forms. Accents are kept; only a message that would not fit
otherwise has its few non-GSM letters (ç, ê, ô...) folded, before anything is cut.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence

MAX_SEGMENTS = 2

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")
_GSM7 = GSM7_BASIC | GSM7_EXTENSION
_AN_EXTENSION = re.compile("[" + re.escape("".join(sorted(GSM7_EXTENSION))) + "]")
GSM7_SINGLE, GSM7_MULTI = 160, 153
UCS2_SINGLE, UCS2_MULTI = 70, 67

ELLIPSIS = "..."
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
# Letters that exist in GSM-7 only as another letter, for the last-resort fold.
_FOLD = {"ç": "c", "œ": "oe", "Œ": "OE", "°": "o"}
_GUILLEMETS = re.compile(r"«\s*(.*?)\s*»", re.DOTALL)
_TAGS = re.compile(r"</?(?:b|i|u|s|em|strong|code|pre|a(?:\s[^>]*)?)>", re.IGNORECASE)
_SPACES = re.compile(r" {2,}")


def normalise(text: str) -> str:
    """Plain spaces, straight quotes, '...' and no decorations; accents are kept."""
    text = text.replace("\r\n", "\n")
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
    return ord(char) > 0xFFFF or (unicodedata.category(char) == "So" and char not in _FOLD)


# Finds, in C, the few characters of a message that need a decision (most are plain GSM-7).
_NOT_GSM7 = re.compile("[^" + "".join(re.escape(c) for c in sorted(_GSM7)) + "]")


def _remembered(decide: Callable[[str], str]) -> Callable[[re.Match[str]], str]:
    """A re.sub callback deciding each character once (the memory stops at 4,096 characters,
    so random Unicode cannot grow it)."""
    known: dict[str, str] = {}

    def replace(match: re.Match[str]) -> str:
        char = match.group()
        fate = known.get(char)
        if fate is None:
            fate = decide(char)
            if len(known) < 4096:
                known[char] = fate
        return fate

    return replace


def _plain(char: str) -> str:
    """A character outside GSM-7 in its plain SMS form ('' when it goes)."""
    if char in _REPLACEMENTS:
        return _REPLACEMENTS[char]
    if char in _INVISIBLE:
        return ""
    if unicodedata.category(char) == "Zs":  # NBSP U+00A0, NNBSP U+202F, thin spaces...
        return " "
    return "" if _is_decoration(char) else char


def _folded(char: str) -> str:
    """A letter outside GSM-7 as its GSM-7 base letter, when it has one."""
    if char in _FOLD:
        return _FOLD[char]
    base = unicodedata.normalize("NFD", char)[0]
    return base if base in GSM7_BASIC else char


_PLAIN = _remembered(_plain)
_FOLDED = _remembered(_folded)


def is_gsm7(text: str) -> bool:
    """Whether the text can travel as GSM-7 (basic table plus extension)."""
    return _GSM7.issuperset(text)


def _units(text: str) -> tuple[list[int], int, int]:
    """Per-character cost, and the single- and multi-segment capacity of the encoding."""
    if is_gsm7(text):
        return [2 if c in GSM7_EXTENSION else 1 for c in text], GSM7_SINGLE, GSM7_MULTI
    return [2 if ord(c) > 0xFFFF else 1 for c in text], UCS2_SINGLE, UCS2_MULTI


def segments(text: str) -> int:
    """How many SMS segments the text takes (an escape or surrogate pair is never split)."""
    # Counted in C for the usual texts: no escapes in GSM-7, no surrogate pairs in UCS-2.
    if is_gsm7(text):
        plain = _AN_EXTENSION.search(text) is None
        single, multi, units = GSM7_SINGLE, GSM7_MULTI, len(text) if plain else -1
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi = UCS2_SINGLE, UCS2_MULTI
        units = units if units == len(text) else -1
    if 0 <= units <= single:
        return 1
    if units > single:
        return -(-units // multi)
    costs, single, multi = _units(text)
    if sum(costs) <= single:
        return 1
    count, used = 1, 0
    for cost in costs:
        if used + cost > multi:
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
    """Replace letters outside GSM-7 by their base letter (ê -> e, ç -> c); others stay."""
    return _NOT_GSM7.sub(_FOLDED, text)


def compose(text: str, labels: Sequence[str]) -> str:
    """'text\\n1. label\\n2. label'."""
    lines = [text] if text else []
    lines += [f"{n}. {label}".rstrip() for n, label in enumerate(labels, start=1)]
    return "\n".join(lines)


def cut(text: str, keep: int) -> str:
    """The first `keep` characters or so, at a word boundary when one is close, with '...'."""
    if len(text) <= keep:
        return text
    if keep <= len(ELLIPSIS):
        return ""
    head = text[: keep - len(ELLIPSIS)]
    space = head.rfind(" ")
    if space >= len(head) - 12 and space > 0:
        head = head[:space]
    return head.rstrip(" ,;:-\n") + ELLIPSIS


def render_sms(text: str, labels: Sequence[str] = (), max_segments: int = MAX_SEGMENTS) -> str:
    """The SMS body for a message and its options, shortened to fit in `max_segments`.

    Shortening goes: fold non-GSM letters; cut long option labels (down to LABEL_FLOOR);
    cut the text (down to TEXT_FLOOR); then both further. The options' numbers always stay.
    """
    text = normalise(text)
    labels = [normalise(label).replace("\n", " ") for label in labels]
    body = compose(text, labels)
    if fits(body, max_segments):
        return body
    folded_text, folded_labels = fold_to_gsm7(text), [fold_to_gsm7(label) for label in labels]
    folded = compose(folded_text, folded_labels)
    if is_gsm7(folded):
        if fits(folded, max_segments):
            return folded
        text, labels = folded_text, folded_labels

    def shortened(label_cap: int, text_keep: int) -> str:
        return compose(cut(text, text_keep), [cut(label, label_cap) for label in labels])

    longest = max((len(label) for label in labels), default=0)
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
    """make(n) for the largest n in [low, high] that fits, or None when make(low) does not."""
    if high < low or not fits(make(low), max_segments):
        return None
    # make(low) fits throughout; longer is (almost) never shorter, so bisect.
    while low < high:
        middle = (low + high + 1) // 2
        if fits(make(middle), max_segments):
            low = middle
        else:
            high = middle - 1
    return make(low)
