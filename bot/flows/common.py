"""What everyone can ask: menu, help, language, bookings and balance."""

from __future__ import annotations

from bot.domain.agency import Member, Person, Provider, Staff
from bot.domain.booking import OPEN
from bot.flows.conversation import leave
from bot.i18n import LANGUAGES, N_, fmt_day_time, ntr, tr
from bot.services.actions import action
from bot.services.booking import describe, money
from bot.services.changes import change_text
from bot.services.desk import Desk, Option

STATUS_LABELS = {
    "pending": N_("waiting for the provider's answer"),
    "escalated": N_("with our team"),
    "confirmed": N_("confirmed"),
    "in_progress": N_("under way"),
}


def help_text(desk: Desk, person: Person) -> str:
    """A short list of what this person can say."""
    lang = desk.lang(person)
    if isinstance(person, Provider):
        return tr(
            lang,
            'To answer a request: YES or NO (OUI / NON). "menu" for the menu, '
            '"français" or "english" to change language.',
        )
    if isinstance(person, Staff):
        return tr(
            lang,
            "Escalations arrive here with their actions. /pending lists those "
            'waiting. "menu" for the menu, "français" or "english" to change '
            "language.",
        )
    return tr(
        lang,
        'To book, tell me the service and when, for example "babysitting tomorrow '
        '2pm to 6pm". Other commands: "my bookings", "balance", "menu", '
        '"français" or "english".',
    )


async def send_help(desk: Desk, person: Person, *, misunderstood: bool = False) -> None:
    """Help, after 'I did not understand' when that is why."""
    lang = desk.lang(person)
    prefix = tr(lang, "Sorry, I did not understand.") + " " if misunderstood else ""
    await desk.send(person, prefix + help_text(desk, person))


async def send_menu(desk: Desk, person: Person) -> None:
    """Leave any flow and show the main choices."""
    await leave(desk, person)
    lang = desk.lang(person)
    options: list[Option] = []
    if isinstance(person, Member):
        options += [
            (tr(lang, "Book care"), action("mn", "book")),
            (tr(lang, "My bookings"), action("mn", "bookings")),
            (tr(lang, "Balance"), action("mn", "balance")),
        ]
    if isinstance(person, Staff):
        options.append((tr(lang, "Pending escalations"), action("mn", "pending")))
    options += [
        (tr(lang, "Language"), action("mn", "language")),
        (tr(lang, "Help"), action("mn", "help")),
    ]
    await desk.send(person, tr(lang, "What would you like to do?"), options)


async def ask_language(desk: Desk, person: Person) -> None:
    """/language: both languages as options."""
    await desk.send(
        person,
        tr(desk.lang(person), "Choose your language:"),
        [("Français", action("lg", "fr")), ("English", action("lg", "en"))],
    )


async def set_language(desk: Desk, person: Person, lang: str) -> Person:
    """Switch a person's language at once and confirm in the new one."""
    if lang not in LANGUAGES:
        await ask_language(desk, person)
        return person
    await desk.tx.set_language(person.id, lang)
    person = await desk.tx.person(person.id)
    await desk.send(person, tr(desk.lang(person), "I will speak English with you from now on."))
    return person


async def list_bookings(desk: Desk, person: Person) -> None:
    """My bookings: upcoming appointments and requests with their status."""
    lang = desk.lang(person)
    if not isinstance(person, Member):
        await send_help(desk, person)
        return
    upcoming = [r for r in await desk.tx.requests_of_member(person.id, OPEN) if r.end > desk.now]
    if not upcoming:
        await desk.send(person, tr(lang, "You have no upcoming booking."))
        return
    lines = [tr(lang, "Your upcoming bookings:")]
    for request in upcoming:
        who = ""
        if request.provider_id:
            who = " - " + (await desk.tx.person(request.provider_id)).name
        status = tr(lang, STATUS_LABELS.get(request.status.value, request.status.value))
        lines.append(f"• {describe(desk, request, lang)}{who} ({status})")
        for change in await desk.tx.changes_of(request.id):
            if change.status == "pending":
                lines.append(
                    "  "
                    + tr(
                        lang,
                        "change requested, pending: {change}",
                        change=change_text(desk, change, lang),
                    )
                )
    await desk.send(person, "\n".join(lines))


LEDGER_LABELS = {
    "opening": N_("opening balance"),
    "scheduling_fee": N_("booking fee"),
    "fee_credit": N_("booking fee credited back"),
    "session": N_("session"),
    "noshow_fee": N_("no-show"),
    "late_cancel": N_("late cancellation"),
    "weekly_credits": N_("weekly session credits"),
    "waiver": N_("waiver granted"),
}


async def show_balance(desk: Desk, person: Person) -> None:
    """Balance: money, session credits and the latest history lines."""
    lang = desk.lang(person)
    if not isinstance(person, Member):
        await send_help(desk, person)
        return
    balance, credits = await desk.tx.balance(person.id)
    lines = [tr(lang, "Balance: {balance}.", balance=money(desk, balance, lang))]
    if person.subscription or credits:
        lines.append(tr(lang, "Session credits: {credits}.", credits=credits))
    history = await desk.tx.history(person.id, 5)
    if history:
        lines.append(tr(lang, "Latest movements:"))
    for line in history:
        label = tr(lang, LEDGER_LABELS.get(line.kind, line.kind))
        amounts = [money(desk, line.amount, lang)] if line.amount else []
        if line.credits_delta:
            amounts.append(
                ntr(lang, "{n} credit", "{n} credits", line.credits_delta)
                if line.credits_delta > 0
                else ntr(lang, "{n} credit used", "{n} credits used", -line.credits_delta)
            )
        lines.append(
            f"• {fmt_day_time(desk.local(line.created_at), lang)}: {label} {', '.join(amounts)}"
        )
    await desk.send(person, "\n".join(lines))
