"""How requests and money read in messages, each in the reader's language."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import partial

from bot.domain.booking import Request
from bot.i18n import fmt_money, fmt_time, fmt_window
from bot.services.desk import Desk
from bot.services.notices import Localized


def spans_text(spans: list[tuple[datetime, datetime]], lang: str) -> str:
    """'17:00-20:00' (several parts joined by commas)."""
    return ", ".join(f"{fmt_time(a, lang)}-{fmt_time(b, lang)}" for a, b in spans)


def describe(desk: Desk, request: Request, lang: str) -> str:
    """'Garde d'enfants, mardi 24 novembre, 14:00-18:00'."""
    service = desk.services[request.service_id].label(lang)
    return f"{service}, {fmt_window(desk.local(request.start), desk.local(request.end), lang)}"


def described(desk: Desk, request: Request) -> Localized:
    """describe(), written in the language of whoever reads it (for a notice's data)."""
    return partial(describe, desk, request)


def money(desk: Desk, amount: Decimal, lang: str) -> str:
    """An amount in the agency currency, formatted for `lang`."""
    return fmt_money(amount, desk.agency.currency, lang)


def priced(desk: Desk, amount: Decimal) -> Localized:
    """money(), written in the language of whoever reads it (for a notice's data)."""
    return partial(money, desk, amount)
