"""Asking a provider: the answer deadline every offer sets, and the one question that puts a
whole weekly series to a provider (§8.2).

Its own module because both bot.services.booking (staff offer a declined series to another
provider) and bot.services.series (a new series) ask it, and series builds on booking.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import partial

from babel.dates import format_date

from bot.domain.agency import Member, Provider, Service
from bot.domain.booking import Request, Series, answer_deadline
from bot.i18n import N_, fmt_day, fmt_day_time, tr
from bot.services.actions import action
from bot.services.desk import Desk
from bot.services.notices import Label

ANSWER_DEADLINE = "answer_deadline"


def at(desk: Desk, day: date, minutes: int) -> datetime:
    """A local day and minute of the day as a moment (agency time zone)."""
    return datetime.combine(
        day + timedelta(days=minutes // 1440),
        time((minutes % 1440) // 60, minutes % 60),
        tzinfo=desk.tz,
    )


def weekday_label(day: date, lang: str) -> str:
    """'mardi' / 'Tuesday'."""
    return str(format_date(day, "EEEE", locale=lang))


def describe_series(desk: Desk, series: Series, service: Service, lang: str) -> str:
    """'Childcare, every Tuesday 18:00-20:00'."""
    day = series.first_day
    return tr(
        lang,
        "{service}, every {weekday} {start}-{end}",
        service=service.label(lang),
        weekday=weekday_label(day, lang),
        start=at(desk, day, series.start_min).strftime("%H:%M"),
        end=at(desk, day, series.end_min).strftime("%H:%M"),
    )


async def ask_series(
    desk: Desk,
    series: Series,
    member: Member,
    service: Service,
    provider: Provider,
    asked: list[Request],
) -> None:
    """One question for the whole series, on its first occurrence waiting for the provider
    (at booking, or when staff offer the series to another provider)."""
    first = asked[0]
    deadline = answer_deadline(desk.now, first.start, desk.agency.policy, desk.tz)
    offer = await desk.tx.offers.add(first.id, provider.id, desk.now, deadline)
    await desk.tx.timers.add(ANSWER_DEADLINE, deadline, first.id, offer.id)
    options: list[tuple[Label, str]] = [
        (N_("Yes, I confirm"), action("oa", offer.id, "y")),
        (N_("No, I decline"), action("oa", offer.id, "n")),
    ]
    await desk.tell(
        provider,
        "New weekly request from {member}: {what}, from {first} ({n} sessions so far, "
        "more as the weeks go by). Can you take them all? Please answer before "
        "{deadline}.",
        options,
        member=member.name,
        what=partial(describe_series, desk, series, service),
        first=partial(fmt_day, desk.local(first.start)),
        n=len(asked),
        deadline=partial(fmt_day_time, desk.local(deadline)),
    )
