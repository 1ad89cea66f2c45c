"""Provider replies: read a free-text SMS/Telegram answer into an intent.

Providers answer offers and report incidents in a few words, in French or English, often
with typos, no accents and emoji ("OUI", "late 15", "arrivé", "client absent", "terminé").
This module turns such a reply into a :class:`Reply` with a grammar of phrase tables per
intent, checked in a fixed priority order (the most specific and most consequential intents
first, yes/no last), plus a small typo tolerance on long words.

Everything is deterministic and runs in well under a millisecond: the regexes are plain
alternations of literal phrases with bounded repeats, so their cost is linear in the text.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache

from bot.nlu.numbers import read_number
from bot.nlu.when import named_day

INTENTS = (
    "confirm",
    "decline",
    "arrived",
    "late",
    "modified",
    "absent",
    "client_cancel",
    "provider_cancel",
    "done",
    "help",
    "stop",
    "start",
    "unknown",
)


@dataclass(frozen=True)
class Reply:
    """What a provider's reply means."""

    intent: str
    minutes: int | None = None  # for "late"
    time: str | None = None  # for "modified": "HH:MM", the new start
    date: str | None = None  # for "modified": "YYYY-MM-DD", the day named, when one is


# A reply longer than this is not a short command; only its beginning is read, which bounds
# the work done on pasted or hostile input.
_MAX_CHARS = 1000
# Longest delay read as "late N": beyond 12 hours a number is more likely a clock time.
_MAX_LATE_MINUTES = 12 * 60

# --------------------------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------------------------

# Letters that NFKD does not decompose into a base letter plus accents.
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ø": "o", "ł": "l", "đ": "d", "ı": "i"})
_COMBINING = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+")
_NON_WORD = re.compile(r"[^a-z0-9]+")
_DIGIT_LETTER = re.compile(r"(?<=[0-9])(?=[a-z])|(?<=[a-z])(?=[0-9])")


def normalize(text: str) -> str:
    """Lower-case, strip accents, emoji and punctuation, collapse spaces (for keyword matching)."""
    folded = unicodedata.normalize("NFKD", text.casefold().translate(_LIGATURES))
    folded = _COMBINING.sub("", folded)

    def separator(match: re.Match[str]) -> str:
        # A single ":", "." or "," between digits belongs to a number ("17:30", "5.15pm",
        # "1,5h"), not to the punctuation: keep it, with "," read as a decimal point.
        sep = match.group()
        start, end = match.start(), match.end()
        if (
            sep in ":.,"
            and start > 0
            and end < len(folded)
            and folded[start - 1].isdigit()
            and folded[end].isdigit()
        ):
            return ":" if sep == ":" else "."
        return " "

    # Everything outside ASCII letters and digits (emoji, other scripts, control characters)
    # is a separator, so that "ok👍merci" still reads as two words.
    return _NON_WORD.sub(separator, folded).strip()


# --------------------------------------------------------------------------------------------
# Carrier keywords
# --------------------------------------------------------------------------------------------

_STOP_KEYWORDS = frozenset(
    {"stop", "stopall", "unsubscribe", "end", "quit", "revoke", "optout", "cancel", "arret"}
)
_START_KEYWORDS = frozenset({"start", "unstop"})
_HELP_KEYWORDS = frozenset({"help", "aide", "info"})


def sms_keyword(text: str) -> str | None:
    """Carrier keywords alone in a message: 'stop', 'start' or 'help'; else None."""
    # A keyword is the whole message; anything longer cannot be one, so skip the work.
    if len(text.strip()) > 64:
        return None
    # Spaces are dropped so that "OPT-OUT" and "stop all" read as OPTOUT and STOPALL.
    word = normalize(text).replace(" ", "")
    if word in _STOP_KEYWORDS:
        return "stop"
    if word in _START_KEYWORDS:
        return "start"
    if word in _HELP_KEYWORDS:
        return "help"
    return None


# --------------------------------------------------------------------------------------------
# Vocabulary: phrase tables per intent (normalised form: no accents, apostrophes as spaces)
# --------------------------------------------------------------------------------------------

# Who the client is, as a provider says it.
_CLIENT_WORDS = (
    "client", "cliente", "clients", "clientes", "customer", "customers", "family", "famille",
    "parent", "parents", "mom", "mum", "mother", "dad", "father", "maman", "papa", "mere",
    "pere", "member", "membre", "madame", "monsieur", "mme", "mrs", "lady", "owner",
    "mr", "ms", "miss", "mister", "son", "daughter", "husband", "wife", "fils", "fille",
    "mari", "femme", "epouse", "epoux", "niece", "nephew", "neveu", "grandson",
    "granddaughter", "petit fils", "petite fille", "patient", "patiente", "beneficiaire",
    "dame", "gentleman", "grandma", "grandpa", "mamie", "papi", "kids", "children", "enfants",
)  # fmt: skip
# The client saying they do not want the visit: their cancellation, relayed.
_CLIENT_REFUSES = (
    "doesn t want", "does not want", "don t want", "do not want", "didn t want",
    "no longer wants", "doesn t need", "does not need", "don t need", "no longer needs",
    "said not to come", "told me not to come", "asked me not to come", "said no need",
    "ne veut pas", "ne veut plus", "veut pas", "veut plus", "n a pas besoin",
    "n a plus besoin", "ne souhaite pas", "ne souhaite plus", "m a dit de ne pas venir",
    "m a demande de ne pas venir", "a dit de ne pas venir", "refuse la visite",
    "refuse la prestation",
)  # fmt: skip
_THIRD_PERSON = ("she", "he", "they", "il", "elle", "ils", "elles")
_CANCEL_WORDS = (
    "cancel", "cancels", "cancelled", "canceled", "cancelling", "canceling", "cancellation",
    "cancelation", "called off", "call off", "calls off", "calling off",
    "annule", "annuler", "annulee", "annules", "annulees", "annulent", "annulons",
    "annulation",
)  # fmt: skip
_PROVIDER_CANCEL = (
    *_CANCEL_WORDS,
    "desiste", "desister", "withdraw", "je me retire",
)  # fmt: skip

