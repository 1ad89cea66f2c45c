"""Records the repositories hand to services, and the clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from bot.domain.agency import Member


@dataclass(frozen=True)
class Offer:
    """A request put to one provider, with its deadline and answer."""

    id: int
    request_id: int
    provider_id: str
    sent_at: datetime
    deadline: datetime
    answer: str | None


@dataclass(frozen=True)
class Escalation:
    """A request handed to staff, and who handled it."""

    id: int
    request_id: int
    reason: str
    about: str | None
    handled_by: str | None  # None with an outcome: closed by the bot itself
    outcome: str | None

    @property
    def is_open(self) -> bool:
        """Still waiting for staff: nobody (staff or the bot) has closed it."""
        return self.handled_by is None and self.outcome is None


@dataclass(frozen=True)
class Timer:
    """A pending moment at which something must happen."""

    id: int
    kind: str
    request_id: int | None
    ref_id: int | None
    due_at: datetime


@dataclass(frozen=True)
class Regular:
    """A member the bot keeps in touch with (§10), as of one moment."""

    member: Member
    last_session_end: datetime | None
    last_provider_id: str | None
    booked: bool  # something upcoming: asked, with staff, or held
    watched_since: datetime | None  # None: not watched yet
    nudged_for: datetime | None  # the start of the break already nudged


@dataclass(frozen=True)
class OutboxMessage:
    """A message the bot has decided to send."""

    id: int
    created_at: datetime
    person_id: str | None
    channel: str
    address: str
    text: str
    options: tuple[tuple[str, str], ...]  # (label, packed action)
    state: str
    broadcast: str | None = None  # shared by the rows of one staff notification
    attempts: int = 0
    # The first attempt whose outcome is unknown (it may have gone out): ask before resending.
    unsure_since: datetime | None = None


@dataclass(frozen=True)
class RosterChanges:
    """What an import changed: people's ids added, updated, removed; settings or services."""

    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    settings: bool = False  # the agency, its policy or its services changed

    @property
    def nothing(self) -> bool:
        """Whether the import left the database as it was."""
        return not (self.added or self.updated or self.removed or self.settings)


@dataclass(frozen=True)
class LedgerLine:
    """One movement of money or credits."""

    id: int
    created_at: datetime
    kind: str
    request_id: int | None
    amount: Decimal
    balance_delta: Decimal
    credits_delta: int
    recorded_by: str | None = None  # the staff member who entered it by hand (a payment)


@dataclass(frozen=True)
class AccountLine:
    """A ledger line and the accounts it is on: a member's, a provider's (or neither)."""

    line: LedgerLine
    member_id: str | None
    provider_id: str | None


class Clock(Protocol):
    """The one source of the current time (aware, UTC)."""

    def now(self) -> datetime:
        """The current moment."""
        ...
