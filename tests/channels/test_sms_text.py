"""SMS text (product §6): numbered options, plain characters, and never more than 2 segments."""

from __future__ import annotations

import re
import string
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.agency_file import load_agency_file
from bot.clock import VirtualClock
from bot.flows.router import Text
from bot.handlers.sms_text import (
    cut,
    encoding,
    fold_to_gsm7,
    normalise,
    render_sms,
    segments,
)
from bot.i18n import (
    fmt_day,
    fmt_day_time,
    fmt_hours,
    fmt_money,
    fmt_time,
    fmt_window,
    for_channel,
    ntr,
    tr,
)
from bot.root import open_carebot
from tests.conftest import AGENCY, ROOT, paris

LONG_NAME = "Marie-Christine Dupont-Lefebvre"
# A Wednesday in December, odd minutes: the longest dates and times the formats produce.
START = datetime(2026, 12, 30, 14, 45)
END = START + timedelta(hours=3, minutes=30)


# --- normalisation and counting -----------------------------------------------------------


def test_cldr_spaces_and_typography_become_plain_gsm_characters() -> None:
    amount = fmt_money(Decimal("1234.50"), "EUR", "fr")
    assert "\u202f" in amount or "\u00a0" in amount  # what Babel really produces
    text = normalise(f"Prix\u00a0: {amount} — l’équipe « vous » répond…")
    assert text == 'Prix : 1 234,50 € - l\'équipe "vous" répond...'
    assert encoding(text) == "GSM-7"


def test_accents_are_kept_and_decorations_dropped() -> None:
    assert normalise("Réservé ✅ pour Chloé 👍") == "Réservé pour Chloé"
    assert normalise("<b>Ça</b> coûte\u200910\u00a0€") == "Ça coûte 10 €"
    assert encoding("coûte") == "UCS-2"  # û is not GSM-7: kept unless the SMS would not fit


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),  # the extension table costs two septets
        ("€" * 81, 2),
        ("a" * 152 + "€" + "a" * 151, 2),
        ("a" * 152 + "€" + "a" * 152, 3),  # 306 septets, but an escape is never split
        ("ç" * 70, 1),  # one character outside GSM-7: UCS-2
        ("ç" * 71, 2),
        ("ç" * 134, 2),
        ("ç" * 135, 3),
        ("é" * 160, 1),  # é is GSM-7
    ],
)
def test_segments_follow_gsm7_and_ucs2_sizes(text: str, count: int) -> None:
    assert segments(text) == count


def test_options_are_a_numbered_list_after_the_text() -> None:
    assert render_sms("Which service?", ["Childcare", "Cleaning"]) == (
        "Which service?\n1. Childcare\n2. Cleaning"
    )


def test_a_long_message_is_shortened_labels_first_and_keeps_every_number() -> None:
    labels = [f"{LONG_NAME} - 4.9 - Auxiliaire de puériculture, 6 ans d'expérience"] * 6
    body = render_sms("Disponibles, du plus adapté au moins adapté :", labels)
    assert segments(body) <= 2
    assert body.startswith("Disponibles, du plus adapté au moins adapté :")
    assert [line.split(".")[0] for line in body.splitlines()[1:]] == ["1", "2", "3", "4", "5", "6"]


def test_a_french_word_is_never_folded_into_another_word_or_a_misspelling() -> None:
    short = "Ça coûte 10 €, reçu."
    assert render_sms(short) == short
    long = "Votre séance a dû être déplacée ; " * 5
    body = render_sms(long)
    assert segments(long) > 2 and segments(body) <= 2
    assert " du etre " not in body and body.endswith("a dû être...")  # cut at a word, not folded
    assert (
        fold_to_gsm7("Côté français, À demain, aîné, tôt") == "Côté français, À demain, aîné, tôt"
    )


def test_names_ligatures_and_august_fold_when_that_avoids_cutting() -> None:
    assert fold_to_gsm7("Léa-Françoise et Anaïs, cœur, le 3 août") == (
        "Léa-Francoise et Anais, coeur, le 3 aout"
    )
    text = "Françoise Anaïs Jérôme a confirmé votre réservation, merci. " * 4
    body = render_sms(text)
    assert encoding(body) == "GSM-7" and "Francoise Anais Jérome" in body and "..." not in body


def test_escape_is_not_a_gsm7_character() -> None:
    assert encoding("a\x1bb") == "UCS-2"
    assert segments("a" * 150 + "\x1b") == 3  # 151 UCS-2 units
    assert normalise("code\x1b 12") == "code 12"  # a control character never reaches a phone