_ABSENT = (
    "absent", "absente", "absents", "absentes", "absence", "no show", "noshow", "no shows",
    "not home", "not at home", "nobody", "no one", "noone", "no body", "nobody home",
    "no answer", "no response", "no reply", "not answering", "doesn t answer",
    "does not answer", "didn t answer", "won t answer", "not opening", "doesn t open",
    "won t open", "door locked", "door is locked", "door closed", "door is closed",
    "locked out", "can t get in", "cannot get in", "stood me up",
    "personne", "pas de reponse", "aucune reponse", "ne repond pas", "repond pas",
    "ne repond plus", "n ouvre pas", "ouvre pas", "porte close", "porte fermee",
    "pas a la maison", "pas chez elle", "pas chez lui", "pas chez eux", "introuvable",
    "lapin", "nobody s", "no one s", "nobody answers", "no one answers", "n ouvre", "ouvre pas",
    "door s locked", "no one at home", "personne a la maison", "personne n ouvre",
    "decroche pas", "not picking up",
)  # fmt: skip
# "<client> ... not there": absence said about the client, not about the provider.
_ABSENT_NEGATION = (
    "isn t", "is not", "not", "n est pas", "pas", "didn t", "did not", "hasn t", "has not",
    "never", "ne s est pas", "n a pas", "ne sont pas", "aren t", "are not", "n etait pas",
    "wasn t", "was not", "won t", "will not", "doesn t", "does not",
)  # fmt: skip
_ABSENT_STATE = (
    "there", "here", "in", "la", "ici", "present", "presente", "show", "showed", "shown",
    "show up", "showed up", "around", "venu", "venue", "presentee", "arrive", "arrivee",
    "home", "chez elle", "chez lui", "answering", "answer", "opening", "open", "responding",
    "respond", "picking up", "pick up", "coming to the door", "come to the door",
)  # fmt: skip

_MODIFIED = (
    "moved", "moved to", "rescheduled", "reschedule", "reprogrammed", "new time", "new start",
    "new hour", "new start time", "time change", "time changed",
    "pushed back", "postponed", "brought forward", "shifted", "modified", "modify",
    "modification",
    "modifie", "modifiee", "decale", "decalee", "decaler", "deplace", "deplacee", "deplacer",
    "reporte", "reportee", "reporter", "repousse", "repoussee", "avancee", "changee",
    "changement", "nouvelle heure", "nouvel horaire", "nouveaux horaires", "nouveau creneau",
)  # fmt: skip
# These only mean "new time" when a time comes with them ("finalement 17h").
_MODIFIED_WEAK = (
    "finalement", "plutot", "instead", "au lieu", "now at", "maintenant a", "move", "change",
    "changed", "updated", "pushed", "avance", "commence a", "debut a", "starts at",
)  # fmt: skip

_LATE = (
    "late", "running late", "delay", "delayed", "delays", "behind", "behind schedule",
    "traffic", "held up", "retard", "retards", "retarde", "retardee", "en retard",
    "bouchon", "bouchons", "embouteillage", "embouteillages", "bourre",
)  # fmt: skip
_NOT_LATE = (
    "not late", "not be late", "won t be late", "no delay", "not running late",
    "pas en retard", "plus en retard", "pas de retard", "aucun retard",
)  # fmt: skip

_DONE = (
    "done", "all done", "finished", "finish", "complete", "completed", "job done",
    "session over", "shift over", "it s over", "ended", "checked out", "check out",
    "checking out", "wrapped up",
    "fini", "finie", "finis", "fin", "termine", "terminee", "terminer", "c est fait",
    "effectue", "effectuee", "realise", "realisee", "accompli", "accomplie", "boucle",
)  # fmt: skip
_NOT_DONE = (
    "not done", "not finished", "not yet done", "not completed", "not complete", "not over",
    "isn t over", "not yet", "pas fini", "pas finie", "pas termine", "pas terminee",
    "pas encore", "pas effectue",
)  # fmt: skip

