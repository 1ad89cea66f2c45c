"""Cancel (§7): upcoming bookings as options (+ all) -> what it costs -> done; and waivers."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import partial

from bot.domain.agency import Member
from bot.domain.booking import Request, Status
from bot.flows.conversation import FlowState, leave, load, save
from bot.i18n import N_, fmt_day_time, tr
from bot.services import asking, cancellations
from bot.services import series as weekly
from bot.services.actions import Verb
from bot.services.billing import request_waiver
from bot.services.desk import Desk
from bot.services.notices import Label, Lines, Localized, Notice, phrase
from bot.services.wording import describe

UPCOMING = (Status.PENDING, Status.ESCALATED, Status.CONFIRMED)
_NUMBERS = re.compile(r"\d+")


@dataclass
class Cancelling(FlowState):
    """A cancellation under way: steps pick, confirm."""

    FLOW = Verb.CANCEL
    GAVE_UP = Notice("All right, your bookings are unchanged.")
    cands: list[int] = field(default_factory=list)  # the requests offered
    chosen: list[int] = field(default_factory=list)
    reason: str | None = None
    end_series: list[int] = field(default_factory=list)  # series ended with their sessions


@dataclass
class Waiver(FlowState):
    """A waiver asked for: the member's next message is the reason."""

    FLOW = Verb.WAIVER
    request: int = 0


async def upcoming(
    desk: Desk, member: Member, statuses: tuple[Status, ...] = UPCOMING
) -> list[Request]:
    """A member's bookings that have not started yet, soonest first."""
    return [r for r in await desk.tx.requests.of_member(member.id, statuses) if r.start > desk.now]


async def label(desk: Desk, request: Request) -> Localized:
    """'mardi 24 novembre à 14:00 - Marie Dupont' (day, time and provider's name)."""
    name = (await desk.tx.roster.person(request.provider_id)).name if request.provider_id else None

    def written(lang: str) -> str:
        who = name or tr(lang, "provider to be found")
        return f"{fmt_day_time(desk.local(request.start), lang)} - {who}"

    return written


async def booking_options(
    desk: Desk, state: FlowState, bookings: list[Request]
) -> list[tuple[Label, str]]:
    """Each booking as an option (verb 'r'), labelled with its day, time and provider."""
    return [(await label(desk, r), state.act("r", r.id)) for r in bookings]


async def begin(desk: Desk, member: Member) -> None:
    """'annuler', 'cancel booking', /cancel."""
    bookings = await upcoming(desk, member)
    if not bookings:
        await leave(desk, member, Notice("You have no upcoming booking to cancel."))
        return
    state = await save(desk, member, Cancelling(step="pick", cands=[r.id for r in bookings]))
    options = await booking_options(desk, state, bookings)
    if len(bookings) > 1:
        options.append((phrase("All of them ({n})", n=len(bookings)), state.act("all")))
    # A weekly series can be ended in one go: all its upcoming sessions (§8.5).
    for series_id in dict.fromkeys(r.series_id for r in bookings if r.series_id is not None):
        series = await desk.tx.series.get(series_id)
        if series is not None:
            service = desk.services[series.service_id]
            what = partial(asking.describe_series, desk, series, service)
            options.append(
                (phrase("End the series: {what}", what=what), state.act("sr", series_id))
            )
    options.append(state.give_up())
    await desk.tell(
        member,
        'Which booking do you want to cancel? (Several: reply with their numbers, e.g. "1 3".)',
        options,
    )


async def on_text(desk: Desk, member: Member, text: str) -> bool:
    """Several numbers at the pick step; a reason at the confirm step."""
    state = await load(desk, member, Cancelling)
    if state is None:
        return False
    if state.step == "pick":
        numbers = [int(n) for n in _NUMBERS.findall(text)]
        cands = state.cands
        chosen = [cands[n - 1] for n in numbers if 1 <= n <= len(cands)]
        if chosen:
            await _summary(desk, member, state, chosen)
        else:
            await begin(desk, member)
        return True
    state.reason = text.strip()[:300]
    await _summary(desk, member, state, state.chosen)
    return True