def test_decomposed_accents_are_composed_first() -> None:
    decomposed = "Re\u0301servation confirme\u0301e"
    assert encoding(decomposed) == "UCS-2"
    assert normalise(decomposed) == "Réservation confirmée"
    assert encoding(render_sms(decomposed * 8)) == "GSM-7"


def test_a_segment_boundary_never_separates_a_letter_from_its_accent() -> None:
    # q + combining tilde has no composed form: the pair rides in one segment.
    text = "a" * 66 + "q\u0303" + "a" * 66
    assert segments(text) == 3  # 134 units, but 66 | q~ + 65 | a: the pair is not split
    assert segments("a" * 65 + "q\u0303" + "a" * 67) == 2  # 65 + q~ fill the first exactly
    assert segments("a" * 65 + "q\u0303") == 1


def test_option_lists_drop_bios_before_names_and_never_cut_a_word() -> None:
    bio = "Auxiliaire de puériculture, 6 ans d'expérience auprès des tout-petits"
    labels = [f"{LONG_NAME} {n} · ★4.9 · {bio}" for n in range(1, 5)] + ["Abandonner"]
    text = 'Disponibles, du plus adapté au moins adapté ("info 1" affiche un profil) :'
    body = render_sms(text, labels)
    assert segments(body) <= 2 and "..." not in body
    assert body.startswith(text)
    for n in range(1, 5):
        assert f"{n}. {LONG_NAME} {n}" in body  # every name whole
    assert "puériculture" not in body  # the bios went first


def test_a_cut_ends_at_a_word() -> None:
    assert cut("Bonjour tout le monde", 15) == "Bonjour tout..."
    assert cut("Bonjour tout le monde", 14) == "Bonjour..."
    assert cut("Anticonstitutionnellement", 10) == ""


@settings(max_examples=200, deadline=None)
@given(
    st.text(max_size=2500),
    st.lists(st.text(max_size=120), max_size=25),
)
def test_any_text_and_options_fit_in_two_segments_with_their_numbers(
    text: str, labels: list[str]
) -> None:
    body = render_sms(text, labels)
    assert segments(body) <= 2
    numbers = [int(m) for m in re.findall(r"^(\d+)\.", body, flags=re.MULTILINE)]
    assert set(range(1, len(labels) + 1)) <= set(numbers)


# --- every template of both catalogues, with realistic long values ------------------------


def _values(lang: str, name: str = LONG_NAME) -> dict[str, object]:
    """A long but realistic value for every placeholder, through the real formats."""
    service = "Garde d'enfants" if lang == "fr" else "Childcare"
    window = fmt_window(START, END, lang)
    money = fmt_money(Decimal("1234.50"), "EUR", lang)
    day_time = fmt_day_time(START, lang)
    return {
        **dict.fromkeys(("member", "provider", "name", "staff", "who"), name),
        **dict.fromkeys(("amount", "fee", "price", "charge", "balance", "old", "owed"), money),
        **dict.fromkeys(("when", "earliest", "opens"), day_time),
        "what": f"{service}, {window}",
        "window": window,
        "new": window,
        "deadline": fmt_time(START + timedelta(minutes=30), lang),
        "time": fmt_time(START, lang),
        "day": fmt_day(START, lang),
        "id": 12345,
        "n": 12,
        "hours": fmt_hours(270, lang),
        "minutes": 45,
        "days": 90,
        "credits": 12,
        "change": tr(lang, "new time: {window}", window=window),
        "notes": "Code 4521B, 2e étage à gauche, attention au chat.",
        "text": "Je suis en bas, le code ne marche pas, pouvez-vous descendre ?",
        "reason": "Mon fils est malade, je dois l'emmener chez le médecin.",
        "services": "Garde d'enfants, Ménage, Massage",
        "names": "Alice Martin (alice), Alice Bernard (alice-b)",
        "service": service,
        "spans": "17:00-20:00, 21:00-22:00",
        "rating": "4,9",
        "restored": tr(lang, "your session credit is restored"),
        "role": tr(lang, "provider"),
        "phone": "+33 6 12 34 56 78",
        "agency": "Les Petits Soins",
        "why": tr(lang, "{provider} did not answer in time.", provider=name),
        "done": tr(lang, "offered the request to {provider}.", provider=name),
        "choice": tr(lang, "Offer to {provider}", provider=name),
        # The web console's own lines (never sent by SMS, but in the same catalogue).
        "outcome": tr(lang, "offered the request to {provider}.", provider=name),
        "link": "https://agence-les-petits-soins.example.fr/console/signin?t=" + "x" * 86,
        "list": "Garde d'enfants, mardi 24 novembre, 09:00-11:00",
        "page": 100,
        "pages": 100,
        "total": 5000,
        # Weekly series (§8).
        "first": fmt_day(START, lang),
        "weekday": "mercredi" if lang.startswith("fr") else "Wednesday",
        "start": "18:00",
        "end": "20:00",
        "free": 8,
        "status": tr(lang, "confirmed"),
        "of": 9,
        "later": money,
        "until": tr(lang, "until {day}", day=fmt_day(END, lang)),
        "ids": ", ".join(tr(lang, "#{id}", id=12345 + n) for n in range(8)),
    }