_ARRIVED = (
    "arrived", "arrive", "arrivee", "arrivees", "here", "i m here", "on site",
    "onsite", "on location", "checked in", "check in", "checking in", "at the door",
    "at the house", "at the client",
    "sur place", "je suis la", "suis la", "me voila", "ici", "present", "presente",
    "devant la porte", "devant chez", "chez le client", "chez la cliente", "je suis devant",
    "je suis en bas", "i m outside", "i am outside", "i m downstairs",
    "j y suis", "y suis", "on y est", "jsuis la", "jsui la", "chui la", "chuis la", "sui la",
    "je suis chez", "suis chez", "im here", "i am here", "made it", "got here",
    "just got here", "here now", "la maintenant", "suis arrive", "suis arrivee",
)  # fmt: skip
_NOT_ARRIVED = (
    "not arrived", "not here", "not there", "not yet", "haven t arrived", "not on site",
    "pas encore", "pas arrive", "pas arrivee", "pas sur place", "pas la", "pas ici",
)  # fmt: skip

# A remark about what may happen is no report: "if traffic is bad I might be late".
_HYPOTHETICAL = (
    "if", "in case", "unless", "might", "may be", "could be", "maybe", "perhaps", "possibly",
    "si", "s il", "si jamais", "au cas", "en cas", "sauf si", "risque", "risque d",
    "pourrais", "pourrait", "peut etre", "il se peut", "possible que", "possiblement",
)  # fmt: skip
# "s'il vous plaît" and an emphatic "si" ("si si") are no condition.
_NOT_HYPOTHETICAL = ("s il vous plait", "s il te plait", "si si", "oui si", "ben si")

_HELP = (
    "help", "help me", "need help", "aide", "aidez moi", "aide moi", "a l aide",
    "au secours", "sos", "info", "infos", "information", "commands", "commandes", "menu",
    "how does it work", "how does this work", "what can i say", "what can i type",
    "comment ca marche", "quoi repondre",
)  # fmt: skip

# Yes-sounding phrases that start with a no-word: checked before the decline table.
_CONFIRM_DESPITE_NO = (
    "no problem", "no problems", "no worries", "no prob", "no probs", "why not",
    "pas de souci", "pas de soucis", "pas de probleme", "pas de problemes", "pas de pb",
    "pas de prob", "sans probleme", "sans souci", "sans soucis", "aucun probleme",
    "aucun souci", "pourquoi pas",
)  # fmt: skip

_DECLINE = (
    "no", "nope", "nah", "naw", "no thanks", "no thank you", "not available", "not free",
    "unavailable", "can t", "cant", "cannot", "can not", "couldn t", "won t be able",
    "unable", "decline", "declined", "declining", "refuse", "refused", "i ll pass",
    "i will pass", "i pass", "pass on this", "busy", "not possible", "impossible",
    "no can do", "not this time", "not me", "not today", "sorry", "won t be there",
    "will not be there", "won t make it", "will not make it",
    "non", "nan", "non merci", "pas dispo", "pas disponible", "indisponible", "indispo",
    "pas libre", "pas possible", "je ne peux pas", "ne peux pas", "peux pas", "pourrai pas",
    "pourrais pas", "je refuse", "refus", "je decline", "passe mon tour", "occupe",
    "occupee", "deja pris", "deja prise", "pas cette fois", "pas pour moi", "desole",
    "desolee", "malheureusement", "serai pas la", "viendrai pas", "pourrai pas venir",
)  # fmt: skip

_CONFIRM = (
    "yes", "yeah", "yea", "yep", "yup", "ya", "yah", "sure", "ok", "okay", "okey", "okie",
    "oki", "kk", "confirm", "confirmed", "confirming", "accept", "accepted", "accepting",
    "take it", "taking it", "count me in", "i m in", "i am in", "i can", "available",
    "fine", "alright", "all right", "of course", "absolutely",
    "definitely", "agreed", "agree", "deal", "perfect", "great", "will do", "np", "on it",
    "sounds good", "all good", "good for me",
    "certainly", "affirmative", "roger", "got it", "i ll be there", "i will be there",
    "je serai la", "j y serai",
    "oui", "ouais", "ouai", "ouaip", "ouep", "wi", "d accord", "dac", "dacc", "daccord",
    "dak", "confirme", "confirmee", "confirmer", "j accepte", "accepte", "acceptee",
    "je prends", "je le prends", "je la prends", "je peux", "c est bon", "c bon",
    "ca marche", "ca me va", "ca roule", "parfait", "volontiers", "bien sur", "entendu",
    "bien recu", "dispo", "disponible", "avec plaisir", "tres bien", "carrement",
    "evidemment", "top", "super", "nickel", "vendu", "je valide", "valide",
)  # fmt: skip

# Words too short or too common to mean anything unless they are the whole reply.
_ALONE = {"y": "confirm", "o": "confirm", "k": "confirm", "n": "decline", "over": "done",
          "la": "arrived", "pass": "decline", "go": "confirm"}  # fmt: skip
# Politeness around a one-word reply ("n merci", "y pls").
_FILLERS = frozenset(
    {"please", "pls", "plz", "svp", "stp", "merci", "thanks", "thx", "thank", "you", "bonjour",
     "hello", "hi", "salut", "bonsoir", "sorry", "desole", "desolee"}
)  # fmt: skip

