"""Payments recorded by staff in chat (§5): '/paid NAME AMOUNT' or '/paye NOM MONTANT'."""

from __future__ import annotations

import re
from decimal import Decimal

from bot.domain.agency import Member, Person, Staff
from bot.flows.staff import refuse_unless_staff
from bot.nlu.commands import fold
from bot.services.billing import PaymentRefused, record_payment
from bot.services.desk import Desk
from bot.services.notices import Lines, Notice
from bot.services.wording import priced

PAYMENT_WORDS = frozenset({"/paid", "/paye", "/payment", "/paiement", "paid", "paye", "paiement"})
# "82", "82.00", "82,5", with or without the euro sign; nothing signed, nothing in exponent form.
_AMOUNT = re.compile(r"^(?:€\s*)?(\d{1,7})(?:[.,](\d{1,2}))?\s*(?:€|eur|euros?)?$", re.IGNORECASE)


def _payment_words(text: str) -> tuple[str, str] | None:
    """'/paid alice 82.00' -> ('alice', '82.00'); None when the text is not a payment command."""
    first, _, rest = text.strip().partition(" ")
    # Telegram may add the bot's name to a command in groups: "/paid@carebot".
    command = "/" + fold(first[1:].split("@", 1)[0]) if first.startswith("/") else fold(first)
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
    members = [m for m in await desk.tx.roster.people("member") if isinstance(m, Member)]
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
    who, typed = words
    amount = parse_amount(typed)
    if not who or amount is None:
        usage = Notice('To record a payment write "/paid NAME AMOUNT", e.g. "/paid alice 82.00".')
        if who and typed:
            await desk.notify(person, Lines([not_an_amount(typed), usage], sep=" "))
        else:
            await desk.notify(person, usage)
        return True
    found = await find_member(desk, who)
    if not found:
        await desk.tell(person, 'No member matches "{name}".', name=who)
        return True
    if len(found) > 1:
        await desk.tell(
            person,
            'Several members match "{name}": {names}. Write their id.',
            name=who,
            names=", ".join(f"{m.name} ({m.id})" for m in found),
        )
        return True
    member = found[0]
    try:
        account = await record_payment(desk, person, member, amount)
    except PaymentRefused as refused:
        await desk.notify(person, refusal(desk, refused, member, amount))
        return True
    await desk.notify(person, recorded(desk, member, amount, account.owed))
    return True


def not_an_amount(typed: str) -> Notice:
    """'"abc" is not an amount.'"""
    return Notice('"{text}" is not an amount.', {"text": typed})


def recorded(desk: Desk, member: Member, amount: Decimal, owed: Decimal) -> Notice:
    """What staff read once a payment is recorded (chat and console alike)."""
    return Notice(
        "Payment of {amount} recorded for {member}. Still to pay: {owed}.",
        {"amount": priced(desk, amount), "member": member.name, "owed": priced(desk, owed)},
    )


def refusal(desk: Desk, refused: PaymentRefused, member: Member, amount: Decimal) -> Notice:
    """Why a payment was not recorded: nothing owed, or more than owed."""
    if refused.reason == "nothing_owed":
        return Notice("{member} owes nothing: no payment recorded.", {"member": member.name})
    return Notice(
        "{member} owes {owed}: a payment of {amount} is more than that. Nothing recorded.",
        {
            "member": member.name,
            "owed": priced(desk, refused.owed),
            "amount": priced(desk, amount),
        },
    )
