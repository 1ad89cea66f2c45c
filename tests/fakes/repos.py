"""In-memory repositories for services' unit tests where a real database adds nothing.

They follow the ports (bot/services/ports/) and the SQLite repositories they stand for
(storage/repos/, docs/storage.md): same ordering, same once-only answers. A unit of work
here never rolls back; tests that need commits, rollbacks, locks, transcripts or channels
use real SQLite. A concern a test does not wire raises when touched.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from bot.domain.agency import AgencyFile, Member, Person
from bot.domain.booking import Request, Transition
from bot.domain.errors import NotFound, RequestChanged
from bot.services.ports import (
    AccountLine,
    LedgerEntry,
    LedgerLine,
    OutboxMessage,
    OutgoingMessage,
    Timer,
)

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

R = TypeVar("R", bound="DataclassInstance")


def _stored(record: type[R], given: object, **stored: object) -> R:
    """What storage keeps of what it was given (as storage.repos.rows.named reads a row): the
    fields of the same name, those in `stored`, and defaults for the rest."""
    kept = {f.name: getattr(given, f.name) for f in fields(record) if hasattr(given, f.name)}
    return record(**{**kept, **stored})


class FakeRoster:
    """The roster of an agency file (storage/repos/roster.py), read-only but for opt-outs."""

    def __init__(self, data: AgencyFile) -> None:
        self.data = data
        self.opted_out: set[str] = set()

    async def agency(self) -> Any:
        """The file's agency."""
        return self.data.agency

    async def services(self) -> list[Any]:
        """The file's services, in order."""
        return list(self.data.services)

    async def person(self, person_id: str) -> Person:
        """Anyone by id; NotFound as storage raises it."""
        for p in self.data.people:
            if p.id == person_id:
                return p
        raise NotFound(person_id)

    async def people(self, role: str) -> list[Person]:
        """Everyone with a role, in the file's order."""
        chosen = {"member": self.data.members, "provider": self.data.providers}
        return list(chosen.get(role, self.data.staff))

    async def subscribers(self) -> list[Member]:
        """Members with a weekly subscription."""
        return [m for m in self.data.members if m.subscription is not None]

    async def is_opted_out(self, person_id: str) -> bool:
        """Whether a person opted out of SMS."""
        return person_id in self.opted_out


class FakeLedger:
    """An append-only list of lines (storage/repos/ledger.py)."""

    def __init__(self) -> None:
        self.entries: list[AccountLine] = []
        self.credit_weeks: set[tuple[str, str]] = set()

    async def add(self, entry: LedgerEntry) -> None:
        """Append one movement."""
        line = _stored(LedgerLine, entry, id=len(self.entries) + 1, created_at=entry.at)
        self.entries.append(AccountLine(line, entry.member_id, entry.provider_id))

    async def balance(self, member_id: str) -> tuple[Decimal, int]:
        """Sums of a member's balance and credits."""
        mine = [e.line for e in self.entries if e.member_id == member_id]
        return sum((x.balance_delta for x in mine), Decimal(0)), sum(x.credits_delta for x in mine)

    async def history(self, member_id: str, limit: int) -> list[LedgerLine]:
        """Latest lines first."""
        return list(reversed(await self.of_member(member_id)))[:limit]

    async def of_member(self, member_id: str) -> list[LedgerLine]:
        """A member's lines, oldest first."""
        return [e.line for e in self.entries if e.member_id == member_id]

    async def claim_credit_week(self, member_id: str, week: str) -> bool:
        """Once per member and week."""
        if (member_id, week) in self.credit_weeks:
            return False
        self.credit_weeks.add((member_id, week))
        return True