# Opt-out said in a sentence rather than as the bare carrier keyword ("STOP please").
_STOP_WORDS_IN_SENTENCE = frozenset({"stop", "stopall", "unsubscribe", "arret", "optout"})
_STOP_PHRASES = (
    "stop texting", "stop messaging", "stop sending", "stop the messages", "stop messages",
    "stop sms", "stop texts", "unsubscribe me", "desabonner", "desabonnez", "desinscrire",
    "desinscrivez", "desinscription", "ne plus recevoir", "arretez les sms",
    "arretez les messages", "arretez de m envoyer",
)  # fmt: skip
_START_WORDS_IN_SENTENCE = frozenset({"start", "unstop"})

# Only these words are corrected when misspelt: long, distinctive words that carry an intent.
# Correcting towards every word of the tables would turn too many real words into commands.
_TYPO_TARGETS = (
    "arrived", "arrive", "arrivee", "retard", "retarde", "retards", "delayed", "running",
    "traffic", "embouteillage", "bouchons", "termine", "terminee", "terminer", "finished",
    "finish", "complete", "completed", "effectue", "accompli", "confirm", "confirme",
    "confirmed", "confirmer", "absent", "absente", "absents", "personne", "nobody", "cancel",
    "cancels", "cancelled", "canceled", "cancelling", "canceling", "cancellation", "annule",
    "annuler", "annulee", "annulation", "disponible", "indisponible", "available",
    "unavailable", "daccord", "accord", "accept", "accepted", "accepte", "acceptee",
    "impossible", "modifie", "modifiee", "modified", "decale", "decalee", "deplace",
    "deplacee", "rescheduled", "reschedule", "postponed", "repousse", "moved", "nouvelle",
    "horaire", "changement", "client", "cliente", "customer", "parfait", "perfect",
    "volontiers", "absolutely", "definitely", "certainly", "alright", "minutes", "minute",
    "unsubscribe", "problem", "problems", "probleme", "souci", "soucis", "marche", "finalement",
    "nouvel", "famille", "family", "secours", "please", "texting", "encore",
)  # fmt: skip
# Real words one typo away from a target, with another meaning: never "corrected".
_NOT_TYPOS = frozenset(
    {
        "regarde", "regard", "regards", "reward", "rewards", "renard", "renards", "realite",
        "realize", "cancer", "cancers", "chancel", "parait", "parlait", "partait", "complexe",
        "decade", "decal", "decals", "decayed", "dedale", "ducale", "decele", "accent",
        "accented", "assent", "abusent", "refuge", "refute", "reuse", "recuse", "certainty",
        "finite", "finnish", "finir", "finit", "ruining", "conform", "conforme", "conformer",
        "conformed", "clint", "crient", "chient", "competed", "compete", "prefect", "alight",
        "albright", "impassible", "annular", "annuel", "annuels", "moped", "mowed", "mover",
        "moves", "termite", "terrine", "minutie", "personnel", "report", "reports", "reported",
        "reporter", "remporte", "chargement", "realisme", "realism", "realist", "realiste",
        "effectuer", "realiser", "finisse", "decolle", "noon", "midi", "minuit", "midnight",
        "arriver", "arrives", "terminera", "personnes", "march", "marched", "marcher", "manche",
        "testing", "pleased", "novel", "encode", "souris", "soumis",
    }
)  # fmt: skip


def _words(phrases: Iterable[str]) -> set[str]:
    return {word for phrase in phrases for word in phrase.split()}


_ALL_TABLES: tuple[tuple[str, ...], ...] = (
    _CLIENT_WORDS, _THIRD_PERSON, _PROVIDER_CANCEL, _ABSENT, _ABSENT_NEGATION, _ABSENT_STATE,
    _MODIFIED, _MODIFIED_WEAK, _LATE, _NOT_LATE, _DONE, _NOT_DONE, _ARRIVED, _NOT_ARRIVED,
    _HELP, _CONFIRM_DESPITE_NO, _DECLINE, _CONFIRM, tuple(_ALONE), tuple(_FILLERS),
    _STOP_PHRASES, tuple(_STOP_KEYWORDS), tuple(_START_KEYWORDS), tuple(_HELP_KEYWORDS),
)  # fmt: skip
_VOCABULARY = frozenset(set().union(*(_words(table) for table in _ALL_TABLES)))
_KNOWN = _VOCABULARY | frozenset(_TYPO_TARGETS) | _NOT_TYPOS

# --------------------------------------------------------------------------------------------
# Typo tolerance
# --------------------------------------------------------------------------------------------

# Only long words are corrected: on short ones a single edit too often makes another word.
_FUZZY_MIN_LEN = 5
_FUZZY_TARGETS = frozenset(w for w in _TYPO_TARGETS if len(w) >= _FUZZY_MIN_LEN)


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def _build_deletion_index(words: Iterable[str]) -> dict[str, frozenset[str]]:
    # Symmetric-delete index: two words within one edit share the word itself or one of its
    # single-letter deletions, so candidates come from a few dict look-ups, not a scan.
    index: dict[str, set[str]] = {}
    for word in words:
        for key in {word} | _deletions(word):
            index.setdefault(key, set()).add(word)
    return {key: frozenset(value) for key, value in index.items()}


