"""The ports the use cases need; storage implements them on SQLite."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from types import EllipsisType
from typing import Any, Protocol

from bot.domain.agency import (
    Agency,
    AgencyFile,
    AvailabilityWindow,
    Member,
    Person,
    Provider,
    Service,
)
from bot.domain.booking import ChangeRequest, Request, Series, Status


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


class Clock(Protocol):
    """The one source of the current time (aware, UTC)."""

    def now(self) -> datetime:
        """The current moment."""
        ...


class Tx(Protocol):
    """The repositories available inside one unit of work."""

    async def agency(self) -> Agency:
        """The agency; raises NotFound before any import."""
        ...

    async def agency_version(self) -> str:
        """A fingerprint of the imported agency file ('' before the first import)."""
        ...

    async def services(self) -> list[Service]:
        """All services, in the agency file's order."""
        ...

    async def person(self, person_id: str) -> Person:
        """Anyone on the roster by id; providers come with services and availability."""
        ...

    async def person_by_address(self, channel: str, address: str) -> Person | None:
        """Who writes from this Telegram id or E.164 phone number."""
        ...

    async def people(self, role: str) -> list[Person]:
        """Everyone with this role, in the agency file's order."""
        ...

    async def providers_offering(self, service_id: str) -> list[Provider]:
        """Providers who offer a service."""
        ...

    async def free_provider_keys(
        self,
        service_id: str,
        weekday: int,
        first: int,
        last: int,
        day: str,
        start: datetime,
        end: datetime,
    ) -> list[tuple[str, float | None]]:
        """(id, rating) of providers of a service whose one weekly window covers a same-day
        span, not off that day and holding nothing that overlaps [start, end)."""
        ...

    async def partly_free_provider_ids(
        self,
        service_id: str,
        weekday: int,
        first: int,
        last: int,
        day: str,
        start: datetime,
        end: datetime,
        limit: int,
    ) -> list[str]:
        """Providers of a service with a window that overlaps but does not cover a same-day
        span, best rated first (the near misses worth showing)."""
        ...

    async def providers_by_ids(self, ids: Sequence[str]) -> list[Provider]:
        """Providers, complete, in the order of `ids`."""
        ...

    async def busy_providers(self, start: datetime, end: datetime) -> set[str]:
        """Providers holding a window that overlaps [start, end)."""
        ...

    async def providers_had_before(self, member_id: str) -> set[str]:
        """Providers who took care of this member before without cancelling on them."""
        ...

    async def minutes_booked(
        self, start: datetime, end: datetime, provider_ids: Sequence[str]
    ) -> dict[str, int]:
        """Minutes each of these providers holds or worked between start and end."""
        ...

    async def set_language(self, person_id: str, language: str) -> None:
        """Remember the language a person chose."""
        ...

    async def set_opted_out(self, person_id: str, opted_out: bool) -> None:
        """Record an SMS opt-out or opt-in."""
        ...

    async def add_request(
        self,
        *,
        member_id: str,
        service_id: str,
        start: datetime,
        end: datetime,
        status: Status,
        provider_id: str | None,
        price: Decimal,
        fee: Decimal,
        at: datetime,
        paid_by_credit: bool = False,
        series_id: int | None = None,
        series_day: date | None = None,
    ) -> Request:
        """Insert a request; raises DoubleBooking when the provider's window is taken (and
        SeriesDayTaken when that occurrence of the series exists already)."""
        ...

    async def add_series(self, series: Series) -> Series:
        """Record a weekly series (its id is given here)."""
        ...

    async def series(self, series_id: int) -> Series | None:
        """One series by id."""
        ...

    async def live_series(self) -> list[Series]:
        """Series still running (asked or confirmed), oldest first."""
        ...

    async def set_series_status(self, series_id: int, status: str) -> None:
        """Mark a series pending, active or ended."""
        ...

    async def set_series_provider(self, series_id: int, provider_id: str | None) -> None:
        """The provider who holds a series (None while staff look for one)."""
        ...

    async def series_days(self, series_id: int) -> set[date]:
        """The days on which a series has an occurrence already (whatever its status)."""
        ...

    async def requests_of_series(self, series_id: int) -> list[Request]:
        """Every occurrence of a series, soonest first."""
        ...

    async def request(self, request_id: int) -> Request:
        """A request by id."""
        ...

    async def request_by_seq(self, member_id: str, seq: int) -> Request | None:
        """A member's K-th request."""
        ...

    async def requests_of_member(
        self, member_id: str, statuses: Iterable[Status]
    ) -> list[Request]:
        """A member's requests in these statuses, soonest first."""
        ...

    async def update_request(
        self,
        request_id: int,
        at: datetime,
        *,
        status: Status | None = None,
        provider_id: str | EllipsisType | None = ...,
        charge: Decimal | None = None,
        payout: Decimal | None = None,
    ) -> Request:
        """Change a request's status, provider or billing; raises DoubleBooking on overlap."""
        ...

    async def mark_request(
        self, request_id: int, at: datetime, mark: str, value: datetime | None
    ) -> None:
        """Set or clear one day-of-care mark: arrived_at, absent_at, phones_at, expected_at,
        client_cancel_at."""
        ...

    async def move_request(
        self, request_id: int, start: datetime, end: datetime, at: datetime
    ) -> Request:
        """Move a request to a new window; raises DoubleBooking when it collides."""
        ...

    async def requests_of_provider(
        self, provider_id: str, statuses: Iterable[Status]
    ) -> list[Request]:
        """A provider's requests in these statuses, soonest first."""
        ...

    async def unsettled_before(
        self, moment: datetime, statuses: Iterable[Status]
    ) -> list[Request]:
        """Requests in these statuses whose end is before `moment`, oldest first."""
        ...

    async def record_provider_cancel(
        self, request_id: int, provider_id: str, at: datetime
    ) -> None:
        """Remember that a provider cancelled a confirmed request (ranking, escalation)."""
        ...

    async def open_credit_requests(self, member_id: str) -> int:
        """How many of a member's open requests will use a session credit."""
        ...

    async def set_request_details(
        self,
        request_id: int,
        at: datetime,
        *,
        service_id: str | None = None,
        price: Decimal | None = None,
        notes: str | None = None,
        cancel_reason: str | None = None,
    ) -> Request:
        """Change a request's service and price, notes, or cancellation reason."""
        ...

    async def add_change(
        self,
        request_id: int,
        kind: str,
        at: datetime,
        *,
        new_start: datetime | None = None,
        new_end: datetime | None = None,
        new_service: str | None = None,
        notes: str | None = None,
    ) -> ChangeRequest:
        """Record a member's change request (pending)."""
        ...

    async def change(self, change_id: int) -> ChangeRequest | None:
        """A change request by id."""
        ...

    async def changes_of(self, request_id: int) -> list[ChangeRequest]:
        """A request's change requests, oldest first."""
        ...

    async def decide_change(self, change_id: int, status: str, at: datetime) -> bool:
        """Approve or deny a pending change once; False when it was already decided."""
        ...

    async def members_with_subscription(self) -> list[Member]:
        """Members who have a weekly subscription."""
        ...

    async def claim_credit_week(self, member_id: str, week: str) -> bool:
        """Mark a member's weekly credits as added for a week; False when they already were."""
        ...

    async def has_pending_timer(self, kind: str) -> bool:
        """Whether a timer of this kind is pending (agency-wide timers are set once)."""
        ...

    async def ledger_between(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """Every ledger line in [start, end), for the accountant's export."""
        ...

    async def payouts(
        self, provider_id: str, start: datetime, end: datetime
    ) -> list[tuple[int | None, Decimal, datetime]]:
        """What a provider is owed per appointment in [start, end): (request, amount, when)."""
        ...

    async def add_offer(
        self, request_id: int, provider_id: str, sent_at: datetime, deadline: datetime
    ) -> Offer:
        """Record that a request was put to a provider."""
        ...

    async def offer(self, offer_id: int) -> Offer | None:
        """An offer by id."""
        ...

    async def open_offers(self, provider_id: str) -> list[Offer]:
        """Offers a provider has not answered yet, oldest first."""
        ...

    async def answer_offer(self, offer_id: int, answer: str, at: datetime) -> bool:
        """Record an answer once; False when the offer was already answered."""
        ...

    async def providers_asked(self, request_id: int) -> set[str]:
        """Providers who already declined or let a request lapse."""
        ...

    async def add_escalation(
        self, request_id: int, reason: str, about: str | None, at: datetime
    ) -> Escalation:
        """Hand a request to staff."""
        ...

    async def escalation(self, escalation_id: int) -> Escalation | None:
        """An escalation by id."""
        ...

    async def escalations_of(self, request_id: int) -> list[Escalation]:
        """Every escalation a request has had, oldest first."""
        ...

    async def claim_escalation(
        self, escalation_id: int, staff_id: str, outcome: str, at: datetime
    ) -> bool:
        """Mark an escalation handled by one staff member; False when someone already did."""
        ...

    async def close_escalation(self, escalation_id: int, outcome: str, at: datetime) -> bool:
        """Close an escalation by the bot itself (no staff member); False if already handled."""
        ...

    async def open_escalations(self) -> list[Escalation]:
        """Escalations nobody has handled yet, oldest first."""
        ...

    async def add_ledger(
        self,
        *,
        at: datetime,
        kind: str,
        amount: Decimal,
        member_id: str | None = None,
        provider_id: str | None = None,
        request_id: int | None = None,
        balance_delta: Decimal = Decimal(0),
        credits_delta: int = 0,
    ) -> None:
        """Append one movement of money or credits."""
        ...

    async def balance(self, member_id: str) -> tuple[Decimal, int]:
        """A member's money balance and session credits: the sums of their history."""
        ...

    async def history(self, member_id: str, limit: int) -> list[LedgerLine]:
        """A member's latest ledger lines, newest first."""
        ...

    async def member_ledger(self, member_id: str) -> list[LedgerLine]:
        """Every ledger line of a member, oldest first (their whole account)."""
        ...

    async def add_timer(
        self, kind: str, due_at: datetime, request_id: int | None = None, ref_id: int | None = None
    ) -> None:
        """Schedule something to happen at `due_at`."""
        ...

    async def add_timers(
        self, timers: Sequence[tuple[str, datetime, int | None, int | None]]
    ) -> None:
        """Schedule many (kind, due_at, request_id, ref_id) at once."""
        ...

    async def due_timers(self, until: datetime, limit: int) -> list[Timer]:
        """The earliest pending timers due at or before `until`, in due order."""
        ...

    async def next_due(self) -> datetime | None:
        """When the earliest pending timer falls due (an index lookup, cheap)."""
        ...

    async def timer_stats(self) -> tuple[int, datetime | None]:
        """How many timers are pending, and when the earliest falls due."""
        ...

    async def claim_timer(self, timer_id: int, at: datetime) -> bool:
        """Take a timer for firing; False when another process already did."""
        ...

    async def cancel_timers(self, request_id: int, kinds: Iterable[str] | None = None) -> None:
        """Drop a request's pending timers (all, or only these kinds)."""
        ...

    async def enqueue(
        self,
        *,
        at: datetime,
        person_id: str | None,
        channel: str,
        address: str,
        text: str,
        options: Sequence[tuple[str, str]] = (),
        broadcast: str | None = None,
    ) -> int:
        """Queue a message to send; it leaves with this transaction's commit or not at all.

        An SMS to an opted-out number is stored as dropped, never sent."""
        ...

    async def outbox_after(self, after_id: int) -> list[OutboxMessage]:
        """Messages queued after a given id, in order."""
        ...

    async def last_outbox_id(self) -> int:
        """The id of the newest queued message (0 when none)."""
        ...

    async def last_message_to(self, person_id: str) -> OutboxMessage | None:
        """The newest message queued for a person."""
        ...

    async def claim_outbox(
        self, channel: str, now: datetime, limit: int, *, owner: str, until: datetime
    ) -> list[OutboxMessage]:
        """Lease queued messages that are due to `owner` until `until`, the oldest per recipient
        only (order is kept); a row whose lease expired is taken back, its outcome unknown."""
        ...

    async def renew_leases(self, owner: str, until: datetime) -> int:
        """Extend the leases `owner` holds (it is alive and still sending them)."""
        ...

    async def lease_owners(self, channel: str) -> list[str]:
        """The workers holding leases on a channel's rows."""
        ...

    async def release_leases(self, channel: str, owners: Sequence[str]) -> int:
        """End the leases of workers known to be gone: their rows may be taken at once."""
        ...

    async def known_external_ids(self, channel: str, external_ids: Sequence[str]) -> set[str]:
        """Which of these provider ids are already recorded on a row of ours."""
        ...

    async def mark_sent(self, message_id: int, external_id: str | None, at: datetime) -> None:
        """A transport accepted the message (whoever holds its lease now: it went out)."""
        ...

    async def mark_retry(
        self,
        message_id: int,
        when: datetime,
        error: str,
        *,
        counted: bool = True,
        unknown: bool = False,
        owner: str | None = None,
    ) -> None:
        """Try again later (5xx, timeout, 429); an uncounted try (a 429) is not an attempt; an
        `unknown` outcome (the request may have gone out) is checked before the next send.
        With an `owner`, only while it still holds the lease (else its new holder decides)."""
        ...

    async def mark_failed(
        self, message_id: int, error: str, *, dropped: bool = False, owner: str | None = None
    ) -> None:
        """Give up on a message (a permanent error), or drop it (opted out, merged); with an
        `owner`, only while it still holds the lease."""
        ...

    async def touch_health(self, at: datetime) -> None:
        """A write that costs nothing: does the database take writes right now?"""
        ...

    async def broadcast_rows(self, key: str) -> list[OutboxMessage]:
        """Every row of one staff notification."""
        ...

    async def advance_delivery(
        self, external_id: str, status: str, over: Sequence[str]
    ) -> tuple[OutboxMessage, bool] | None:
        """Record a carrier's status only over none or one of `over` (earlier ones).

        None when no message has this id; else the message and whether the status was recorded."""
        ...

    async def is_opted_out(self, person_id: str) -> bool:
        """Whether a person opted out of SMS."""
        ...

    async def set_telegram_id(self, person_id: str, telegram_id: int) -> None:
        """Link a roster person to the Telegram account that shared their phone number."""
        ...

    async def set_channel(self, person_id: str, channel: str) -> None:
        """Move a person to another channel ("telegram" once they linked their account)."""
        ...

    async def record_telegram_message(self, outbox_id: int, chat_id: int, message_id: int) -> None:
        """Remember which Telegram message carries an outbox row's buttons."""
        ...

    async def telegram_message(self, chat_id: int, message_id: int) -> OutboxMessage | None:
        """The outbox row a Telegram message was sent for."""
        ...

    async def accept_inbound(
        self, channel: str, external_id: str, address: str, payload: str, at: datetime
    ) -> bool:
        """Store an inbound delivery for processing; False when it was seen before."""
        ...

    async def unprocessed_inbound(self, limit: int) -> list[tuple[str, str, str, str]]:
        """Accepted deliveries not yet processed, oldest first: (channel, id, address, payload)."""
        ...

    async def mark_processed(self, channel: str, external_id: str, at: datetime) -> bool:
        """Claim an accepted delivery for processing; False when it already was."""
        ...

    async def first_delivery(self, channel: str, external_id: str, at: datetime) -> bool:
        """Record an inbound delivery id; False when it was seen before."""
        ...

    async def conversation(self, person_id: str) -> tuple[str, dict[str, Any]] | None:
        """The flow a person is in and its state."""
        ...

    async def save_conversation(
        self, person_id: str, flow: str, state: dict[str, Any], at: datetime
    ) -> None:
        """Store where a person is in a flow."""
        ...

    async def end_conversation(self, person_id: str) -> None:
        """Leave whatever flow a person is in."""
        ...

    async def import_agency(
        self,
        data: AgencyFile,
        at: datetime,
        *,
        force: bool = False,
        reset_schedules: bool = False,
    ) -> RosterChanges:
        """Write an agency file and say what changed; re-importing the same file changes nothing.

        People left out are removed, but RosterInUse is raised instead when some still hold
        open requests, unless `force`. Hours providers changed by chat are kept unless
        `reset_schedules` (§9.3).
        """
        ...

    async def regulars(self, now: datetime, regular_since: datetime) -> list[Regular]:
        """Members with a subscription or a session since `regular_since` (§10), reachable,
        with their last session, its provider, whether anything is booked, and their break."""
        ...

    async def watch_break(self, member_id: str, since: datetime) -> None:
        """Start watching a member's break from this moment (kept if already watched)."""
        ...

    async def mark_nudged(self, member_id: str, break_start: datetime) -> bool:
        """Record the check-in for the break that started then; False if it was already sent."""
        ...

    async def set_schedule(
        self, provider_id: str, windows: Iterable[AvailabilityWindow], days_off: Iterable[date]
    ) -> None:
        """Replace a provider's weekly windows and days off, as changed by the provider (§9)."""
        ...


class Store(Protocol):
    """Where units of work come from."""

    def transaction(self) -> AbstractAsyncContextManager[Tx]:
        """Open a unit of work that commits on success and rolls back on error."""
        ...
