"""Translations and CLDR formatting: every user-visible string goes through here.

Messages are English msgids with named placeholders, translated first and filled after,
so that a translator can move placeholders around. French comes from the gettext
catalogue under locales/; a compiled .mo is used when present, otherwise the .po is
compiled in memory (a fresh checkout works before `pybabel compile`).
"""

from __future__ import annotations

import gettext
import io
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
_current: ContextVar[str] = ContextVar("carebot_language", default="en")


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for deferred strings
    """Mark a string for extraction without translating it yet."""
    return message


@cache
def _catalogue(lang: str) -> gettext.NullTranslations:
    """The compiled catalogue for a language (identity for English msgids)."""
    mo = LOCALES_DIR / lang / "LC_MESSAGES" / "messages.mo"
    po = LOCALES_DIR / lang / "LC_MESSAGES" / "messages.po"
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
    text = _catalogue(lang).gettext(message)
    return text.format(**params) if params else text


def ntr(lang: str, singular: str, plural: str, n: int, **params: object) -> str:
    """Translate a message with a count; `n` is also available as {n}."""
    text = _catalogue(lang).ngettext(singular, plural, n)
    return text.format(n=n, **params)


@contextmanager
def use_language(lang: str) -> Iterator[None]:
    """Handle one inbound message in its sender's language."""
    token = _current.set(lang)
    try:
        yield
    finally:
        _current.reset(token)


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
