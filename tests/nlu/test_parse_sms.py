"""Provider replies (`carebot parse-sms`): intents, values, carrier keywords, robustness."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.nlu.replies import INTENTS, Reply, normalize, parse_reply, reply_to_json, sms_keyword
from tests.nlu.support import dev_set


def test_dev_set_accuracy() -> None:
    cases = dev_set("sms-dev.jsonl")
    failures = []
    for case in cases:
        got = reply_to_json(parse_reply(case["text"], case["lang"]))
        if got != case["expect"]:
            failures.append(f"{case['lang']} {case['text']!r}: got {got}, want {case['expect']}")
    accuracy = 1 - len(failures) / len(cases)
    assert accuracy >= 0.95, f"accuracy {accuracy:.1%}, failures:\n" + "\n".join(failures)


# (lang, text, reply): the reply is its intent, then the minutes late or the new start if said.
EXAMPLES: list[tuple[str, str, str]] = [
    # confirm
    ("en", "yes", "confirm"),
    ("en", "Y", "confirm"),
    ("en", "ok", "confirm"),
    ("en", "Sure, I'll take it!", "confirm"),
    ("en", "no problem", "confirm"),
    ("en", "count me in 👍", "confirm"),
    ("fr", "oui", "confirm"),
    ("fr", "OUIII", "confirm"),
    ("fr", "d'accord", "confirm"),
    ("fr", "daccord", "confirm"),
    ("fr", "je confirme", "confirm"),
    ("fr", "pas de souci", "confirm"),
    ("fr", "ça marche", "confirm"),
    # decline
    ("en", "no", "decline"),
    ("en", "n", "decline"),
    ("en", "No, not available", "decline"),
    ("en", "sorry I can't", "decline"),
    ("fr", "non", "decline"),
    ("fr", "pas dispo", "decline"),
    ("fr", "Non merci, je ne peux pas", "decline"),
    ("fr", "indisponible", "decline"),
    ("fr", "je ne serai pas là", "decline"),
    # arrived
    ("en", "arrived", "arrived"),
    ("en", "here", "arrived"),
    ("en", "I'm here", "arrived"),
    ("en", "on site", "arrived"),
    ("en", "arived", "arrived"),
    ("fr", "arrivé", "arrived"),
    ("fr", "Arrivée ✅", "arrived"),
    ("fr", "sur place", "arrived"),
    ("fr", "je suis là", "arrived"),
    # late, with minutes
    ("en", "late 15", "late 15"),
    ("en", "15 min late", "late 15"),
    ("en", "running 10 mins late", "late 10"),
    ("en", "late 1h", "late 60"),
    ("en", "late 1h30", "late 90"),
    ("en", "half an hour late", "late 30"),
    ("en", "twenty five minutes late", "late 25"),
    ("en", "be there in 10 min", "late 10"),
    ("en", "arriving at 17h, 10 min late", "late 10"),
    ("en", "stuck in traffic", "late"),
    ("fr", "retard 10", "late 10"),
    ("fr", "en retard de 20 minutes", "late 20"),
    ("fr", "RETARD 10 MIN!!!", "late 10"),
    ("fr", "retrad 10", "late 10"),
    ("fr", "retard 1,5h", "late 90"),
    ("fr", "retard d'une heure et demie", "late 90"),
    ("fr", "vingt-cinq minutes de retard", "late 25"),
    ("fr", "j'arrive dans 5 minutes", "late 5"),
    ("fr", "retard 3/4 d'heure", "late 45"),
    ("fr", "retard, nouvelle heure d'arrivée 17h", "late"),
    # modified, with the new start
    ("en", "moved 16:30", "modified 16:30"),
    ("en", "new time 4:30pm", "modified 16:30"),
    ("en", "rescheduled to 3:30 pm", "modified 15:30"),
    ("en", "moved to noon", "modified 12:00"),
    ("en", "moved to tomorrow", "modified"),
    ("fr", "modifié 16h30", "modified 16:30"),
    ("fr", "décalé à 16h", "modified 16:00"),
    ("fr", "nouvel horaire 9h", "modified 09:00"),
    ("fr", "finalement 17h30", "modified 17:30"),
    ("fr", "décalé de 30 min", "modified"),
    # absent
    ("en", "client absent", "absent"),
    ("en", "no show", "absent"),
    ("en", "nobody home", "absent"),
    ("en", "the client isn't there", "absent"),
    ("fr", "personne", "absent"),
    ("fr", "cliente absente", "absent"),
    ("fr", "la cliente n'est pas arrivée", "absent"),
    ("fr", "personne ne répond", "absent"),
    # client_cancel
    ("en", "client cancelled", "client_cancel"),
    ("en", "the client asked me to cancel", "client_cancel"),
    ("en", "she cancelled", "client_cancel"),
    ("fr", "client annule", "client_cancel"),
    ("fr", "la cliente vient d'annuler", "client_cancel"),
    ("fr", "annulé par la famille", "client_cancel"),
    # provider_cancel
    ("en", "I need to cancel", "provider_cancel"),
    ("en", "cancel booking", "provider_cancel"),
    ("en", "client is fine, I need to cancel", "provider_cancel"),
    ("en", "I have to cancle", "provider_cancel"),
    ("fr", "j'annule", "provider_cancel"),
    ("fr", "je dois annuler", "provider_cancel"),
    ("fr", "annuler", "provider_cancel"),
    ("fr", "il faut que j'annule", "provider_cancel"),
    # done
    ("en", "done", "done"),
    ("en", "All done!", "done"),
    ("en", "session completed", "done"),
    ("fr", "terminé", "done"),
    ("fr", "TERMINE", "done"),
    ("fr", "fini", "done"),
    ("fr", "c'est fait", "done"),
    ("fr", "mission terminée ✅", "done"),
    # help
    ("en", "help me", "help"),
    ("en", "I need help", "help"),
    ("fr", "aide svp", "help"),
    ("fr", "au secours", "help"),
    # stop / start said in a sentence (not carrier keywords, still a clear request)
    ("en", "STOP please", "stop"),
    ("en", "stop texting me", "stop"),
    ("fr", "arrêt svp", "stop"),
    ("en", "start please", "start"),
    # unknown, and negations that must not trigger the intent
    ("en", "hello", "unknown"),
    ("en", "12345", "unknown"),
    ("en", "not done yet", "unknown"),
    ("en", "I'll reply later", "unknown"),
    ("en", "where is the house", "unknown"),
    ("fr", "salut", "unknown"),
    ("fr", "pas encore fini", "unknown"),
    ("fr", "???", "unknown"),
    ("fr", "donne-moi le code", "unknown"),
]


def reply(written: str) -> Reply:
    """The Reply written "confirm", "late 15" (minutes) or "modified 16:30" (the new start)."""
    intent, _, value = written.partition(" ")
    if ":" in value:
        return Reply(intent, time=value)
    if value:
        return Reply(intent, minutes=int(value))
    return Reply(intent)


@pytest.mark.parametrize(("lang", "text", "expected"), EXAMPLES)
def test_examples(lang: str, text: str, expected: str) -> None:
    assert parse_reply(text, lang) == reply(expected)


def test_every_intent_has_examples_in_both_languages() -> None:
    covered = {(lang, reply(expected).intent) for lang, _, expected in EXAMPLES}
    for intent in INTENTS:
        if intent in ("stop", "start", "help"):
            continue  # carrier keywords, covered by the keyword table below as well
        assert ("en", intent) in covered, intent
        assert ("fr", intent) in covered, intent


@pytest.mark.parametrize(
    ("text", "keyword"),
    [
        ("STOP", "stop"),
        ("stop", "stop"),
        (" Stop. ", "stop"),
        ("STOPALL", "stop"),
        ("UNSUBSCRIBE", "stop"),
        ("END", "stop"),
        ("QUIT", "stop"),
        ("REVOKE", "stop"),
        ("OPTOUT", "stop"),
        ("opt-out", "stop"),
        ("CANCEL", "stop"),
        ("ARRET", "stop"),
        ("Arrêt", "stop"),
        ("START", "start"),
        ("unstop", "start"),
        ("HELP", "help"),
        ("help!", "help"),
        ("AIDE", "help"),
        ("INFO", "help"),
        # not keywords: other words, or the keyword not alone
        ("cancel booking", None),
        ("annuler", None),
        ("STOP please", None),
        ("help me", None),
        ("YES", None),
        ("oui", None),
        ("", None),
        ("stop " + "x" * 100, None),
    ],
)
def test_sms_keyword(text: str, keyword: str | None) -> None:
    assert sms_keyword(text) == keyword


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("CANCEL", "stop"),
        ("cancel", "stop"),
        ("STOP", "stop"),
        ("START", "start"),
        ("YES", "confirm"),
    ],
)
def test_keywords_through_parse_reply(text: str, intent: str) -> None:
    assert parse_reply(text, "en").intent == intent


def test_reply_to_json() -> None:
    assert reply_to_json(Reply("confirm")) == {"intent": "confirm"}
    assert reply_to_json(Reply("late", minutes=15)) == {"intent": "late", "minutes": 15}
    assert reply_to_json(Reply("modified", time="16:30")) == {
        "intent": "modified",
        "time": "16:30",
    }
    assert reply_to_json(parse_reply("retard 15", "fr")) == {"intent": "late", "minutes": 15}


@pytest.mark.parametrize(
    ("text", "normalized"),
    [
        ("Arrivé !! 👍", "arrive"),
        ("  D'ACCORD  ", "d accord"),
        ("Je suis  là\n", "je suis la"),
        ("cœur", "coeur"),
        ("ＯＵＩ", "oui"),
        ("moved 16:30", "moved 16:30"),
        ("new time 5.15pm", "new time 5.15pm"),
        ("retard 1,5h.", "retard 1.5h"),
        ("ok👍merci", "ok merci"),
        ("\x00\x07stop\x1b", "stop"),
    ],
)
def test_normalize(text: str, normalized: str) -> None:
    assert normalize(text) == normalized


# Noise that must never change the meaning of a reply.
NOISE: list[Callable[[str], str]] = [
    str.upper,
    str.title,
    lambda s: s + " !!!",
    lambda s: s + " 👍",
    lambda s: "🙂 " + s + "...",
    lambda s: f"  {s}\n",
    lambda s: s.replace("e", "é"),
    lambda s: s.replace("é", "e").replace("è", "e").replace("à", "a").replace("ç", "c"),
    lambda s: s.replace(" ", "  ").replace("'", "’"),
]


@pytest.mark.parametrize(("lang", "text", "expected"), EXAMPLES)
def test_case_punctuation_emoji_do_not_change_the_intent(
    lang: str, text: str, expected: str
) -> None:
    clean = parse_reply(text, lang)
    for noise in NOISE:
        noisy = noise(text)
        if sms_keyword(noisy) is None and sms_keyword(text) is None:
            assert parse_reply(noisy, lang) == clean, noisy


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300), st.sampled_from(["fr", "en", "de", ""]))
def test_random_text_never_raises(text: str, lang: str) -> None:
    reply = parse_reply(text, lang)
    assert reply.intent in INTENTS
    json.dumps(reply_to_json(reply))


SOUP = [
    "late", "retard", "15", "1h", "min", "moved", "16:30", "à", "client", "annule", "cancel",
    "no", "oui", "pas", "done", "here", "h", "30", ":", ".", "pm", "de", "quart", "d'heure",
    "demi", "heure", "et", "demie", "vingt", "cinq", "12:99", "99h", "0", "999", "in", "dans",
    "at", "stop", "😀", "\x00",
]  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(SOUP), max_size=12).map(" ".join))
def test_vocabulary_soup_never_raises(text: str) -> None:
    reply = parse_reply(text, "fr")
    assert reply.intent in INTENTS
    if reply.minutes is not None:
        assert reply.intent == "late" and 0 < reply.minutes <= 12 * 60
    if reply.time is not None:
        hours, minutes = reply.time.split(":")
        assert reply.intent == "modified" and 0 <= int(hours) <= 23 and 0 <= int(minutes) <= 59


@pytest.mark.parametrize(
    "text",
    [
        "a" * 2000,
        "late 1 " * 300,
        "\x00\x01\x02" * 700,
        "\ud800\udfff" * 500,
        "9" * 2000,
        "1:" * 1000,
        "client " * 300 + "cancel",
        "é" * 2000,
        "\u0301" * 2000,
    ],
)
def test_hostile_input_never_raises(text: str) -> None:
    assert parse_reply(text, "en").intent in INTENTS
