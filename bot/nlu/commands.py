"""Member-facing words: commands in both languages and service synonyms."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from decimal import Decimal
from functools import lru_cache

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
        "appointments",
        "rendez vous",
        "/rendezvous",
        "mes rdv",
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
        "what do i owe",
        "what i owe",
        "ce que je dois",
        "combien je dois",
        "statement",
        "releve",
    ),
    "pending": ("/pending", "pending", "escalations", "en attente"),
    "console": ("/console", "console", "web console", "console web"),
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


def _service_words(service: Service) -> list[str]:
    """The words that name a service: its id and names, and its kind's everyday synonyms."""
    names = [fold(service.id.replace("_", " ").replace("-", " "))]
    names += [fold(n) for n in service.name.values()]
    words = [w for n in names for w in (n, *n.split()) if len(w) >= 4]
    for kind_words in SERVICE_WORDS.values():
        if any(_has_phrase(n, k) or _has_phrase(k, n) for n in names for k in kind_words):
            words += kind_words
    return words


@lru_cache(maxsize=64)
def _matchers(
    key: tuple[tuple[str, tuple[tuple[str, str], ...]], ...],
) -> tuple[tuple[str, re.Pattern[str]], ...]:
    """One compiled pattern per service, built once per set of services (hot path)."""
    matchers = []
    for service_id, names in key:
        words = _service_words(Service(service_id, dict(names), Decimal(1)))
        alternation = "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))
        matchers.append((service_id, re.compile(rf"(?<!\w)(?:{alternation})(?!\w)")))
    return tuple(matchers)


def find_service(text: str, services: Iterable[Service]) -> str | None:
    """The one service a message names (by the agency's names or everyday synonyms), or None."""
    key = tuple((s.id, tuple(sorted(s.name.items()))) for s in services)
    folded = fold(text)
    found = [service_id for service_id, pattern in _matchers(key) if pattern.search(folded)]
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
