"""Providers keep their own hours by chat (§9): show, add, remove, and confirm what it breaks."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import partial

from bot.domain.agency import AvailabilityWindow, Provider
from bot.domain.booking import Request
from bot.flows.conversation import FlowState, leave, save
from bot.i18n import N_
from bot.nlu.hours import parse_hours
from bot.nlu.replies import parse_reply
from bot.services import hours
from bot.services.actions import Verb
from bot.services.desk import Desk
from bot.services.notices import Label, Lines, Localized, Notice
from bot.services.wording import describe


@dataclass
class NewHours(FlowState):
    """New hours that would break bookings, waiting for the provider's yes (step confirm)."""

    FLOW = Verb.HOURS
    GAVE_UP = Notice("All right, nothing was changed.")
    windows: list[tuple[int, int, int]] = field(default_factory=list)  # weekday, from, to
    off: list[date] = field(default_factory=list)  # days off, sorted


EXAMPLES = N_(
    'To change your hours, write for example "available Saturdays 9am-6pm", "no longer '
    'available on Saturdays", "off 24-26 December" or "available again on 24 December". '
    '"My availability" shows them.'
)


def _with_hours(desk: Desk, schedule: hours.Schedule, head: str | None = None) -> Lines:
    """A short head line (a catalogue message), then the weekly hours and days off."""
    hours_text = partial(hours.describe_schedule, desk, schedule)
    return Lines([Notice(head), hours_text] if head else [hours_text])


async def on_text(desk: Desk, provider: Provider, text: str) -> bool:
    """A message about the provider's own hours; False when it is about something else."""
    lang = desk.lang(provider)
    now = desk.local(desk.now).replace(tzinfo=None)
    change = parse_hours(text, now, lang)
    if change is None:
        return False
    # "pas dispo" answering a request waiting for them is a decline, not a day off.
    if parse_reply(text, lang).intent in ("confirm", "decline") and await desk.tx.offers.open_for(
        provider.id
    ):
        return False
    current: hours.Schedule = (provider.availability, provider.unavailable)
    if change.kind == "show":
        await leave(desk, provider)
        await desk.notify(provider, _with_hours(desk, current))
        return True
    if change.kind == "unclear":
        await desk.tell(provider, EXAMPLES)
        return True
    schedule = hours.changed(provider, change, now.date())
    if schedule is None:
        await desk.tell(provider, "That day is not one of your days off.")
        return True
    today = now.date()
    if schedule == (current[0], frozenset(d for d in current[1] if d >= today)):
        await desk.notify(provider, _with_hours(desk, current, N_("Nothing to change.")))
        return True
    broken = await hours.at_risk(desk, provider, schedule)
    if not broken:
        await leave(desk, provider)
        await hours.apply(desk, provider, schedule)
        await desk.notify(provider, _with_hours(desk, schedule, N_("Done.")))
        return True
    state = await save(
        desk,
        provider,
        NewHours(
            step="confirm",
            windows=[(w.weekday, w.start, w.end) for w in schedule[0]],
            off=sorted(schedule[1]),
        ),
    )
    lines: list[Notice | Localized] = [
        Notice(
            "This change would cancel what you hold or were asked for; the clients will be "
            "told and the agency will look for a replacement:"
        )
    ]
    for request in broken:
        member = await desk.tx.roster.person(request.member_id)
        lines.append(partial(_broken_line, desk, request, member.name))
    options: list[tuple[Label, str]] = [
        (N_("Yes, change my hours and cancel these"), state.act("ok")),
        (N_("No, keep my hours"), state.act("x")),
    ]
    await desk.notify(provider, Lines(lines, options))
    return True


async def on_press(desk: Desk, provider: Provider, state: NewHours, args: tuple[str, ...]) -> None:
    """'Yes, change my hours and cancel these' ('No, keep my hours' is the flow's give up)."""
    if args[0] != "ok":
        await leave(desk, provider, state.GAVE_UP)
        return
    await leave(desk, provider)
    schedule: hours.Schedule = (
        tuple(AvailabilityWindow(*w) for w in state.windows),
        frozenset(state.off),
    )
    # Read again: what is at stake may have changed since the question.
    provider_now = await desk.tx.roster.person(provider.id)
    assert isinstance(provider_now, Provider)
    await hours.apply(desk, provider_now, schedule)
    await desk.notify(provider, _with_hours(desk, schedule, N_("Done.")))


def _broken_line(desk: Desk, request: Request, member: str, lang: str) -> str:
    return f"• {describe(desk, request, lang)} - {member}"
