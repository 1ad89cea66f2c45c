"""The ports the use cases need: one small repository per concern, reached from a unit of
work; storage implements them (storage/repos/), tests/fakes/ fakes some of them."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Protocol

from bot.domain.booking import NewRequest
from bot.services.ports.availability import Availability, DaySpan
from bot.services.ports.breaks import Breaks
from bot.services.ports.changes import Changes, NewChange
from bot.services.ports.conversations import Conversations
from bot.services.ports.coordination import Coordination, Leader
from bot.services.ports.escalations import Escalations
from bot.services.ports.health import Health
from bot.services.ports.imports import Imports, Reimport
from bot.services.ports.inbox import Inbox, Taken
from bot.services.ports.ledger import Ledger, LedgerEntry
from bot.services.ports.offers import Offers
from bot.services.ports.once import Once
from bot.services.ports.outbox import Outbox, OutgoingMessage, Retry
from bot.services.ports.records import (
    AccountLine,
    Clock,
    Escalation,
    LedgerLine,
    Offer,
    OutboxMessage,
    Regular,
    RosterChanges,
    Timer,
)
from bot.services.ports.requests import Details, Requests
from bot.services.ports.roster import Roster
from bot.services.ports.series import SeriesRepo
from bot.services.ports.timers import Timers

__all__ = [
    "AccountLine",
    "Availability",
    "Breaks",
    "Changes",
    "Clock",
    "Conversations",
    "Coordination",
    "DaySpan",
    "Details",
    "Escalation",
    "Escalations",
    "Health",
    "Imports",
    "Inbox",
    "Leader",
    "Ledger",
    "LedgerEntry",
    "LedgerLine",
    "NewChange",
    "NewRequest",
    "Offer",
    "Offers",
    "Once",
    "Outbox",
    "OutboxMessage",
    "OutgoingMessage",
    "Regular",
    "Reimport",
    "Requests",
    "Retry",
    "Roster",
    "RosterChanges",
    "SeriesRepo",
    "Store",
    "Taken",
    "Timer",
    "Timers",
    "UnitOfWork",
]


class UnitOfWork(Protocol):
    """The repositories of one transaction: what one of them writes commits with the others
    or not at all."""

    @property
    def roster(self) -> Roster:
        """The agency, its services and people."""
        ...

    @property
    def availability(self) -> Availability:
        """Who is free when."""
        ...

    @property
    def requests(self) -> Requests:
        """Care requests."""
        ...

    @property
    def series(self) -> SeriesRepo:
        """Weekly series and their occurrences."""
        ...

    @property
    def breaks(self) -> Breaks:
        """Regular members' breaks."""
        ...

    @property
    def offers(self) -> Offers:
        """Requests put to providers."""
        ...

    @property
    def escalations(self) -> Escalations:
        """Requests handed to staff."""
        ...

    @property
    def changes(self) -> Changes:
        """Members' change requests."""
        ...

    @property
    def ledger(self) -> Ledger:
        """Money and credits."""
        ...

    @property
    def timers(self) -> Timers:
        """Moments at which something must happen."""
        ...

    @property
    def outbox(self) -> Outbox:
        """Messages to send."""
        ...

    @property
    def inbox(self) -> Inbox:
        """Inbound deliveries to process."""
        ...

    @property
    def once(self) -> Once:
        """Once-only keys."""
        ...

    @property
    def coordination(self) -> Coordination:
        """Leader leases and send budgets shared by the workers."""
        ...

    @property
    def conversations(self) -> Conversations:
        """Where people are in chat flows."""
        ...

    @property
    def imports(self) -> Imports:
        """Loading agency files."""
        ...

    @property
    def health(self) -> Health:
        """The health probe."""
        ...


class Store(Protocol):
    """Where units of work come from."""

    def transaction(self) -> AbstractAsyncContextManager[UnitOfWork]:
        """Open a unit of work that commits on success and rolls back on error."""
        ...
