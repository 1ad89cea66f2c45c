"""French by SMS (issue 18): correct French that GSM-7 carries, in at most two segments.

Every French message meant for SMS, from the whole catalogue with long realistic values and
from every transcript, is checked: no fold that changes a word (dû/du, côté/coté...), no
misspelling a fold would make, and at most two segments, counted by our renderer and again
by an independent implementation built on the `gsm0338` codec (PyPI).
"""

from __future__ import annotations

import difflib
import re
import subprocess
import sys

import gsm0338  # noqa: F401 - registers the "gsm03.38" codec
import pytest
from babel.messages.pofile import read_po

from bench.sms_bodies import Sent, collect
from bot.handlers.sms_text import is_gsm7, normalise, render_sms, segments
from bot.i18n import for_channel
from tests.channels.test_sms_text import _fill, _templates
from tests.conftest import ROOT

# (right, wrong): folds that turn a French word into another word or a misspelling.
FORBIDDEN_FOLDS = {
    ("dû", "du"),
    ("côté", "coté"),
    ("côte", "cote"),
    ("être", "etre"),
    ("aîné", "ainé"),
    ("aînée", "ainée"),
    ("connaît", "connait"),
    ("français", "francais"),
    ("française", "francaise"),
    ("tôt", "tot"),
    ("plutôt", "plutot"),
    ("bientôt", "bientot"),
    ("remplaçant", "remplacant"),
    ("reçu", "recu"),
    ("ça", "ca"),
    ("à", "a"),
    ("n°", "no"),
    ("sûr", "sur"),
    ("mûr", "mur"),
    ("tâche", "tache"),
    ("pêche", "peche"),
    ("jeûne", "jeune"),
    ("maïs", "mais"),
    ("où", "ou"),
}
# The wrong side of the pairs that is never a French word: found anywhere, it is a fold.
MISSPELLINGS = re.compile(
    r"\b(etre|francaise?s?|remplacante?s?|ainée?s?|connait|tot|plutot|bientot|recue?s?)\b",
    re.IGNORECASE,
)
# Messages only Telegram shows (its command menu, its contact-sharing greeting).
TELEGRAM_ONLY = {
    "Français / English",
    "Hello! I am the assistant of {agency}. To recognise you, please share your phone number "
    "with the button below.",
}
_WORDS = re.compile(r"[\w°]+")


def forbidden_folds(source: str, body: str) -> list[tuple[str, str]]:
    """The (source word, body word) pairs where the body folded a word it must not."""
    found = [(w, w) for w in MISSPELLINGS.findall(body) if not MISSPELLINGS.search(source)]
    before, after = _WORDS.findall(source), _WORDS.findall(body)
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op == "replace" and a2 - a1 == b2 - b1:
            pairs = zip(before[a1:a2], after[b1:b2], strict=True)
            found += [(a, b) for a, b in pairs if (a.lower(), b.lower()) in FORBIDDEN_FOLDS]
    return found


