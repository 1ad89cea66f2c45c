"""What everyone can ask: menu, help, language, bookings and balance."""

from __future__ import annotations

from functools import partial

from bot.domain.agency import Member, Person, Staff
from bot.domain.booking import OPEN, ChangeRequest, Request, Status
from bot.domain.ledger import signed
from bot.flows.conversation import leave
from bot.i18n import LANGUAGES, N_, fmt_day, fmt_day_time, ntr, tr
from bot.services import asking
from bot.services.actions import action
from bot.services.billing import member_account, signed_money
from bot.services.changes import change_text
from bot.services.desk import Desk
from bot.services.notices import Label, Lines, Localized, Notice, status_words
from bot.services.ports import LedgerLine
from bot.services.wording import describe, priced


def help_text(desk: Desk, person: Person) -> str:
    """Every command of this person's role, in their language (§3); it fits two SMS."""
    return desk.help(person)


async def send_help(desk: Desk, person: Person, *, misunderstood: bool = False) -> None:
    """Help, after 'I did not understand' when that is why."""
    notice = desk.help_notice(person)
    if misunderstood:
        await desk.notify(person, Lines([Notice("Sorry, I did not understand."), notice], sep=" "))
    else:
        await desk.notify(person, notice)


async def send_menu(desk: Desk, person: Person) -> None:
    """Leave any flow and show the main choices."""
    await leave(desk, person)
    options: list[tuple[Label, str]] = []
    if isinstance(person, Member):
        options += [
            (N_("Book care"), action("mn", "book")),
            (N_("My bookings"), action("mn", "bookings")),
            (N_("Balance"), action("mn", "balance")),
        ]
    if isinstance(person, Staff):
        options.append((N_("Pending escalations"), action("mn", "pending")))
    options += [
        (N_("Language"), action("mn", "language")),
        (N_("Help"), action("mn", "help")),
    ]
    await desk.tell(person, "What would you like to do?", options)


async def ask_language(desk: Desk, person: Person) -> None:
    """/language: both languages as options."""
    # Each language's name in itself, whatever the reader's language.
    options: list[tuple[Label, str]] = [
        (lambda _: "Français", action("lg", "fr")),
        (lambda _: "English", action("lg", "en")),
    ]
    await desk.tell(person, "Choose your language:", options)


async def set_language(desk: Desk, person: Person, lang: str) -> Person:
    """Switch a person's language at once and confirm in the new one."""
    if lang not in LANGUAGES:
        await ask_language(desk, person)
        return person
    await desk.tx.roster.set_language(person.id, lang)
    person = await desk.tx.roster.person(person.id)
    await desk.tell(person, "I will speak English with you from now on.")
    return person


async def list_bookings(desk: Desk, person: Person) -> None:
    """My bookings: upcoming appointments and requests with their status."""
    if not isinstance(person, Member):
        await send_help(desk, person)
        return
    # A request nobody took is closed at its start (§1.10); until that timer runs it is not
    # upcoming either. An appointment stays listed while it is under way.
    upcoming = [
        r
        for r in await desk.tx.requests.of_member(person.id, OPEN)
        if r.end > desk.now
        and (r.start > desk.now or r.status in (Status.CONFIRMED, Status.IN_PROGRESS))
    ]
    if not upcoming:
        await desk.tell(person, "You have no upcoming booking.")
        return
    lines: list[Notice | Localized] = [Notice("Your upcoming bookings:")]
    # A weekly series reads as one line per provider and status, not one per week (§8).
    groups: dict[tuple[int, str | None, Status], list[Request]] = {}
    changing = {
        r.id
        for r in upcoming
        if any(c.status == "pending" for c in await desk.tx.changes.of_request(r.id))
    }
    for request in upcoming:
        if request.series_id is not None and request.id not in changing:
            key = (request.series_id, request.provider_id, request.status)
            groups.setdefault(key, []).append(request)
    shown: set[tuple[int, str | None, Status]] = set()
    for request in upcoming:
        key = (request.series_id or 0, request.provider_id, request.status)
        if request.id not in changing and request.series_id is not None and len(groups[key]) > 1:
            if key not in shown:
                shown.add(key)
                lines.append(await _series_line(desk, groups[key]))
            continue
        who = ""
        if request.provider_id:
            who = " - " + (await desk.tx.roster.person(request.provider_id)).name
        lines.append(partial(_booking_line, desk, request, who))
        for change in await desk.tx.changes.of_request(request.id):
            if change.status == "pending":
                lines.append(partial(_pending_change_line, desk, change))
    await desk.notify(person, Lines(lines))


