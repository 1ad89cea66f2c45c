"""Translations and CLDR formatting: every user-visible string goes through here.

Messages are English msgids with named placeholders, translated first and filled after,
so that a translator can move placeholders around. French comes from the gettext
catalogue under locales/; a compiled .mo is used when present, otherwise the .po is
compiled in memory (a fresh checkout works before `pybabel compile`).

SMS has its own wording where the chat's would not fit GSM-7 (ç, ê, ô... make a whole SMS
UCS-2, or get folded into misspellings): `for_channel` marks a language as going by SMS,
and tr()/ntr() then take the message from the `sms` catalogue (locales/*/LC_MESSAGES/
sms.po, same msgids) when it has one. French typography is applied here, in one place, as
the message is filled: a narrow no-break space before : ; ? ! (the SMS renderer turns it
into a plain space), elision of de/le/la/que before a value starting with a vowel ("d'Alice
Martin"), and service names in lower case inside a sentence.
"""

from __future__ import annotations

import gettext
import io
import re
import string
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path

from babel.dates import format_date, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency

LANGUAGES = ("fr", "en")
LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
# The language of the person a message is being written for: the renderer (Desk.tell) sets
# it per recipient, aiogram-style, so that _() and lazy values read it instead of a `lang`
# passed by hand.
_current: ContextVar[str] = ContextVar("carebot_language", default="en")


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for deferred strings
    """Mark a string for extraction without translating it yet."""
    return message


class SmsLanguage(str):
    """A language code ('fr') that also says the text leaves by SMS; equal to the plain code,
    so Babel and every comparison see 'fr', while tr() prefers the SMS wording."""

    __slots__ = ()


def for_channel(lang: str, channel: str) -> str:
    """The language to write in for a channel: SMS gets the catalogue's SMS wording."""
    return SmsLanguage(lang) if channel == "sms" else str(lang)


@cache
def _catalogue(lang: str, domain: str = "messages") -> gettext.NullTranslations:
    """The compiled catalogue for a language (identity for English msgids)."""
    lang = str(lang)
    mo = LOCALES_DIR / lang / "LC_MESSAGES" / f"{domain}.mo"
    po = LOCALES_DIR / lang / "LC_MESSAGES" / f"{domain}.po"
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as handle:
            return gettext.GNUTranslations(handle)
    if po.exists():
        with po.open("rb") as handle:
            catalog = read_po(handle, locale=lang)
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        return gettext.GNUTranslations(buffer)
    return gettext.NullTranslations()


def normalize_language(lang: str | None, fallback: str = "fr") -> str:
    """One of the supported languages, from a preference or a Telegram language_code."""
    if lang:
        short = lang.split("-")[0].split("_")[0].lower()
        if short in LANGUAGES:
            return short
    return fallback if fallback in LANGUAGES else "en"


def tr(lang: str, message: str, **params: object) -> str:
    """Translate a message into `lang` and fill its named placeholders."""
    if not message:
        return ""  # gettext("") is the catalogue's header (Project-Id-Version...), not a text
    text = None
    if isinstance(lang, SmsLanguage):
        text = _catalogue(lang, "sms").gettext(message)
        text = None if text == message else text
    if text is None:
        text = _catalogue(lang).gettext(message)
    return _filled(lang, text, params)


def ntr(lang: str, singular: str, plural: str, n: int, **params: object) -> str:
    """Translate a message with a count; `n` is also available as {n}."""
    text = None
    if isinstance(lang, SmsLanguage):
        text = _catalogue(lang, "sms").ngettext(singular, plural, n)
        text = None if text in (singular, plural) else text
    if text is None:
        text = _catalogue(lang).ngettext(singular, plural, n)
    return _filled(lang, text, {"n": n, **params})


# --- French typography -------------------------------------------------------------------

NARROW_NBSP = "\u202f"
# A space (or none) before : ; ? ! that ends a word: French wants a narrow no-break space.
# ':' between digits (14:00) or before '/' (https://) is not punctuation of the sentence.
_BEFORE_PUNCTUATION = re.compile(r"(?<=[^\s(\[/])[ \u00a0\u202f]?([;:?!])(?=[\s\"')\]]|$)")
_ELIDED = re.compile(r"(?<![\w'])(de|le|la|que|jusque|lorsque|puisque|ne|je|me|te|se) $", re.I)
_VOWELS = frozenset("aeiouàâäéèêëîïôöùûüœæ" + "aeiouàâäéèêëîïôöùûüœæ".upper())
# Placeholders holding service names, common nouns: lower case inside a sentence.
_COMMON_NOUNS = frozenset({"what", "service", "services"})
_ARTICLE = re.compile(r"(Les|Le) ")
_CONTRACTED = re.compile(r"(?<![\w'])(de|à) $", re.I)
_CONTRACTIONS = {("de", "le"): "du", ("de", "les"): "des", ("à", "le"): "au", ("à", "les"): "aux"}
_SENTENCE_START = re.compile(r"(^|[.!?\n]\s*)$")
_FORMATTER = string.Formatter()


