"""Staff actions on escalations, refused to anyone who is not staff."""

from __future__ import annotations

import re
from decimal import Decimal

from bot.domain.agency import Member, Person, Staff
from bot.domain.booking import OPEN
from bot.flows.common import STATUS_LABELS
from bot.i18n import N_, tr
from bot.nlu.commands import fold
from bot.services.billing import PaymentRefused, record_payment
from bot.services.booking import describe, money, staff_close_unfilled, staff_offer
from bot.services.desk import Desk

PAYMENT_WORDS = frozenset({"/paid", "/paye", "/payment", "/paiement", "paid", "paye", "paiement"})
# "82", "82.00", "82,5", with or without the euro sign; nothing signed, nothing in exponent form.
_AMOUNT = re.compile(r"^(?:€\s*)?(\d{1,7})(?:[.,](\d{1,2}))?\s*(?:€|eur|euros?)?$", re.IGNORECASE)
STAFF_STATUS = {**STATUS_LABELS, "escalated": N_("waiting for staff")}


async def refuse_unless_staff(desk: Desk, person: Person) -> bool:
    """True (after telling them) when a non-staff person tries a staff action."""
    if isinstance(person, Staff):
        return False
    await desk.send(person, tr(desk.lang(person), "This action is reserved for agency staff."))
    return True


async def escalation_number(desk: Desk, person: Person, escalation_id: str) -> int | None:
    """The escalation a staff action names; None (after saying why) for others or garbage."""
    if await refuse_unless_staff(desk, person):
        return None
    if not escalation_id.isdigit():
        await desk.stale(person)
        return None
    return int(escalation_id)


async def on_offer(desk: Desk, person: Person, escalation_id: str, provider_id: str) -> None:
    """'Offer to <provider>' on an escalation."""
    if (number := await escalation_number(desk, person, escalation_id)) is not None:
        await staff_offer(desk, person, number, provider_id)


async def on_unfilled(desk: Desk, person: Person, escalation_id: str) -> None:
    """'Close as unfilled' on an escalation."""
    if (number := await escalation_number(desk, person, escalation_id)) is not None:
        await staff_close_unfilled(desk, person, number)


async def list_pending(desk: Desk, person: Person) -> None:
    """/pending: the escalations nobody has handled yet."""
    if await refuse_unless_staff(desk, person):
        return
    lang = desk.lang(person)
    open_ones = await desk.tx.open_escalations()
    if not open_ones:
        await desk.send(person, tr(lang, "No escalation is waiting."))
        return
    lines = [tr(lang, "Escalations waiting:")]
    for escalation in open_ones:
        request = await desk.tx.request(escalation.request_id)
        member = await desk.tx.person(request.member_id)
        lines.append(f"#{escalation.id} {member.name}: {describe(desk, request, lang)}")
    await desk.send(person, "\n".join(lines))


async def list_unresolved(desk: Desk, person: Person) -> None:
    """/unresolved: appointments past their end that are not yet settled (§2.5: 100 %)."""
    if await refuse_unless_staff(desk, person):
        return
    lang = desk.lang(person)
    late = await desk.tx.unsettled_before(desk.now, OPEN)
    if not late:
        await desk.send(person, tr(lang, "Every past appointment is settled."))
        return
    lines = [tr(lang, "Past appointments not settled yet:")]
    for request in late:
        member = await desk.tx.person(request.member_id)
        who = (await desk.tx.person(request.provider_id)).name if request.provider_id else "-"
        lines.append(
            f"• {member.name} / {who}: {describe(desk, request, lang)} "
            f"({tr(lang, STAFF_STATUS.get(request.status.value, N_('open')))})"
        )
    await desk.send(person, "\n".join(lines))


def _payment_words(text: str) -> tuple[str, str] | None:
    """'/paid alice 82.00' -> ('alice', '82.00'); None when the text is not a payment command."""
    first, _, rest = text.strip().partition(" ")
    command = "/" + fold(first[1:]) if first.startswith("/") else fold(first)
    if command not in PAYMENT_WORDS:
        return None
    who, _, amount = rest.strip().rpartition(" ")
    if amount.lower() in ("€", "eur", "euro", "euros"):
        who, _, number = who.rpartition(" ")
        amount = number + amount
    return who.strip(), amount.strip()


def parse_amount(text: str) -> Decimal | None:
    """A positive amount as staff type it ('82', '82,00', '82.5 €'); None otherwise."""
    match = _AMOUNT.match(text.strip())
    if match is None:
        return None
    amount = Decimal(f"{match.group(1)}.{(match.group(2) or '0').ljust(2, '0')}")
    return amount if amount > 0 else None


async def find_member(desk: Desk, who: str) -> list[Member]:
    """Members a staff member means by an id, a full name, one of its words, or a phone."""
    wanted = fold(who)
    digits = re.sub(r"\D", "", who)
    members = [m for m in await desk.tx.people("member") if isinstance(m, Member)]
    by_id_or_name = [m for m in members if wanted in (fold(m.id), fold(m.name))]
    by_phone = [m for m in members if len(digits) >= 6 and (m.phone or "").endswith(digits[-9:])]
    by_word = [m for m in members if wanted in fold(m.name).split()]
    for found in (by_id_or_name, by_phone, by_word):
        if found:
            return found
    return []


async def on_payment(desk: Desk, person: Person, text: str) -> bool:
    """'/paid NAME AMOUNT' (staff): record a payment; False when the text is not that command."""
    words = _payment_words(text)
    if words is None or (not isinstance(person, Staff) and not text.lstrip().startswith("/")):
        return False
    if await refuse_unless_staff(desk, person):
        return True
    lang = desk.lang(person)
    who, typed = words
    amount = parse_amount(typed)
    if not who or amount is None:
        usage = tr(
            lang, 'To record a payment write "/paid NAME AMOUNT", e.g. "/paid alice 82.00".'
        )
        if who and typed:
            usage = tr(lang, '"{text}" is not an amount.', text=typed) + " " + usage
        await desk.send(person, usage)
        return True
    found = await find_member(desk, who)
    if len(found) != 1:
        await desk.send(
            person,
            tr(lang, 'No member matches "{name}".', name=who)
            if not found
            else tr(
                lang,
                'Several members match "{name}": {names}. Write their id.',
                name=who,
                names=", ".join(f"{m.name} ({m.id})" for m in found),
            ),
        )
        return True
    member = found[0]
    try:
        account = await record_payment(desk, person, member, amount)
    except PaymentRefused as refused:
        await desk.send(person, _refusal(desk, refused, member, amount, lang))
        return True
    await desk.send(
        person,
        tr(
            lang,
            "Payment of {amount} recorded for {member}. Still to pay: {owed}.",
            amount=money(desk, amount, lang),
            member=member.name,
            owed=money(desk, account.owed, lang),
        ),
    )
    return True


def _refusal(
    desk: Desk, refused: PaymentRefused, member: Member, amount: Decimal, lang: str
) -> str:
    if refused.reason == "nothing_owed":
        return tr(lang, "{member} owes nothing: no payment recorded.", member=member.name)
    return tr(
        lang,
        "{member} owes {owed}: a payment of {amount} is more than that. Nothing recorded.",
        member=member.name,
        owed=money(desk, refused.owed, lang),
        amount=money(desk, amount, lang),
    )
