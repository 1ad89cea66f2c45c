"""The unit of work: one transaction's repositories, built on demand over one executor."""

from __future__ import annotations

from functools import cached_property

from storage.repos.availability import Availability
from storage.repos.breaks import Breaks
from storage.repos.changes import Changes
from storage.repos.conversations import Conversations
from storage.repos.escalations import Escalations
from storage.repos.health import Health
from storage.repos.imports import Imports
from storage.repos.inbox import Inbox
from storage.repos.ledger import Ledger
from storage.repos.offers import Offers
from storage.repos.once import Once
from storage.repos.outbox import Outbox
from storage.repos.requests import Requests
from storage.repos.roster import Roster
from storage.repos.series import SeriesRepo
from storage.repos.sql import Executor
from storage.repos.timers import Timers, Writes


class UnitOfWork:
    """What services see inside one transaction (bot.services.ports.UnitOfWork); only a
    backend's Database creates it, around its own executor."""

    def __init__(self, sql: Executor, writes: Writes) -> None:
        self.sql = sql
        self._writes = writes

    # Built on first use: most units of work touch three or four concerns.
    @cached_property
    def roster(self) -> Roster:
        """The agency, its services and people."""
        return Roster(self.sql)

    @cached_property
    def availability(self) -> Availability:
        """Who is free when."""
        return Availability(self.sql)

    @cached_property
    def requests(self) -> Requests:
        """Care requests."""
        return Requests(self.sql)

    @cached_property
    def series(self) -> SeriesRepo:
        """Weekly series and their occurrences."""
        return SeriesRepo(self.sql)

    @cached_property
    def breaks(self) -> Breaks:
        """Regular members' breaks."""
        return Breaks(self.sql)

    @cached_property
    def offers(self) -> Offers:
        """Requests put to providers."""
        return Offers(self.sql)

    @cached_property
    def escalations(self) -> Escalations:
        """Requests handed to staff."""
        return Escalations(self.sql)

    @cached_property
    def changes(self) -> Changes:
        """Members' change requests."""
        return Changes(self.sql)

    @cached_property
    def ledger(self) -> Ledger:
        """Money and credits."""
        return Ledger(self.sql)

    @cached_property
    def timers(self) -> Timers:
        """Moments at which something must happen."""
        return Timers(self.sql, self._writes)

    @cached_property
    def outbox(self) -> Outbox:
        """Messages to send."""
        return Outbox(self.sql)

    @cached_property
    def inbox(self) -> Inbox:
        """Inbound deliveries to process."""
        return Inbox(self.sql)

    @cached_property
    def once(self) -> Once:
        """Once-only keys."""
        return Once(self.sql)

    @cached_property
    def conversations(self) -> Conversations:
        """Where people are in chat flows."""
        return Conversations(self.sql)

    @cached_property
    def imports(self) -> Imports:
        """Loading agency files."""
        return Imports(self.sql)

    @cached_property
    def health(self) -> Health:
        """The health probe."""
        return Health(self.sql)