async def on_press(desk: Desk, member: Member, state: Cancelling, args: tuple[str, ...]) -> None:
    """A tapped option of the cancel flow."""
    if args[0] == "all":
        await _summary(desk, member, state, state.cands)
    elif args[0] == "r" and len(args) > 1 and args[1].isdigit():
        await _summary(desk, member, state, [int(args[1])])
    elif args[0] == "sr" and len(args) > 1 and args[1].isdigit():
        await _from_on(desk, member, state, int(args[1]), None)
    elif args[0] == "fut" and state.chosen:
        first = await desk.tx.requests.get(state.chosen[0])
        if first.series_id is not None:
            await _from_on(desk, member, state, first.series_id, first)
    elif args[0] == "ok" and state.step == "confirm":
        await leave(desk, member)
        requests = [await desk.tx.requests.get(i) for i in state.chosen]
        await cancellations.cancel(
            desk,
            member,
            [r for r in requests if r.member_id == member.id],
            reason=state.reason,
        )
        for series_id in state.end_series:
            series = await desk.tx.series.get(series_id)
            if series is not None and series.member_id == member.id:
                await weekly.end_series(desk, series.id)
    else:
        await desk.stale(member)


async def _from_on(
    desk: Desk, member: Member, state: Cancelling, series_id: int, first: Request | None
) -> None:
    """'This and all future ones': the series' upcoming sessions from one on, and its end."""
    chosen = [
        r.id
        for r in await desk.tx.series.occurrences(series_id)
        if r.id in state.cands and (first is None or r.start >= first.start)
    ]
    state.end_series = [series_id]
    await _summary(desk, member, state, chosen)


async def _summary(desk: Desk, member: Member, state: Cancelling, chosen: list[int]) -> None:
    """What cancelling costs, before anything happens."""
    chosen = [i for i in chosen if i in state.cands]
    state.step, state.chosen = "confirm", chosen
    state = await save(desk, member, state)
    lines: list[Notice | Localized] = [Notice("Cancel:")]
    for request_id in chosen:
        request = await desk.tx.requests.get(request_id)
        lines.append(partial(_quoted, desk, request))
    if state.reason:
        lines.append(Notice("Reason: {reason}", {"reason": state.reason}))
    else:
        lines.append(Notice("You may add a reason in a reply."))
    options: list[tuple[Label, str]] = [
        (N_("Confirm the cancellation"), state.act("ok")),
        (N_("Keep my booking"), state.act("x")),
    ]
    if len(chosen) == 1 and not state.end_series:
        single = await desk.tx.requests.get(chosen[0])
        if single.series_id is not None:
            options.insert(1, (N_("This one and all later ones"), state.act("fut")))
    await desk.notify(member, Lines(lines, options))


def _quoted(desk: Desk, request: Request, lang: str) -> str:
    """'• Childcare, Tuesday ...: free' (what cancelling it now costs)."""
    return f"• {describe(desk, request, lang)}: {cancellations.quote(desk, request, lang)}"


async def ask_waiver(desk: Desk, member: Member, request_id: str | None) -> None:
    """'Ask for an emergency waiver' (option or typed): the reason is asked next."""
    cancelled = [
        r
        for r in await desk.tx.requests.of_member(member.id, [Status.CANCELLED])
        if request_id is None or str(r.id) == request_id
    ]
    # The latest late cancellation, or one whose waiver was already asked (and maybe granted).
    candidates = [(r, await desk.tx.escalations.of_request(r.id)) for r in cancelled]
    eligible = [
        (r, e) for r, e in candidates if r.payout > 0 or any(x.reason == "waiver" for x in e)
    ]
    if not eligible:
        await desk.tell(member, "There is no late cancellation to waive.")
        return
    request, escalations = eligible[-1]
    if any(e.reason == "waiver" for e in escalations):
        await desk.tell(member, "A waiver was already asked for this cancellation.")
        return
    await save(desk, member, Waiver(request=request.id))
    await desk.tell(
        member, "Tell me in one message what happened: the agency will read your reason."
    )


async def on_waiver_text(desk: Desk, member: Member, text: str) -> bool:
    """The reason for a waiver, sent on to staff."""
    state = await load(desk, member, Waiver)
    if state is None:
        return False
    await leave(desk, member)
    request = await desk.tx.requests.get(state.request)
    await request_waiver(desk, member, request, text.strip())
    return True
