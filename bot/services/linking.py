"""Linking a Telegram account to the roster: the person shares their own phone number.

Someone who writes to the bot from a Telegram account we do not know is asked to share
their phone number with Telegram's contact button. Only their own contact is accepted (a
contact card carries the user id of the account it belongs to), and it links the account to
the roster entry with the same E.164 number. The two markers below are options that only
the Telegram renderer understands: the contact button, and the removal of that keyboard.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta

import phonenumbers

from bot.domain.agency import Person
from bot.i18n import LANGUAGES, normalize_language, tr
from bot.services.actions import action
from bot.services.desk import Desk, Option
from bot.services.notices import Label, as_shown
from bot.services.ports import OutgoingMessage, UnitOfWork

log = logging.getLogger(__name__)

ASK_CONTACT = action("ln", "contact")  # rendered as a reply keyboard with request_contact
CLOSE_KEYBOARD = action("ln", "close")  # rendered as ReplyKeyboardRemove, shows no button
# A stranger who keeps writing is asked again at most this often (one prompt, not a flood).
GREET_EVERY = timedelta(minutes=10)


def e164(phone: str) -> str | None:
    """A shared phone number in E.164 ("+33612345678"), or None when it cannot be one.

    Telegram gives a contact's number with its country code, with or without the "+".
    """
    raw = "".join(c for c in phone if c.isdigit() or c == "+")
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    elif not raw.startswith("+"):
        raw = "+" + raw
    try:
        number = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def telegram_language(language_code: str | None) -> str | None:
    """Telegram's interface language ("fr", "en-GB") when it is one we speak, else None."""
    short = (language_code or "").replace("_", "-").split("-")[0].lower()
    return short if short in LANGUAGES else None


def language_for_stranger(desk: Desk, language_code: str | None) -> str:
    """Someone not on the roster: Telegram's language, else the agency's."""
    return telegram_language(language_code) or normalize_language(None, desk.agency.language)


def contact_option(lang: str) -> Option:
    """The option rendered as Telegram's 'share my phone number' button."""
    return (tr(lang, "Share my phone number"), ASK_CONTACT)


async def greet_stranger(desk: Desk, telegram_id: int, language_code: str | None) -> bool:
    """Ask an unknown Telegram user to share their phone number; False when asked just now."""
    bucket = int(desk.now.timestamp() // GREET_EVERY.total_seconds())
    if not await desk.tx.once.first("telegram-greet", f"{telegram_id}:{bucket}", desk.now):
        return False
    lang = language_for_stranger(desk, language_code)
    text = tr(
        lang,
        "Hello! I am the assistant of {agency}. To recognise you, please share your phone "
        "number with the button below.",
        agency=desk.agency.name,
    )
    await _tell_stranger(desk, telegram_id, text, [contact_option(lang)])
    return True


async def link_contact(
    desk: Desk,
    *,
    telegram_id: int,
    contact_user_id: int | None,
    phone: str,
    language_code: str | None,
) -> Person | None:
    """Link the sender to the roster entry with the number they shared; None when not linked.

    The person's channel becomes Telegram: they just asked to talk to us here, and answers
    by SMS to what they type on Telegram would leave this chat silent.
    """
    lang = language_for_stranger(desk, language_code)
    if contact_user_id != telegram_id:
        text = tr(lang, "Please share your own phone number, with the button below.")
        await _tell_stranger(desk, telegram_id, text, [contact_option(lang)])
        return None
    number = e164(phone)
    person = await desk.tx.roster.by_address("sms", number) if number else None
    if person is None:
        text = tr(
            lang,
            "Sorry, the number {phone} is not registered with {agency}. Please ask the "
            "agency to add you.",
            phone=number or phone,
            agency=desk.agency.name,
        )
        await _tell_stranger(desk, telegram_id, text, [("-", CLOSE_KEYBOARD)])
        return None
    await desk.tx.roster.set_telegram_id(person.id, telegram_id)
    if person.channel != "telegram":
        await desk.tx.roster.set_channel(person.id, "telegram")
    await adopt_language(desk.tx, person, language_code)
    person = await desk.tx.roster.person(person.id)
    log.info("telegram account linked to %s", person.id)
    # The option only closes Telegram's contact keyboard; its label is not read.
    close: list[tuple[Label, str]] = [(as_shown("-"), CLOSE_KEYBOARD)]
    await desk.tell(
        person,
        "Thank you, {name}: your Telegram account is now linked to {agency}. I will write "
        "to you here from now on.",
        close,
        name=person.name,
        agency=desk.agency.name,
    )
    return person


async def adopt_language(tx: UnitOfWork, person: Person, language_code: str | None) -> Person:
    """Without a stored preference, take Telegram's interface language as the person's."""
    lang = telegram_language(language_code)
    if person.language is not None or lang is None:
        return person
    await tx.roster.set_language(person.id, lang)
    return replace(person, language=lang)


async def _tell_stranger(desk: Desk, telegram_id: int, text: str, options: list[Option]) -> None:
    message = OutgoingMessage(desk.now, None, "telegram", str(telegram_id), text, tuple(options))
    await desk.tx.outbox.enqueue(message)
