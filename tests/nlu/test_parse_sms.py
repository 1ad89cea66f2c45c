"""Provider replies (`carebot parse-sms`): intents, values, carrier keywords, robustness."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.nlu.replies import INTENTS, Reply, normalize, parse_reply, reply_to_json, sms_keyword

DEV_SET = Path(__file__).resolve().parent / "data" / "sms-dev.jsonl"


def test_dev_set_accuracy() -> None:
    cases = [json.loads(line) for line in DEV_SET.read_text("utf-8").splitlines() if line.strip()]
    failures = []
    for case in cases:
        got = reply_to_json(parse_reply(case["text"], case["lang"]))
        if got != case["expect"]:
            failures.append(f"{case['lang']} {case['text']!r}: got {got}, want {case['expect']}")
    accuracy = 1 - len(failures) / len(cases)
    assert accuracy >= 0.95, f"accuracy {accuracy:.1%}, failures:\n" + "\n".join(failures)


# (lang, text, intent, minutes or time)
EXAMPLES: list[tuple[str, str, str, int | str | None]] = [
    # confirm
    ("en", "yes", "confirm", None),
    ("en", "Y", "confirm", None),
    ("en", "ok", "confirm", None),
    ("en", "Sure, I'll take it!", "confirm", None),
    ("en", "no problem", "confirm", None),
    ("en", "count me in 👍", "confirm", None),
    ("fr", "oui", "confirm", None),
    ("fr", "OUIII", "confirm", None),
    ("fr", "d'accord", "confirm", None),
    ("fr", "daccord", "confirm", None),
    ("fr", "je confirme", "confirm", None),
    ("fr", "pas de souci", "confirm", None),
    ("fr", "ça marche", "confirm", None),
    # decline
    ("en", "no", "decline", None),
    ("en", "n", "decline", None),
    ("en", "No, not available", "decline", None),
    ("en", "sorry I can't", "decline", None),
    ("fr", "non", "decline", None),
    ("fr", "pas dispo", "decline", None),
    ("fr", "Non merci, je ne peux pas", "decline", None),
    ("fr", "indisponible", "decline", None),
    ("fr", "je ne serai pas là", "decline", None),
    # arrived
    ("en", "arrived", "arrived", None),
    ("en", "here", "arrived", None),
    ("en", "I'm here", "arrived", None),
    ("en", "on site", "arrived", None),
    ("en", "arived", "arrived", None),
    ("fr", "arrivé", "arrived", None),
    ("fr", "Arrivée ✅", "arrived", None),
    ("fr", "sur place", "arrived", None),
    ("fr", "je suis là", "arrived", None),
    # late, with minutes
    ("en", "late 15", "late", 15),
    ("en", "15 min late", "late", 15),
    ("en", "running 10 mins late", "late", 10),
    ("en", "late 1h", "late", 60),
    ("en", "late 1h30", "late", 90),
    ("en", "half an hour late", "late", 30),
    ("en", "twenty five minutes late", "late", 25),
    ("en", "be there in 10 min", "late", 10),
    ("en", "arriving at 17h, 10 min late", "late", 10),
    ("en", "stuck in traffic", "late", None),
    ("fr", "retard 10", "late", 10),
    ("fr", "en retard de 20 minutes", "late", 20),
    ("fr", "RETARD 10 MIN!!!", "late", 10),
    ("fr", "retrad 10", "late", 10),
    ("fr", "retard 1,5h", "late", 90),
    ("fr", "retard d'une heure et demie", "late", 90),
    ("fr", "vingt-cinq minutes de retard", "late", 25),
    ("fr", "j'arrive dans 5 minutes", "late", 5),
    ("fr", "retard 3/4 d'heure", "late", 45),
    ("fr", "retard, nouvelle heure d'arrivée 17h", "late", None),
    # modified, with the new start
    ("en", "moved 16:30", "modified", "16:30"),
    ("en", "new time 4:30pm", "modified", "16:30"),
    ("en", "rescheduled to 3:30 pm", "modified", "15:30"),
    ("en", "moved to noon", "modified", "12:00"),
    ("en", "moved to tomorrow", "modified", None),
    ("fr", "modifié 16h30", "modified", "16:30"),
    ("fr", "décalé à 16h", "modified", "16:00"),
    ("fr", "nouvel horaire 9h", "modified", "09:00"),
    ("fr", "finalement 17h30", "modified", "17:30"),
    ("fr", "décalé de 30 min", "modified", None),
    # absent
    ("en", "client absent", "absent", None),
    ("en", "no show", "absent", None),
    ("en", "nobody home", "absent", None),
    ("en", "the client isn't there", "absent", None),
    ("fr", "personne", "absent", None),
    ("fr", "cliente absente", "absent", None),
    ("fr", "la cliente n'est pas arrivée", "absent", None),
    ("fr", "personne ne répond", "absent", None),
    # client_cancel
    ("en", "client cancelled", "client_cancel", None),
    ("en", "the client asked me to cancel", "client_cancel", None),
    ("en", "she cancelled", "client_cancel", None),
    ("fr", "client annule", "client_cancel", None),
    ("fr", "la cliente vient d'annuler", "client_cancel", None),
    ("fr", "annulé par la famille", "client_cancel", None),
    # provider_cancel
    ("en", "I need to cancel", "provider_cancel", None),
    ("en", "cancel booking", "provider_cancel", None),
    ("en", "client is fine, I need to cancel", "provider_cancel", None),
    ("en", "I have to cancle", "provider_cancel", None),
    ("fr", "j'annule", "provider_cancel", None),
    ("fr", "je dois annuler", "provider_cancel", None),
    ("fr", "annuler", "provider_cancel", None),
    ("fr", "il faut que j'annule", "provider_cancel", None),
    # done
    ("en", "done", "done", None),
    ("en", "All done!", "done", None),
    ("en", "session completed", "done", None),
    ("fr", "terminé", "done", None),
    ("fr", "TERMINE", "done", None),
    ("fr", "fini", "done", None),
    ("fr", "c'est fait", "done", None),
    ("fr", "mission terminée ✅", "done", None),
    # help
    ("en", "help me", "help", None),
    ("en", "I need help", "help", None),
    ("fr", "aide svp", "help", None),
    ("fr", "au secours", "help", None),
    # stop / start said in a sentence (not carrier keywords, still a clear request)
    ("en", "STOP please", "stop", None),
    ("en", "stop texting me", "stop", None),
    ("fr", "arrêt svp", "stop", None),
    ("en", "start please", "start", None),
    # unknown, and negations that must not trigger the intent
    ("en", "hello", "unknown", None),
    ("en", "12345", "unknown", None),
    ("en", "not done yet", "unknown", None),
    ("en", "I'll reply later", "unknown", None),
    ("en", "where is the house", "unknown", None),
    ("fr", "salut", "unknown", None),
    ("fr", "pas encore fini", "unknown", None),
    ("fr", "???", "unknown", None),
    ("fr", "donne-moi le code", "unknown", None),
]


def _expected(intent: str, value: int | str | None) -> Reply:
    if isinstance(value, int):
        return Reply(intent, minutes=value)
    if isinstance(value, str):
        return Reply(intent, time=value)
    return Reply(intent)


@pytest.mark.parametrize(("lang", "text", "intent", "value"), EXAMPLES)
def test_examples(lang: str, text: str, intent: str, value: int | str | None) -> None:
    assert parse_reply(text, lang) == _expected(intent, value)


def test_every_intent_has_examples_in_both_languages() -> None:
    covered = {(lang, intent) for lang, _, intent, _ in EXAMPLES}
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


@pytest.mark.parametrize(("lang", "text", "intent", "value"), EXAMPLES)
def test_case_punctuation_emoji_do_not_change_the_intent(
    lang: str, text: str, intent: str, value: int | str | None
) -> None:
    expected = parse_reply(text, lang)
    for noise in NOISE:
        noisy = noise(text)
        if sms_keyword(noisy) is None and sms_keyword(text) is None:
            assert parse_reply(noisy, lang) == expected, noisy


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