def _booking_line(desk: Desk, request: Request, who: str, lang: str) -> str:
    """'• Childcare, Tuesday 24 November, 14:00-18:00 - Léa Moreau (confirmed)'."""
    return f"• {describe(desk, request, lang)}{who} ({status_words(lang, request.status)})"


def _pending_change_line(desk: Desk, change: ChangeRequest, lang: str) -> str:
    return "  " + tr(
        lang, "change requested, pending: {change}", change=change_text(desk, change, lang)
    )


async def _series_line(desk: Desk, requests: list[Request]) -> Localized:
    """'• Childcare, every Tuesday 18:00-20:00 - Léa Moreau: 9 sessions, next ... (confirmed)'."""
    first = requests[0]
    series = await desk.tx.series.get(first.series_id or 0)
    assert series is not None
    who = ""
    if first.provider_id:
        who = " - " + (await desk.tx.roster.person(first.provider_id)).name

    def line(lang: str) -> str:
        return "• " + tr(
            lang,
            "{what}{who}: {n} sessions, the next on {day} ({status})",
            what=asking.describe_series(desk, series, desk.services[series.service_id], lang),
            who=who,
            n=len(requests),
            day=fmt_day(desk.local(first.start), lang),
            status=status_words(lang, first.status),
        )

    return line


LEDGER_LABELS = {
    "opening": N_("opening balance"),
    "scheduling_fee": N_("booking fee"),
    "fee_credit": N_("booking fee credited back"),
    "session": N_("session"),
    "noshow_fee": N_("no-show"),
    "late_cancel": N_("late cancellation"),
    "weekly_credits": N_("weekly session credits"),
    "waiver": N_("waiver granted"),
    "payment": N_("payment received"),
}
# A kind added later without a label still reads as words, never as its code.
OTHER_MOVEMENT = N_("other movement")
# The latest lines a statement shows: two still fit two SMS segments with the totals, in
# French (tests/test_payments.py checks it with handlers/sms_text.segments); a chat holds more.
STATEMENT_LINES = {"sms": 2, "telegram": 10}


async def show_balance(desk: Desk, person: Person) -> None:
    """The statement (§5): the latest lines signed, credit, session credits, what is owed."""
    if not isinstance(person, Member):
        await send_help(desk, person)
        return
    # Totals first and the newest lines next: an SMS cut to two segments keeps what matters.
    account = await member_account(desk.tx, person.id)
    lines: list[Notice | Localized] = [
        Notice("Still to pay: {amount}.", {"amount": priced(desk, account.owed)}),
        Notice(
            "Credit for future booking fees: {amount}.", {"amount": priced(desk, account.credit)}
        ),
    ]
    if person.subscription or account.credits:
        lines.append(Notice("Session credits: {credits}.", {"credits": account.credits}))
    history = await desk.tx.ledger.history(person.id, STATEMENT_LINES.get(person.channel, 2))
    if history:
        lines.append(Notice("Latest movements:"))
    lines += [partial(_statement_line, desk, line) for line in history]
    await desk.notify(person, Lines(lines))


def _statement_line(desk: Desk, line: LedgerLine, lang: str) -> str:
    """'• 24/11 16:00: booking fee -10,00 € (paid from your credit)'."""
    label = tr(lang, LEDGER_LABELS.get(line.kind, OTHER_MOVEMENT))
    amount = signed(line.kind, line.amount)
    amounts = [signed_money(desk, amount, lang)] if amount else []
    if line.credits_delta:
        amounts.append(
            "+" + ntr(lang, "{n} credit", "{n} credits", line.credits_delta)
            if line.credits_delta > 0
            else ntr(lang, "{n} credit used", "{n} credits used", -line.credits_delta)
        )
    text = "• " + tr(
        lang,
        "{when}: {what}",
        when=fmt_day_time(desk.local(line.created_at), lang),
        what=f"{label} {', '.join(amounts)}",
    )
    if line.kind == "scheduling_fee" and line.balance_delta < 0:
        text += " " + tr(lang, "(paid from your credit)")
    return text
