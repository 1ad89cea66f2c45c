"""Member-facing words: commands in both languages and service synonyms."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from bot.domain.agency import Service

_SPACES = re.compile(r"\s+")
_NON_WORD = re.compile(r"[^\w/ ]+")


def fold(text: str) -> str:
    """Lower-case, accents off, punctuation to spaces: the form words are compared in."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SPACES.sub(" ", _NON_WORD.sub(" ", bare)).strip()


# Whole-message commands (after fold). Slash commands are the Telegram forms.
COMMANDS: dict[str, tuple[str, ...]] = {
    "menu": (
        "menu",
        "/menu",
        "/start",
        "accueil",
        "main menu",
        "menu principal",
        "bonjour",
        "hello",
        "hi",
        "salut",
        "bonsoir",
        "coucou",
        "good morning",
        "hey",
    ),
    "help": ("help", "/help", "aide", "/aide", "info", "?", "commands", "commandes"),
    "language": ("/language", "/langue", "language", "langue"),
    "english": ("english", "anglais", "in english", "en anglais"),
    "french": ("francais", "french", "en francais", "in french"),
    "book": (
        "/book",
        "book",
        "reserver",
        "booking",
        "reservation",
        "new booking",
        "nouvelle reservation",
        "je veux reserver",
        "i want to book",
    ),
    "bookings": (
        "/bookings",
        "my bookings",
        "mes reservations",
        "bookings",
        "reservations",
        "mes rendez vous",
        "my appointments",
        "/today",
        "/appointments",
        "planning",
        "mon planning",
        "my schedule",
    ),
    # Never the bare word "cancel": on SMS it is a carrier opt-out keyword.
    "cancel": (
        "/cancel",
        "annuler",
        "cancel booking",
        "cancel my booking",
        "cancel a booking",
        "annuler une reservation",
        "annuler ma reservation",
        "annulation",
    ),
    "change": (
        "/change",
        "modifier",
        "change booking",
        "change my booking",
        "modifier une reservation",
        "modifier ma reservation",
        "changer",
    ),
    "waiver": (
        "/waiver",
        "waiver",
        "derogation",
        "urgence",
        "emergency waiver",
        "demande de derogation",
    ),
    "earnings": (
        "/earnings",
        "earnings",
        "gains",
        "mes gains",
        "paiements",
        "what am i owed",
        "my earnings",
        "mes paiements",
    ),
    "balance": (
        "/balance",
        "balance",
        "solde",
        "mon solde",
        "my balance",
        "compte",
        "my account",
        "mon compte",
    ),
    "pending": ("/pending", "pending", "escalations", "en attente"),
    "unresolved": ("/unresolved", "unresolved", "non resolus", "a regler", "/nonresolus"),
}
_BY_TEXT = {phrase: name for name, phrases in COMMANDS.items() for phrase in phrases}


def match_command(text: str) -> str | None:
    """The command a whole message asks for, or None."""
    raw = text.strip()
    if raw.startswith("/") and raw[1:2].isalpha():
        # Telegram commands: only the first word counts, without the @botname suffix.
        folded = "/" + fold(raw[1:].split()[0].split("@", 1)[0])
    else:
        folded = fold(raw)
    return _BY_TEXT.get(folded)


# Everyday words for the kinds of care, in both languages. A service belongs to a kind when
# its id or name mentions any of the kind's words; the agency's own names match too.
SERVICE_WORDS: dict[str, tuple[str, ...]] = {
    "child": (
        "garde",
        "baby sitting",
        "babysitting",
        "baby sitter",
        "babysitter",
        "babysit",
        "nounou",
        "sitter",
        "childcare",
        "child care",
        "enfant",
        "enfants",
        "nanny",
        "kids",
        "children",
        "bebe",
        "baby",
        "petite enfance",
    ),
    "clean": (
        "menage",
        "cleaning",
        "clean",
        "nettoyage",
        "cleaner",
        "femme de menage",
        "repassage",
        "housekeeping",
    ),
    "massage": ("massage", "masseur", "masseuse", "massages", "therapist", "massotherapie"),
    "pet": (
        "pet",
        "pets",
        "animal",
        "animaux",
        "chien",
        "chat",
        "dog",
        "cat",
        "pet sitting",
        "petsitting",
        "promenade",
        "dog walking",
        "visite animaux",
    ),
}


def _has_phrase(folded: str, phrase: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", folded) is not None


def find_service(text: str, services: Iterable[Service]) -> str | None:
    """The one service a message names (by the agency's names or everyday synonyms), or None."""
    folded = fold(text)
    found: list[str] = []
    for service in services:
        names = [fold(service.id.replace("_", " ").replace("-", " "))]
        names += [fold(n) for n in service.name.values()]
        words = [w for n in names for w in (n, *n.split()) if len(w) >= 4]
        for kind_words in SERVICE_WORDS.values():
            if any(_has_phrase(n, k) or _has_phrase(k, n) for n in names for k in kind_words):
                words += kind_words
        if any(_has_phrase(folded, w) for w in words):
            found.append(service.id)
    return found[0] if len(found) == 1 else None


_INFO = re.compile(r"^(?:info|infos|profil|profile|details?)\s+(\S.*)$")


def parse_info(text: str) -> str | None:
    """'info 2' / 'profil Marie' -> '2' / 'marie' (what to show the profile of)."""
    match = _INFO.match(fold(text))
    return match.group(1) if match else None


_WANTS = (
    "besoin",
    "need",
    "voudrais",
    "would like",
    "cherche",
    "looking for",
    "reserver",
    "book",
    "garder",
    "quelqu un",
)


def wants_booking(text: str) -> bool:
    """Whether a message reads as a request for care even without a service or date."""
    folded = fold(text)
    return any(_has_phrase(folded, w) for w in _WANTS)