_DELETION_INDEX = _build_deletion_index(_FUZZY_TARGETS)


def _within_one_edit(a: str, b: str) -> bool:
    """True when a and b differ by at most one insertion, deletion, substitution or swap."""
    if a == b:
        return True
    if len(a) > len(b):
        a, b = b, a
    if len(b) - len(a) > 1:
        return False
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    if len(a) == len(b):
        if a[i + 1 :] == b[i + 1 :]:
            return True
        # An adjacent transposition ("arirved") counts as a single typo.
        return (
            i + 1 < len(a) and a[i] == b[i + 1] and a[i + 1] == b[i] and a[i + 2 :] == b[i + 2 :]
        )
    return a[i:] == b[i + 1 :]


_REPEATS_3 = re.compile(r"([a-z])\1{2,}")
_REPEATS_2 = re.compile(r"([a-z])\1+")


@lru_cache(maxsize=8192)
def _correct(token: str) -> str:
    """The vocabulary word a token stands for, allowing stretched letters and one typo."""
    if token in _KNOWN or not token.isalpha():
        return token
    # Stretched words: "ouiiii", "okkk", "noooon" are short answers squeezed to single
    # letters; longer words keep their doubles ("donne" is not "done"), so only runs of three
    # or more shrink ("arriveeee" -> "arrivee").
    single = _REPEATS_2.sub(r"\1", token)
    if len(single) <= 3 and single in _KNOWN:
        return single
    double = _REPEATS_3.sub(r"\1\1", token)
    if double in _KNOWN:
        return double
    for form in dict.fromkeys((double, token)):
        if len(form) < _FUZZY_MIN_LEN:
            continue
        candidates = set().union(
            *(_DELETION_INDEX.get(key, frozenset()) for key in {form} | _deletions(form))
        )
        # Keeping the first letter avoids most false friends ("loved" is not "moved").
        matches = sorted(c for c in candidates if c[0] == form[0] and _within_one_edit(form, c))
        if matches:
            return matches[0]
    return token


def _tokens(text: str) -> list[str]:
    """Normalised words, digits split from letters ("17h30" -> "17 h 30"), typos corrected."""
    spaced = _DIGIT_LETTER.sub(" ", normalize(text))
    return [_correct(token) for token in spaced.split()]


# --------------------------------------------------------------------------------------------
# Phrase matching
# --------------------------------------------------------------------------------------------


def _alternation(phrases: Iterable[str]) -> str:
    # Longest first so that "no one answers" wins over "no" at the same position.
    ordered = sorted(set(phrases), key=lambda p: (-len(p), p))
    return "(?:" + "|".join(re.escape(p) for p in ordered) + ")"


def _phrase_regex(phrases: Iterable[str]) -> re.Pattern[str]:
    # Phrases match whole words only; the text is words separated by single spaces.
    return re.compile(r"(?<![a-z0-9])" + _alternation(phrases) + r"(?![a-z0-9])")


_CLIENT = _alternation(_CLIENT_WORDS)
_CANCEL = _alternation(_CANCEL_WORDS)
_FIRST_PERSON = r"(?:i|je|j|we|nous)"
_CLIENT_CANCEL_RE = re.compile(
    # "client canceled", "the client asked me to cancel", "le client a annulé": the client is
    # the subject within a few words, without an "I" in between ("client ok, I cancel").
    rf"\b{_CLIENT}(?: (?!{_FIRST_PERSON}\b)[a-z0-9]+){{0,4}} {_CANCEL}\b"
    # "cancelled by the client", "annulé par la famille", "annulation client"; but "cancel
    # the client" is the provider's own cancellation.
    rf"|\b{_CANCEL} (?:by|from|of|par|de|du|des|d)"
    r"(?: (?:la|le|les|the|l|a|an|her|his|my|ma|mon))?"
    rf"(?: part (?:de|du|des)(?: (?:la|le|les|l))?)? {_CLIENT}\b"
    rf"|\b(?:annulation|cancellation|cancelation) {_CLIENT}\b"
    # "the client doesn't want the visit", "la cliente ne veut pas".
    rf"|\b(?:{_CLIENT}|{_alternation(_THIRD_PERSON)})(?: (?!{_FIRST_PERSON}\b)[a-z0-9]+){{0,3}}"
    rf" {_alternation(_CLIENT_REFUSES)}\b"
    # "she cancelled", "elle vient d'annuler".
    rf"|\b{_alternation(_THIRD_PERSON)}"
    rf"(?: (?:has|have|s|ve|just|had|also|already|a|ont|vient|viennent|d|de|juste|aussi|deja))"
    rf"{{0,3}} {_CANCEL}\b"
)
_ABSENT_RE = re.compile(
    _phrase_regex(_ABSENT).pattern
    + rf"|\b(?:{_CLIENT}|{_alternation(_THIRD_PERSON)})(?: [a-z]+){{0,3}}"
    rf" {_alternation(_ABSENT_NEGATION)}(?: [a-z]+)? {_alternation(_ABSENT_STATE)}\b"
)
_MODIFIED_RE = _phrase_regex(_MODIFIED)
_MODIFIED_WEAK_RE = _phrase_regex(_MODIFIED_WEAK)
_LATE_RE = _phrase_regex(_LATE)
_NOT_LATE_RE = _phrase_regex(_NOT_LATE)
_STOP_PHRASES_RE = _phrase_regex(_STOP_PHRASES)
_ARRIVAL_RE = _phrase_regex(("arrival", "arrivee", "arrive", "eta"))
_HYPOTHETICAL_RE = _phrase_regex(_HYPOTHETICAL)
_NOT_HYPOTHETICAL_RE = _phrase_regex(_NOT_HYPOTHETICAL)

