"""The unit of work: one transaction's repositories, built on demand over one executor."""

from __future__ import annotations

from storage.repos.availability import Availability
from storage.repos.breaks import Breaks
from storage.repos.changes import Changes
from storage.repos.conversations import Conversations
from storage.repos.coordination import Coordination
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
    backend's Database creates it, around its own executor (SQLite: one for the connection,
    reused by every transaction, since statements go to whatever transaction is open)."""

    def __init__(self, sql: Executor, writes: Writes) -> None:
        self.sql = sql
        # Plain attributes, built once: a repository holds nothing but the executor, and a
        # lazy property costs more per unit of work than building them all (a lock each).
        self.roster = Roster(sql)
        self.availability = Availability(sql)
        self.requests = Requests(sql)
        self.series = SeriesRepo(sql)
        self.breaks = Breaks(sql)
        self.offers = Offers(sql)
        self.escalations = Escalations(sql)
        self.changes = Changes(sql)
        self.ledger = Ledger(sql)
        self.timers = Timers(sql, writes)
        self.outbox = Outbox(sql, writes)
        self.inbox = Inbox(sql, writes)
        self.once = Once(sql)
        self.coordination = Coordination(sql)
        self.conversations = Conversations(sql)
        self.imports = Imports(sql)
        self.health = Health(sql)