def _templates() -> list[str | tuple[str, str]]:
    """Every msgid of the template: a string, or (singular, plural) for plural messages."""
    with (ROOT / "locales" / "messages.pot").open("rb") as handle:
        catalogue = read_po(handle)
    templates: list[str | tuple[str, str]] = []
    for message in catalogue:
        if isinstance(message.id, str):
            templates += [message.id] if message.id else []
        else:
            singular, plural = message.id[0], message.id[1]
            templates.append((singular, plural))
    return templates


def _fill(lang: str, msgid: str | tuple[str, str], name: str = LONG_NAME) -> str:
    values = _values(lang, name)
    names = {field for _, field, _, _ in string.Formatter().parse(str(msgid)) if field is not None}
    unknown = names - set(values) - {""}
    assert not unknown, f"give {sorted(unknown)} a realistic value in _values()"
    if isinstance(msgid, tuple):
        return ntr(lang, msgid[0], msgid[1], 12, **{k: v for k, v in values.items() if k != "n"})
    return tr(lang, msgid, **values)


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_every_template_fits_in_two_segments_without_being_cut(lang: str) -> None:
    templates = _templates()
    assert len(templates) > 150
    too_long = []
    for msgid in templates:
        text = _fill(for_channel(lang, "sms"), msgid)
        body = render_sms(text)
        assert segments(body) <= 2, (msgid, body)
        # The SMS wording needs neither a fold nor a cut (tests/test_french_sms.py says more).
        if body != normalise(text):
            too_long.append((msgid, body))
    assert not too_long, too_long


# --- every message of real conversations, with long names ------------------------------


def _long_names_agency(tmp_path: Path) -> Path:
    text = AGENCY.read_text(encoding="utf-8")
    for short, long in (
        ("Marie Dupont", LONG_NAME),
        ("Paul Girard", "Jean-Baptiste Girard-Beaumont"),
        ("Bob Smith", "Robert-Alexander Smith-Worthington"),
        ("David Petit", "David-Emmanuel Petitjean-Laurent"),
        ("Léa Moreau", "Léa-Françoise Moreau-Delacroix"),
    ):
        text = text.replace(f'"{short}"', f'"{long}"')
    path = tmp_path / "agency.toml"
    path.write_text(text, encoding="utf-8")
    return path


async def test_every_message_of_real_conversations_fits_with_numbers(tmp_path: Path) -> None:
    bot = await open_carebot(tmp_path / "carebot.db", VirtualClock(paris("2026-11-23 10:00")))
    try:
        await bot.import_agency(load_agency_file(_long_names_agency(tmp_path)))
        for person, text in [
            ("david", "aide"),
            ("bob", "help"),
            ("david", "Je voudrais une garde le mercredi 30 décembre de 14h45 à 18h15"),
            ("david", "1"),
            ("david", "1"),
            ("marie", "non"),
            ("bob", "childcare on Wednesday 30 December 8:15am to 11:45am"),
            ("bob", "1"),
            ("bob", "1"),
            ("marie", "yes"),
            ("bob", "my bookings"),
            ("bob", "cancel booking"),
            ("bob", "1"),
            ("bob", "1"),
            ("paul", "earnings"),
            ("marie", "gains"),
            ("fanny", "balance"),
            ("david", "modifier"),
            ("david", "7"),
        ]:
            await bot.receive_from(person, Text(text))
        messages = await bot.outbox_after(0)
    finally:
        await bot.close()
    assert len(messages) > 25
    for message in messages:
        body = render_sms(message.text, [label for label, _ in message.options])
        assert segments(body) <= 2, body
        for number in range(1, len(message.options) + 1):
            assert re.search(rf"^{number}\. ", body, flags=re.MULTILINE), body


def test_a_long_bio_in_an_option_ends_at_a_word() -> None:
    from bot.domain.agency import Provider
    from bot.flows.booking import _short_profile

    bio = "Auxiliaire de puériculture diplômée, dix ans en crèche puis à domicile"
    provider = Provider(id="z", name="Zoé Lambert", channel="sms", rating=4.5, bio={"fr": bio})
    label = _short_profile(provider, False, "fr")
    assert label.endswith("dix ans en…")
    shown = label.split(" · ")[-1].removesuffix("…")
    assert bio.startswith(shown) and bio[len(shown)] == " "