# --------------------------------------------------------------------------------------------
# Numbers, durations and clock times
# --------------------------------------------------------------------------------------------


def _numerize(tokens: list[str]) -> str:
    """Spell numbers as digits ("vingt cinq" -> "25", "twenty-five" -> "25", "une" -> "1")."""
    out: list[str] = []
    i = 0
    while i < len(tokens):
        found = read_number(tokens, i)
        if found is not None:
            out.append(str(found[0]))
            i = found[1]
        else:
            out.append("1" if tokens[i] in ("un", "une") else tokens[i])
            i += 1
    return " ".join(out)


_H = r"(?:h|hr|hrs|hour|hours|heure|heures)"
_MIN = r"(?:min|mins|minute|minutes|mn|mns|mnt|mnts|minit|m)"
_A = r"(?:a|an|1)"
_AND_HALF = r"(?: and a half| and half| et demie| et demi| et 1 2)"
# "an hour and a quarter", "une heure et quart", "an hour and ten (minutes)".
_AND_MORE = (
    r"(?: (?:and|et) (?:(?P<{0}_q>a quarter|quart|le quart)|(?P<{0}_m>\d{{1,2}})"
    r"(?! (?:h|hr|hrs|hour|hours|heure|heures)\b)(?: (?:min|mins|minute|minutes|mn))?))?"
)
_DURATION_RE = re.compile(
    r"(?<![a-z0-9:.])(?:"
    rf"(?P<hh>\d{{1,2}}) {_H} (?:et )?1 2(?![0-9])"  # "1h 1/2"
    rf"|(?P<hm_h>\d{{1,2}}) {_H} (?:and |et )?(?P<hm_m>\d{{1,2}})(?: {_MIN})?"
    rf"|(?P<dec_h>\d{{1,2}})\.(?P<dec_f>\d{{1,2}}) {_H}"
    rf"|(?P<h>\d{{1,2}}) {_H}(?:(?P<h_half>{_AND_HALF})|{_AND_MORE.format('h')})"
    # "an hour", not a bare "heure" ("nouvelle heure d'arrivée" is no delay).
    rf"|(?P<a>{_A}) (?:hour|heure)(?:(?P<a_half>{_AND_HALF})|{_AND_MORE.format('a')})"
    rf"|(?P<q3>3) (?:quarters?|quarts?|4)(?: of an?| of| d)? {_H}"
    rf"|(?P<q1>(?:{_A} )?(?:quarter|quart)(?: of an?| of| d)? (?:hour|heure)|1 4 (?:d )?{_H})"
    rf"|(?P<half>half (?:an? )?hour|(?:{_A} )?demie? heure|1 2 (?:an? )?{_H})"
    rf"|(?P<m>\d{{1,3}}) {_MIN}"
    r")(?![a-z0-9:.])"
)
# Before these words a number is a clock time ("arriving at 17h"), not a delay.
_CLOCK_PREFIXES = frozenset({"a", "at", "vers", "around", "until", "jusqu", "to"})
_LATE_CUE = r"(?:late|retard|delay|delayed|behind)"
_BARE_LATE_RE = re.compile(
    rf"\b{_LATE_CUE}(?: (?:by|of|de|d|about|around|environ|approx|like|genre|maybe|"
    rf"probably|surement|sans doute|peut etre))* (?P<a>\d{{1,3}})(?![0-9:.])(?! {_H}\b)(?! \d)"
    rf"|(?<![a-z0-9:.])(?P<b>\d{{1,3}}) (?:de )?{_LATE_CUE}\b"
)
# "be there in 10 min", "j'arrive dans 5 minutes": a delay without the word "late".
_IN_DURATION_RE = re.compile(
    r"\b(?:in|dans|ds|within|d ici|eta)(?: (?:about|around|environ|approx|like|genre|maybe|"
    r"max|maximum|less than|moins de))* (?=\d|an? |half|demi|quelques|few|quart|quarter|hour)"
)
_FEW_MINUTES_RE = re.compile(
    r"(?:an? )?(?:few|quelques|couple of|couple|deux trois|2 3|2 or 3|2 ou 3)"
    r" (?:min|mins|minutes)\b"
)


def _duration_minutes(text: str) -> int | None:
    """The first delay in a numerized text, in minutes, ignoring clock times."""
    pos = 0
    while (match := _DURATION_RE.search(text, pos)) is not None:
        # Resume just after a rejected match's start, not its end: in "at 17 h 10 min late"
        # the clock time "17 h 10" must not swallow the delay "10 min".
        pos = match.start() + 1
        before = text[: match.start()].rsplit(" ", 2)
        if len(before) >= 2 and before[-2] in _CLOCK_PREFIXES:
            continue
        minutes = _match_minutes(match)
        if minutes is not None and 0 < minutes <= _MAX_LATE_MINUTES:
            return minutes
    return None