def codec_segments(text: str) -> int:
    """Segments counted independently: septets from the gsm0338 codec, else UTF-16 units.

    ESC is refused here by hand: the codec passes it through, but 3GPP TS 23.038 makes 0x1B
    the escape to the extension table, not a character of its own.
    """
    septets: bytes | None = None
    if "\x1b" not in text:
        try:
            septets = text.encode("gsm03.38")
        except UnicodeEncodeError:
            septets = None
    if septets is not None:
        sizes = []
        i = 0
        while i < len(septets):
            size = 2 if septets[i] == 0x1B else 1  # an escape pair never splits
            sizes.append(size)
            i += size
        single, multi = 160, 153
    else:
        sizes = [len(c.encode("utf-16-le")) // 2 for c in text]  # a surrogate pair never splits
        single, multi = 70, 67
    if sum(sizes) <= single:
        return 1
    count, used = 1, 0
    for size in sizes:
        if used + size > multi:
            count, used = count + 1, 0
        used += size
    return count


def _demo_only() -> set[str]:
    """The terminal demo's own lines: printed on the operator's screen, never sent by SMS."""
    found: set[str] = set()
    for module in ("bot/handlers/console.py", "bot/handlers/demo.py"):
        path = ROOT / module
        if path.exists():
            source = path.read_text(encoding="utf-8")
            found |= {m for m in _templates() if isinstance(m, str) and f'"{m}"' in source}
    return found | _web_only()


def _web_only() -> set[str]:
    """The web console's page words (templates and routes): shown in a browser, never by SMS.

    The console's intents (bot/app/console*.py) are left in: what they send to people (a
    provider told of new hours) is SMS.
    """
    web = ROOT / "bot" / "handlers" / "webconsole"
    files = [*(web / "templates").glob("*.html"), web / "routes.py"]
    text = "".join(path.read_text(encoding="utf-8") for path in files)
    return {
        m for m in _templates() if isinstance(m, str) and (f'"{m}"' in text or f"'{m}'" in text)
    }


def _sms_msgids() -> list[str | tuple[str, str]]:
    demo = _demo_only()
    return [m for m in _templates() if m not in TELEGRAM_ONLY and m not in demo]


def test_telegram_only_messages_are_used_only_by_telegram_modules() -> None:
    for msgid in TELEGRAM_ONLY:
        words = msgid.split(".")[0][:30]
        users = subprocess.run(
            ["grep", "-rlF", words, "bot"], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.split()
        assert users and all("telegram" in u or "linking" in u for u in users), (msgid, users)


def test_every_french_sms_message_is_gsm7_french_that_needs_no_fold() -> None:
    sms = for_channel("fr", "sms")
    msgids = _sms_msgids()
    assert len(msgids) > 150
    problems = []
    for msgid in msgids:
        text = normalise(_fill(sms, msgid))
        body = render_sms(text)
        if not is_gsm7(text):
            problems.append(("not GSM-7 without folding", msgid, text))
        elif body != text:
            problems.append(("folded or cut", msgid, body))
        if forbidden_folds(text, body) or MISSPELLINGS.search(body):
            problems.append(("forbidden fold", msgid, body))
        if not segments(body) == codec_segments(body) <= 2:
            problems.append((f"{segments(body)}/{codec_segments(body)} segments", msgid, body))
    assert not problems, "\n".join(map(repr, problems))


@pytest.mark.parametrize("name", ["Léa-Françoise Moreau-Delacroix", "Anaïs Benoît-Lefèvre"])
def test_names_outside_gsm7_fold_no_french_word(name: str) -> None:
    """A name GSM-7 cannot carry: the message stays UCS-2 if it fits, else the name folds,
    and the catalogue's own words never do."""
    sms = for_channel("fr", "sms")
    for msgid in _sms_msgids():
        text = normalise(_fill(sms, msgid, name))
        body = render_sms(text)
        assert not forbidden_folds(text, body) and not MISSPELLINGS.search(body), body
        assert segments(body) == codec_segments(body) <= 2, body
        if name not in text:
            assert body == text, body


def test_the_sms_catalogue_keeps_the_chat_wording_where_gsm7_carries_it() -> None:
    """An SMS variant exists only where the chat's French needs a letter GSM-7 lacks."""
    chat = {
        m.id: m.string for m in read_po((ROOT / "locales/fr/LC_MESSAGES/messages.po").open("rb"))
    }
    with (ROOT / "locales/fr/LC_MESSAGES/sms.po").open("rb") as handle:
        variants = [m for m in read_po(handle) if m.id]
    assert variants
    for variant in variants:
        assert not is_gsm7(normalise(str(chat[variant.id]))), variant.id
        assert is_gsm7(normalise(str(variant.string))), variant.id


@pytest.fixture(scope="module")
def transcripts() -> list[Sent]:
    import asyncio

    return asyncio.run(collect())


def test_french_sms_of_every_transcript_keep_their_words_in_two_segments(
    transcripts: list[Sent],
) -> None:
    french = [m for m in transcripts if m.channel == "sms" and m.lang == "fr"]
    assert len(french) > 50
    for message in french:
        body = message.body
        assert not forbidden_folds(message.full, body), (message.chat, body)
        assert not MISSPELLINGS.search(body), (message.chat, body)
        assert segments(body) == codec_segments(body) <= 2, (message.chat, body)
        assert is_gsm7(body), (message.chat, body)


def test_both_counters_agree_on_every_sms_of_the_transcripts(transcripts: list[Sent]) -> None:
    bodies = {m.body for m in transcripts if m.channel == "sms"}
    assert len(bodies) > 100
    for body in bodies:
        assert segments(body) == codec_segments(body), body


@pytest.mark.parametrize(
    "text",
    ["a" * 160, "a" * 161, "a" * 152 + "€" + "a" * 152, "ç" * 134, "ç" * 135, "a\x1b", "😀" * 40],
)
def test_both_counters_agree_at_the_edges(text: str) -> None:
    assert segments(text) == codec_segments(text)


def test_the_fold_check_sees_a_forbidden_fold() -> None:
    assert forbidden_folds("Marie a dû annuler, côté agence", "Marie a du annuler, coté agence")
    assert forbidden_folds("plus tôt", "plus tot")
    assert not forbidden_folds("du plus adapté au moins adapté", "du plus adapté au moins adapté")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__]))
