"""Notices: what a service wants someone told (a catalogue message and its data), and the
one renderer that writes it in the recipient's language and channel wording.

A notice's data may hold lazy values: a callable taking the language, called while the
notice is rendered for each recipient (a day, a price, a request described), so that one
notice serves every recipient of a broadcast. Option labels are catalogue messages too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from bot.domain.booking import Status
from bot.i18n import N_, fmt_time, ntr, tr, use_language

Localized = Callable[[str], str]  # a value written in the language it is given
Label = str | Localized  # an option's label: a catalogue message, or written per language
Option = tuple[str, str]  # (label as shown, packed action)


@dataclass(frozen=True)
class Notice:
    """A message for someone: catalogue msgid, named data, options under it."""

    message: str
    data: Mapping[str, object] = field(default_factory=dict)
    options: Sequence[tuple[Label, str]] = ()


@dataclass(frozen=True)
class Plural:
    """A catalogue message with a plural form chosen by `n` (ntr); a lazy value, so a notice's
    data or a part of Lines."""

    singular: str
    plural: str
    n: int
    data: Mapping[str, object] = field(default_factory=dict)

    def __call__(self, lang: str) -> str:
        """The message written in a language."""
        data = {key: written(lang, value) for key, value in self.data.items()}
        return ntr(lang, self.singular, self.plural, self.n, **data)


@dataclass(frozen=True)
class Lines:
    """A message made of parts (notices, or lazy values such as a list's lines), each
    written for the reader and joined by `sep`: a statement, a list with its heading."""

    parts: Sequence[Notice | Localized]
    options: Sequence[tuple[Label, str]] = ()
    sep: str = "\n"


def render(lang: str, notice: Notice | Lines) -> tuple[str, list[Option]]:
    """The notice written for a recipient whose language (channel-marked) is `lang`."""
    with use_language(lang):
        if isinstance(notice, Lines):
            text = notice.sep.join(_part(lang, part) for part in notice.parts)
        else:
            data = {key: written(lang, value) for key, value in notice.data.items()}
            text = tr(lang, notice.message, **data)
        options = [(label_text(lang, label), act) for label, act in notice.options]
    return text, options


def _part(lang: str, part: Notice | Localized) -> str:
    return render(lang, part)[0] if isinstance(part, Notice) else part(lang)


def written(lang: str, value: object) -> object:
    """A data value for one language: lazy values are written now, others kept."""
    return value(lang) if callable(value) else value


def label_text(lang: str, label: Label) -> str:
    """An option label in a language."""
    return label(lang) if callable(label) else tr(lang, label)


# Every request status in words: no user ever reads the stored code (e.g. 'escalated').
STATUS_WORDS: dict[Status, str] = {
    Status.PENDING: N_("waiting for the provider's answer"),
    Status.ESCALATED: N_("with our team"),
    Status.CONFIRMED: N_("confirmed"),
    Status.IN_PROGRESS: N_("under way"),
    Status.COMPLETED: N_("done"),
    Status.NO_SHOW: N_("client absent"),
    Status.CANCELLED: N_("cancelled"),
    Status.UNFILLED: N_("no provider found"),
    Status.EXPIRED: N_("not declared in time"),
}
# Staff read the same words, except that an escalation waits for them.
STAFF_STATUS_WORDS: dict[Status, str] = {**STATUS_WORDS, Status.ESCALATED: N_("waiting for staff")}


def status_words(lang: str, status: Status, *, staff: bool = False) -> str:
    """A request's status as its reader says it."""
    return tr(lang, (STAFF_STATUS_WORDS if staff else STATUS_WORDS)[Status(status)])


def phrase(message: str, **data: object) -> Localized:
    """A catalogue message (marked with N_) written in the reader's language, for a notice's
    data: a part of a sentence that is itself translated."""

    def write(lang: str) -> str:
        return tr(lang, message, **{key: written(lang, value) for key, value in data.items()})

    return write


def as_shown(text: str) -> Localized:
    """A text already written for its reader (an option label as it was sent), kept as is."""
    return lambda _: text


def clock(moment: datetime) -> Localized:
    """A moment's time of day ('14:00'), for a notice's data."""
    return partial(fmt_time, moment)