def _match_minutes(match: re.Match[str]) -> int | None:
    """Minutes of one _DURATION_RE match."""
    group = match.group
    if group("hh") is not None:
        return int(group("hh")) * 60 + 30
    if group("hm_h") is not None:
        if int(group("hm_m")) >= 60:
            return None
        return int(group("hm_h")) * 60 + int(group("hm_m"))
    if group("dec_h") is not None:
        return round(float(f"{group('dec_h')}.{group('dec_f')}") * 60)
    if group("h") is not None:
        return int(group("h")) * 60 + _extra_minutes(match, "h")
    if group("m") is not None:
        return int(group("m"))
    if group("q3") is not None:
        return 45
    if group("half") is not None:
        return 30
    if group("q1") is not None:
        return 15
    return 60 + _extra_minutes(match, "a")  # "an hour", "an hour and a half"


def _extra_minutes(match: re.Match[str], name: str) -> int:
    """What follows a whole number of hours: "and a half", "and a quarter", "and ten"."""
    if match.group(f"{name}_half"):
        return 30
    if match.group(f"{name}_q"):
        return 15
    extra = match.group(f"{name}_m")
    return int(extra) if extra is not None and int(extra) < 60 else 0


def _late_minutes(text: str) -> int | None:
    """Minutes of a delay: a duration with a unit first, else a bare number by the cue."""
    minutes = _duration_minutes(text)
    if minutes is not None:
        return minutes
    match = _BARE_LATE_RE.search(text)
    if match is not None:
        value = int(match.group("a") or match.group("b"))
        if 0 < value <= _MAX_LATE_MINUTES:
            return value
    return None


_AMPM = r"(?P<ampm>am|pm|a m|p m)"
_CLOCK_RE = re.compile(
    r"(?<![a-z0-9:.])(?:"
    rf"(?P<h1>\d{{1,2}})[:.](?P<m1>\d{{2}})(?: ?{_AMPM})?"
    rf"|(?P<h2>\d{{1,2}}) h(?: (?P<m2>\d{{2}}))?"
    rf"|(?P<h3>\d{{1,2}}) (?P<ampm3>am|pm|a m|p m)"
    r"|(?P<noon>noon|midi)|(?P<midnight>midnight|minuit)"
    rf"|(?:to|at|a|vers) (?P<h4>\d{{1,2}})(?![.:]\d)(?! {_MIN}\b)(?! {_H}\b)"
    r")(?![a-z0-9:])"
)
# A duration is not a new start time ("décalé de 2h", "pushed back by 1 h").
_DURATION_PREFIXES = frozenset({"de", "by", "of", "d"})


def _clock_time(text: str) -> str | None:
    """The first clock time in a text as "HH:MM"."""
    for match in _CLOCK_RE.finditer(text):
        before = text[: match.start()].rsplit(" ", 2)
        if len(before) >= 2 and before[-2] in _DURATION_PREFIXES:
            continue
        hhmm = _match_clock(match)
        if hhmm is not None:
            return hhmm
    return None


def _match_clock(match: re.Match[str]) -> str | None:
    """The time of one _CLOCK_RE match as "HH:MM", or None when it is no valid time."""
    group = match.group
    if group("noon"):
        return "12:00"
    if group("midnight"):
        return "00:00"
    ampm = group("ampm") or group("ampm3")
    hour_text = group("h1") or group("h2") or group("h3") or group("h4")
    hour, minute = int(hour_text), int(group("m1") or group("m2") or 0)
    if ampm:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if ampm.startswith("p") else 0)
    elif (group("h4") or group("h1")) and 1 <= hour <= 6 and not hour_text.startswith("0"):
        # A bare "moved to 5" or "moved to 2:30" is read as care hours: pm, not am.
        hour += 12
    if hour > 23 or minute > 59:
        return None
    return f"{hour:02d}:{minute:02d}"


# --------------------------------------------------------------------------------------------
# Rules, in priority order
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Text:
    words: str  # corrected words joined by single spaces
    numbers: str  # the same with numbers spelled as digits
    core: tuple[str, ...]  # the words without politeness fillers


def _alone(text: _Text, words: Iterable[str]) -> bool:
    return len(text.core) == 1 and text.core[0] in words


def _stop_or_start(text: _Text) -> Reply | None:
    # "STOP please" is no carrier keyword, but it is a clear request to opt out.
    if _alone(text, _STOP_WORDS_IN_SENTENCE) or _STOP_PHRASES_RE.search(text.words):
        return Reply("stop")
    if _alone(text, _START_WORDS_IN_SENTENCE):
        return Reply("start")
    return None


def _modified(text: _Text) -> Reply | None:
    # "retard, nouvelle heure d'arrivée 17h" gives a late arrival time, not a new start.
    if _LATE_RE.search(text.words) and _ARRIVAL_RE.search(text.words):
        return None
    time = _clock_time(text.numbers)
    if _MODIFIED_RE.search(text.words) or (time and _MODIFIED_WEAK_RE.search(text.words)):
        return Reply("modified", time=time)
    return None


