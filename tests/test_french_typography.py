"""French that reads as French (issue 14, item 7), over every French message the transcripts send.

Chat text puts a narrow no-break space (U+202F) before : ; ? ! ; an SMS body, where U+202F
is not GSM-7, a plain space. De, le, la, que elide before a vowel ("d'Alice Martin"),
service names are lower case inside a sentence, escalations are "signalements", numbers
are written "n° 12" (never "#12"), and providers are not "intervenants" (a masculine
word for people who are often women).
"""

from __future__ import annotations

import asyncio
import re

import pytest

from bench.sms_bodies import Sent, collect
from bot.i18n import for_channel, tr, typeset

# A : ; ? ! ending a sentence or a clause (not 14:00, not https://), and what precedes it.
PUNCTUATION = re.compile(r"(.?)([;:?!])(?=[\s\"')\]]|$)")
NOT_ELIDED = re.compile(
    r"(?<![\w'])(de|le|la|que|jusque|lorsque|puisque|ne|je|me|se) "
    r"(?!ou\b)[aeiouàâéèêîïôûAEIOUÀÂÉÈÊÎÏÔÛ]",  # "le ou la" is no elision
    re.IGNORECASE,
)
NOT_CONTRACTED = re.compile(r"(?<![\w'])(de|à) (Le|Les) ")
SERVICES = ("Garde d'enfants", "Ménage", "Massage")
# A capital service name after a word: inside a sentence.
SERVICE_INSIDE = re.compile(rf"[\w,'] ({'|'.join(SERVICES)})")
WRONG_WORDS = re.compile(r"escalade|intervenant|#\d|n°\d", re.IGNORECASE)


@pytest.fixture(scope="module")
def french() -> list[Sent]:
    return [m for m in asyncio.run(collect()) if m.lang == "fr"]


def _texts(message: Sent) -> list[str]:
    """What the person reads: the SMS body, or the chat text and each button."""
    if message.channel == "sms":
        return [message.body]
    return [message.text, *message.labels]


def typography_problems(text: str, channel: str) -> list[str]:
    """Every rule of French typography the text breaks."""
    space = " " if channel == "sms" else "\u202f"
    found = [
        f"{match.group(2)!r} after {match.group(1)!r}, not {space!r}"
        for match in PUNCTUATION.finditer(text)
        if match.group(1) != space and match.start(2) > 0 and text[match.start(2) - 1] != "\n"
    ]
    found += [f"not elided: {m.group()!r}" for m in NOT_ELIDED.finditer(text)]
    found += [f"not contracted: {m.group()!r}" for m in NOT_CONTRACTED.finditer(text)]
    found += [
        f"capital service inside a sentence: {m.group()!r}" for m in SERVICE_INSIDE.finditer(text)
    ]
    found += [f"wrong word: {m.group()!r}" for m in WRONG_WORDS.finditer(text)]
    return found


def test_every_french_message_of_the_transcripts_follows_french_typography(
    french: list[Sent],
) -> None:
    assert len({m.channel for m in french}) == 2 and len(french) > 100
    problems = []
    for message in french:
        for text in _texts(message):
            problems += [
                (message.chat, p, text) for p in typography_problems(text, message.channel)
            ]
    assert not problems, "\n".join(map(repr, problems))


@pytest.mark.parametrize(
    ("text", "channel", "problem"),
    [
        ("Solde : 10,00 €", "telegram", "':' after ' '"),
        ("Solde: 10,00 €", "sms", "':' after 'e'"),
        ("Solde\u202f: 10,00 €", "sms", "':' after '\\u202f'"),
        ("Demande de Alice Martin", "telegram", "not elided"),
        ("l'assistant de Les Petits Soins", "telegram", "not contracted"),
        ("Merci pour Garde d'enfants", "telegram", "capital service"),
        ("Escalade n°1", "telegram", "wrong word"),
        ("Demande #2", "telegram", "wrong word"),
    ],
)
def test_the_checker_sees_each_fault(text: str, channel: str, problem: str) -> None:
    assert any(problem in p for p in typography_problems(text, channel))


def test_the_checker_passes_good_french() -> None:
    text = "Signalement n° 2\u202f: demande d'Alice Martin (garde d'enfants, 14:00-18:00)\u202f?"
    assert typography_problems(text, "telegram") == []
    assert typography_problems(text.replace("\u202f", " "), "sms") == []


def test_filling_a_french_message_elides_contracts_and_spaces() -> None:
    assert tr("fr", "Message from {member}: {text}", member="Alice Martin", text="ok") == (
        "Message d'Alice Martin\u202f: ok"
    )
    assert tr("fr", "Message from {member}: {text}", member="Bob Smith", text="ok") == (
        "Message de Bob Smith\u202f: ok"
    )
    greeting = tr(
        "fr",
        "Hello! I am the assistant of {agency}. To recognise you, please share your phone "
        "number with the button below.",
        agency="Les Petits Soins",
    )
    assert greeting.startswith("Bonjour\u202f! Je suis l'assistant des Petits Soins.")
    assert tr("fr", "Services: {services}", services="Garde d'enfants, Ménage, SPA") == (
        "Prestations\u202f: garde d'enfants, ménage, SPA"
    )
    assert typeset("fr", "• mardi, 09:00-11:00: gratuit") == "• mardi, 09:00-11:00\u202f: gratuit"
    assert typeset("en", "Balance: 10") == "Balance: 10"


def test_sms_french_takes_the_sms_wording_and_the_chat_keeps_its_own() -> None:
    msgid = (
        "{provider} has had to cancel your session ({what}). Our team is looking for a "
        "replacement: no need to book again."
    )
    chat = tr("fr", msgid, provider="Marie Dupont", what="Ménage, mardi 24 novembre")
    sms = tr(for_channel("fr", "sms"), msgid, provider="Marie Dupont", what="Ménage, mardi")
    assert "a dû annuler" in chat and "remplaçant" in chat
    assert "ne pourra pas assurer" in sms and "(ménage, mardi)" in sms
    assert for_channel("fr", "sms") == "fr" and for_channel("fr", "telegram") == "fr"
