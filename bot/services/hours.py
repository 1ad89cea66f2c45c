"""A provider's own hours (§9): the schedule a change gives, what it breaks, applying it."""

from __future__ import annotations

from datetime import date, timedelta

from babel.dates import format_date

from bot.domain.agency import AvailabilityWindow, Provider
from bot.domain.availability import covers
from bot.domain.booking import Request, Status
from bot.i18n import fmt_day, tr
from bot.nlu.hours import HoursChange
from bot.services import dayof
from bot.services.asking import ANSWER_DEADLINE
from bot.services.booking import provider_unavailable
from bot.services.desk import Desk

Schedule = tuple[tuple[AvailabilityWindow, ...], frozenset[date]]
# What a provider holds or has been asked and not answered: what a change must not break.
AT_STAKE = (Status.PENDING, Status.CONFIRMED)


def _merge(windows: list[AvailabilityWindow]) -> tuple[AvailabilityWindow, ...]:
    """Join touching or overlapping windows of the same weekday, in week order."""
    merged: list[AvailabilityWindow] = []
    for w in sorted(windows, key=lambda w: (w.weekday, w.start, w.end)):
        last = merged[-1] if merged else None
        if last is not None and last.weekday == w.weekday and w.start <= last.end:
            merged[-1] = AvailabilityWindow(w.weekday, last.start, max(last.end, w.end))
        else:
            merged.append(w)
    return tuple(merged)


def _without(window: AvailabilityWindow, start: int, end: int) -> list[AvailabilityWindow]:
    """A window with [start, end) taken out of it: nothing, itself, or one or two pieces."""
    pieces = []
    if window.start < start:
        pieces.append(AvailabilityWindow(window.weekday, window.start, min(window.end, start)))
    if end < window.end:
        pieces.append(AvailabilityWindow(window.weekday, max(window.start, end), window.end))
    return pieces


def changed(provider: Provider, change: HoursChange, today: date) -> Schedule | None:
    """The schedule after a change, or None when a day to take back is not a day off."""
    windows = list(provider.availability)
    off = {d for d in provider.unavailable if d >= today}
    if change.kind == "add_window" and change.start is not None and change.end is not None:
        windows += [AvailabilityWindow(day, change.start, change.end) for day in change.weekdays]
    elif change.kind == "remove_window":
        start = change.start if change.start is not None else 0
        end = change.end if change.end is not None else 24 * 60
        windows = [
            piece
            for w in windows
            for piece in (_without(w, start, end) if w.weekday in change.weekdays else [w])
        ]
    elif change.kind == "days_off":
        off |= {d for d in change.days if d >= today}
    elif change.kind == "day_back":
        for day in change.days:
            # "finalement dispo le 24" names the day of the month of a day off already taken.
            same = sorted(d for d in off if d.day == day.day) if day not in off else [day]
            if not same:
                return None
            off.discard(same[0])
    return _merge(windows), frozenset(off)


async def at_risk(desk: Desk, provider: Provider, schedule: Schedule) -> list[Request]:
    """Upcoming requests the provider holds or was asked about that the new schedule breaks."""
    windows, off = schedule
    broken = []
    for request in await desk.tx.requests.of_provider(provider.id, AT_STAKE):
        if request.start <= desk.now:
            continue
        start, end = desk.local(request.start), desk.local(request.end)
        was = covers(provider.availability, provider.unavailable, start, end)
        if was and not covers(windows, off, start, end):
            broken.append(request)
    return broken


async def apply(desk: Desk, provider: Provider, schedule: Schedule) -> None:
    """Store the new schedule; what it breaks is handled as the provider cancelling (§9.2)."""
    broken = await at_risk(desk, provider, schedule)
    await desk.tx.roster.set_schedule(provider.id, *schedule)
    offers = {o.request_id: o for o in await desk.tx.offers.open_for(provider.id)}
    for request in broken:
        offer = offers.get(request.id)
        if request.status is Status.PENDING and offer is not None:
            await desk.tx.offers.answer(offer.id, "decline", desk.now)
            await desk.tx.timers.cancel(request.id, [ANSWER_DEADLINE])
            await provider_unavailable(desk, request, provider, "provider_cancelled")
        elif request.status is Status.CONFIRMED:
            await dayof.provider_cancels(desk, provider, request)


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def weekday_name(weekday: int, lang: str) -> str:
    """'lundi' / 'Monday'."""
    monday = date(2024, 1, 1)  # a Monday
    return str(format_date(monday + timedelta(days=weekday), "EEEE", locale=lang))


def describe_schedule(desk: Desk, schedule: Schedule, lang: str) -> str:
    """The weekly hours, one line per day, and the upcoming days off."""
    windows, off = schedule
    lines = [tr(lang, "Your weekly hours:")]
    by_day: dict[int, list[str]] = {}
    for w in windows:
        by_day.setdefault(w.weekday, []).append(f"{_clock(w.start)}-{_clock(w.end)}")
    if not by_day:
        lines.append(tr(lang, "none"))
    runs: list[tuple[int, int, list[str]]] = []  # first day, last day, windows
    for day in sorted(by_day):
        if runs and runs[-1][1] == day - 1 and runs[-1][2] == by_day[day]:
            runs[-1] = (runs[-1][0], day, by_day[day])
        else:
            runs.append((day, day, by_day[day]))
    for first, last, spans in runs:
        days = weekday_name(first, lang).capitalize()
        if last != first:
            days += "-" + weekday_name(last, lang)
        lines.append(f"{days} {', '.join(spans)}")
    today = desk.local(desk.now).date()
    upcoming = sorted(d for d in off if d >= today)
    if upcoming:
        shown = ", ".join(
            fmt_day(desk.local(desk.now).replace(year=d.year, month=d.month, day=d.day), lang)
            for d in upcoming[:8]
        )
        more = len(upcoming) - 8
        lines.append(
            tr(lang, "Days off: {days}", days=shown + (f" (+{more})" if more > 0 else ""))
        )
    else:
        lines.append(tr(lang, "No day off planned."))
    return "\n".join(lines)