def _late(text: _Text) -> Reply | None:
    if _LATE_RE.search(text.words) and not _NOT_LATE_RE.search(text.words):
        return Reply("late", minutes=_late_minutes(text.numbers))
    return None


def _late_in(text: _Text) -> Reply | None:
    match = _IN_DURATION_RE.search(text.numbers)
    if match is None:
        return None
    # The delay must follow the preposition ("in 10 min", not "in the kitchen ... 10 min").
    duration = _DURATION_RE.match(text.numbers, match.end())
    if duration is not None:
        minutes = _match_minutes(duration)
        if minutes is not None and 0 < minutes <= _MAX_LATE_MINUTES:
            return Reply("late", minutes=minutes)
    return Reply("late") if _FEW_MINUTES_RE.match(text.numbers, match.end()) else None


@dataclass(frozen=True)
class _Said:
    """A rule that needs no more than its phrases: the intent when one of them is in the text
    and none of `unless`; with `alone`, also a one-word reply that _ALONE gives the intent."""

    intent: str
    phrases: re.Pattern[str]
    unless: re.Pattern[str] | None = None
    alone: bool = False

    def __call__(self, text: _Text) -> Reply | None:
        if self.phrases.search(text.words) and not (
            self.unless is not None and self.unless.search(text.words)
        ):
            return Reply(self.intent)
        return _alone_reply(text, self.intent) if self.alone else None


def _alone_reply(text: _Text, intent: str) -> Reply | None:
    if len(text.core) == 1 and _ALONE.get(text.core[0]) == intent:
        return Reply(intent)
    return None


# Most specific and most consequential first: a cancellation or an absence outweighs the
# "no" or "ok" that may come with it; a delay outweighs "arrive" in "j'arrive dans 10 min".
_RULES: tuple[Callable[[_Text], Reply | None], ...] = (
    _stop_or_start,
    _Said("client_cancel", _CLIENT_CANCEL_RE),
    # Any other cancellation is the provider's own; the flow asks them to confirm it.
    _Said("provider_cancel", _phrase_regex(_PROVIDER_CANCEL)),
    _Said("absent", _ABSENT_RE),
    _modified,
    _late,
    _Said("done", _phrase_regex(_DONE), unless=_phrase_regex(_NOT_DONE), alone=True),
    _late_in,
    _Said("arrived", _phrase_regex(_ARRIVED), unless=_phrase_regex(_NOT_ARRIVED), alone=True),
    _Said("help", _phrase_regex(_HELP)),
    _Said("confirm", _phrase_regex(_CONFIRM_DESPITE_NO)),
    _Said("decline", _phrase_regex(_DECLINE), alone=True),
    _Said("confirm", _phrase_regex(_CONFIRM), alone=True),
)


def parse_reply(text: str, lang: str, now: datetime | None = None) -> Reply:
    """Read a provider's free-text SMS/Telegram reply into an intent (French or English).

    `now` (naive local time of the agency) lets a "modified" reply carry the day it names.
    """
    reply = _parse_intent(text)
    if reply.intent == "modified" and now is not None:
        day = named_day(text[:_MAX_CHARS], now, lang)
        if day is not None:
            return replace(reply, date=day.isoformat())
    return reply


def _parse_intent(text: str) -> Reply:
    # Both vocabularies are always read: providers mix languages ("ok, retard 10"), so the
    # provider's language never has to be right for the intent to be understood.
    keyword = sms_keyword(text)
    if keyword is not None:
        return Reply(keyword)
    words = _tokens(text[:_MAX_CHARS])
    if not any(word.isalpha() for word in words):
        return Reply("unknown")
    parsed = _Text(
        words=" ".join(words),
        numbers=_numerize(words),
        core=tuple(word for word in words if word not in _FILLERS),
    )
    for rule in _RULES:
        reply = rule(parsed)
        if reply is not None:
            return _unless_hypothetical(reply, parsed)
    return Reply("unknown")


# Reports of what happened; a hypothetical one is left for the flow to ask about.
_INCIDENTS = frozenset(
    {"arrived", "late", "modified", "absent", "client_cancel", "provider_cancel", "done"}
)


def _unless_hypothetical(reply: Reply, text: _Text) -> Reply:
    if reply.intent not in _INCIDENTS or not _HYPOTHETICAL_RE.search(text.words):
        return reply
    if _NOT_HYPOTHETICAL_RE.search(text.words) and not _HYPOTHETICAL_RE.search(
        _NOT_HYPOTHETICAL_RE.sub(" ", text.words)
    ):
        return reply
    return Reply("unknown")


def reply_to_json(reply: Reply) -> dict[str, str | int]:
    """{"intent": ...} plus "minutes", "time", "date" when set: what `carebot parse-sms` prints."""
    out: dict[str, str | int] = {"intent": reply.intent}
    if reply.minutes is not None:
        out["minutes"] = reply.minutes
    if reply.time is not None:
        out["time"] = reply.time
    if reply.date is not None:
        out["date"] = reply.date
    return out