class FakeTimers:
    """Pending timers in memory (storage/repos/timers.py); claims succeed once."""

    def __init__(self) -> None:
        self.rows: list[tuple[Timer, str]] = []  # (timer, state)
        self._ids = itertools.count(1)

    async def add(
        self, kind: str, due_at: datetime, request_id: int | None = None, ref_id: int | None = None
    ) -> None:
        """Schedule something."""
        self.rows.append((Timer(next(self._ids), kind, request_id, ref_id, due_at), "pending"))

    async def add_many(
        self, timers: Sequence[tuple[str, datetime, int | None, int | None]]
    ) -> None:
        """Schedule many."""
        for kind, due, request_id, ref_id in timers:
            await self.add(kind, due, request_id, ref_id)

    def pending(self) -> list[Timer]:
        """Pending timers in due order (for assertions)."""
        return sorted((t for t, s in self.rows if s == "pending"), key=lambda t: (t.due_at, t.id))

    async def due(self, until: datetime, limit: int) -> list[Timer]:
        """Pending timers due by `until`."""
        return [t for t in self.pending() if t.due_at <= until][:limit]

    async def has_pending(self, kind: str) -> bool:
        """Whether a timer of this kind is pending."""
        return any(t.kind == kind for t in self.pending())

    async def claim(self, timer_id: int, at: datetime) -> bool:
        """Fire a pending timer once."""
        for i, (t, state) in enumerate(self.rows):
            if t.id == timer_id and state == "pending":
                self.rows[i] = (t, "fired")
                return True
        return False

    async def cancel(self, request_id: int, kinds: Iterable[str] | None = None) -> None:
        """Drop a request's pending timers."""
        wanted = None if kinds is None else set(kinds)
        for i, (t, state) in enumerate(self.rows):
            mine = t.request_id == request_id and state == "pending"
            if mine and (wanted is None or t.kind in wanted):
                self.rows[i] = (t, "cancelled")


class FakeOutbox:
    """Queued messages in memory (storage/repos/outbox.py); nothing is ever sent."""

    def __init__(self, roster: FakeRoster) -> None:
        self.messages: list[OutboxMessage] = []
        self._roster = roster

    async def enqueue(self, message: OutgoingMessage) -> int:
        """Queue a message; an SMS to an opted-out person is stored as dropped."""
        dropped = message.channel == "sms" and message.person_id in self._roster.opted_out
        state = "dropped" if dropped else "queued"
        queued = _stored(
            OutboxMessage, message, id=len(self.messages) + 1, created_at=message.at, state=state
        )
        self.messages.append(queued)
        return queued.id

    async def after(self, after_id: int) -> list[OutboxMessage]:
        """Messages after an id, dropped ones left out."""
        return [m for m in self.messages if m.id > after_id and m.state != "dropped"]

    async def last_id(self) -> int:
        """The newest id (0 when none)."""
        return len(self.messages)

    async def broadcast_rows(self, key: str) -> list[OutboxMessage]:
        """Every row of one staff notification."""
        return [replace(m) for m in self.messages if m.broadcast == key]


class FakeRequests:
    """Requests in memory (storage/repos/requests.py), for the status changes: a transition is
    stored only if the request still stands where it started, as the real guard does."""

    def __init__(self) -> None:
        self.rows: dict[int, Request] = {}

    def put(self, request: Request) -> Request:
        """Place a request as it stands (a test's setup; ids are the test's)."""
        self.rows[request.id] = request
        return request

    async def get(self, request_id: int) -> Request:
        """A request by id; NotFound as storage raises it."""
        if request_id not in self.rows:
            raise NotFound(f"request {request_id}")
        return self.rows[request_id]

    async def save(self, transition: Transition) -> Request:
        """Store a status change; RequestChanged if the request moved since `before`."""
        now = await self.get(transition.before.id)
        if now.status is not transition.before.status:
            raise RequestChanged(now.id)
        after = transition.after
        self.rows[now.id] = replace(
            now,
            status=after.status,
            provider_id=after.provider_id,
            charge=after.charge,
            payout=after.payout,
        )
        return self.rows[now.id]

    async def waive(self, request_id: int, at: datetime) -> Request:
        """Cancel a settled request's charge and payout."""
        request = await self.get(request_id)
        self.rows[request_id] = replace(request, charge=Decimal(0), payout=Decimal(0))
        return self.rows[request_id]


class _Unwired:
    """A concern this fake unit of work does not provide: touching it is a test mistake."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        raise AssertionError(f"tx.{self._name}.{attr}: not wired in FakeUnitOfWork")


@dataclass
class FakeUnitOfWork:
    """The unit of work of bot.services.ports over in-memory repositories."""

    data: AgencyFile
    roster: FakeRoster = field(init=False)
    ledger: FakeLedger = field(default_factory=FakeLedger)
    timers: FakeTimers = field(default_factory=FakeTimers)
    requests: FakeRequests = field(default_factory=FakeRequests)
    outbox: FakeOutbox = field(init=False)

    def __post_init__(self) -> None:
        self.roster = FakeRoster(self.data)
        self.outbox = FakeOutbox(self.roster)

    def __getattr__(self, name: str) -> Any:
        # Only reached for concerns not declared above (offers, inbox...).
        return _Unwired(name)