def _spaced(text: str) -> str:
    """French text with a narrow no-break space before : ; ? !"""
    return _BEFORE_PUNCTUATION.sub(NARROW_NBSP + r"\1", text)


_punctuated = cache(_spaced)  # templates are few: each is spaced once


def typeset(lang: str, text: str) -> str:
    """A whole message as sent: French gets its narrow no-break spaces, also in the lines
    code composes around translated parts ("09:00-11:00 : gratuit")."""
    return _spaced(text) if lang == "fr" and text else text


def _lower_inside(value: str, at_start: bool) -> str:
    """'Garde d'enfants, Ménage' -> 'garde d'enfants, ménage' inside a sentence (the first
    kept at a sentence's start); an acronym (SPA) keeps its capitals."""
    items = value.split(", ")
    for i, item in enumerate(items):
        if item[1:2].islower() and not (i == 0 and at_start):
            items[i] = item[0].lower() + item[1:]
    return ", ".join(items)


def _filled(lang: str, template: str, params: dict[str, object]) -> str:
    """The template with its placeholders filled, and French typography for French."""
    if lang != "fr":
        return template.format(**params) if params else template
    template = _punctuated(template)
    if not params:
        return template
    out = ""
    for literal, field, spec, conversion in _FORMATTER.parse(template):
        out += literal
        if field is None:
            continue
        value, _ = _FORMATTER.get_field(field, (), params)
        value = _FORMATTER.format_field(_FORMATTER.convert_field(value, conversion), spec or "")
        if field in _COMMON_NOUNS:
            value = _lower_inside(value, at_start=bool(_SENTENCE_START.search(out)))
        if value[:1] in _VOWELS and (elided := _ELIDED.search(out)):
            out = out[: elided.start()] + elided.group(1)[:-1] + "'"
        elif (article := _ARTICLE.match(value)) and (prep := _CONTRACTED.search(out)):
            # de + Les Petits Soins -> des Petits Soins, à + Le Bon Soin -> au Bon Soin
            joined = _CONTRACTIONS[(prep.group(1).lower(), article.group(1).lower())]
            joined = joined.capitalize() if prep.group(1)[0].isupper() else joined
            out, value = out[: prep.start()] + joined + " ", value[article.end() :]
        out += value
    return out


@contextmanager
def use_language(lang: str) -> Iterator[None]:
    """Write for one person: _() and current_language() answer in `lang` inside."""
    token = _current.set(lang)
    try:
        yield
    finally:
        _current.reset(token)


def current_language() -> str:
    """The language of the person being written for (see use_language)."""
    return _current.get()


def _(message: str, **params: object) -> str:
    """tr() in the current recipient's language (set by the renderer)."""
    return tr(_current.get(), message, **params)


def fmt_day(moment: datetime, lang: str) -> str:
    """'mardi 24 novembre' / 'Tuesday 24 November' (moment already in agency time)."""
    return str(format_date(moment.date(), "EEEE d MMMM", locale=lang))


def fmt_month(moment: datetime, lang: str) -> str:
    """'novembre 2026' / 'November 2026'."""
    return str(format_date(moment.date(), "LLLL y", locale=lang))


def fmt_time(moment: datetime, lang: str) -> str:
    """'14:00' in both languages (24-hour, as the agency file writes times)."""
    return str(format_time(moment.time(), "HH:mm", locale=lang))


def fmt_day_time(moment: datetime, lang: str) -> str:
    """'mardi 24 novembre à 14:00' / 'Tuesday 24 November at 14:00'."""
    return tr(lang, "{day} at {time}", day=fmt_day(moment, lang), time=fmt_time(moment, lang))


def fmt_window(start: datetime, end: datetime, lang: str) -> str:
    """'mardi 24 novembre, 14:00-18:00' (the end's day is named when it differs)."""
    if end - start <= timedelta(hours=24):
        return f"{fmt_day(start, lang)}, {fmt_time(start, lang)}-{fmt_time(end, lang)}"
    return f"{fmt_day_time(start, lang)} - {fmt_day_time(end, lang)}"


def fmt_money(amount: Decimal, currency: str, lang: str) -> str:
    """'40,00 €' / '€40.00', per CLDR."""
    return str(format_currency(amount, currency, locale=lang))


def fmt_hours(minutes: int, lang: str) -> str:
    """A duration: '4 h', '2 h 30'."""
    hours, rest = divmod(minutes, 60)
    if rest == 0:
        return tr(lang, "{hours} h", hours=hours)
    return tr(lang, "{hours} h {minutes:02d}", hours=hours, minutes=rest)
