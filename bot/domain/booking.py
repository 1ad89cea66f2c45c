"""Requests and appointments: statuses, price, notice and the provider's answer deadline."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.domain.agency import Policy
from bot.domain.errors import IllegalTransition
from bot.domain.money import quantize


class Status(StrEnum):
    """Where a request stands; the names are the ones transcripts use."""

    PENDING = "pending"
    ESCALATED = "escalated"
    CONFIRMED = "confirmed"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"
    UNFILLED = "unfilled"
    EXPIRED = "expired"


# A provider's window is taken while a request waits for their answer or is under way.
HOLDING = frozenset({Status.PENDING, Status.CONFIRMED, Status.IN_PROGRESS})
# An appointment is settled once it reaches one of these (product §2.5: 100 % must).
SETTLED = frozenset(
    {Status.COMPLETED, Status.CANCELLED, Status.NO_SHOW, Status.UNFILLED, Status.EXPIRED}
)
OPEN = frozenset({Status.PENDING, Status.ESCALATED, Status.CONFIRMED, Status.IN_PROGRESS})


@dataclass(frozen=True, kw_only=True)
class NewRequest:
    """A request as it is asked for: who wants which service when, with whom, at what price."""

    member_id: str
    service_id: str
    start: datetime
    end: datetime
    status: Status
    provider_id: str | None
    price: Decimal
    fee: Decimal
    paid_by_credit: bool = False
    series_id: int | None = None  # an occurrence of a weekly series (§8)...
    series_day: date | None = None  # ... on this day of it


@dataclass(frozen=True, kw_only=True)
class Request(NewRequest):
    """A member's request for care, which becomes an appointment once confirmed: as asked,
    numbered, billed and marked on the day."""

    id: int
    member_seq: int
    charge: Decimal
    payout: Decimal
    arrived_at: datetime | None = None
    absent_at: datetime | None = None
    phones_at: datetime | None = None
    expected_at: datetime | None = None  # a late provider's announced arrival
    client_cancel_at: datetime | None = None  # when the provider reported "client cancels"
    notes: str | None = None

    @property
    def duration(self) -> timedelta:
        """How long the session lasts."""
        return self.end - self.start

    def can(self, move: Move) -> bool:
        """Whether this move is legal from where the request stands."""
        return self.status in TRANSITIONS[move][0]

    def _go(self, move: Move, at: datetime, **changes: object) -> Transition:
        if not self.can(move):
            raise IllegalTransition(self.id, self.status, move)
        after = replace(self, status=TRANSITIONS[move][1], **changes)  # type: ignore[arg-type]
        return Transition(move, self, after, at)

    def _settled(self, move: Move, at: datetime, amount: Decimal) -> Transition:
        # The provider is owed `amount` either way; a subscription session costs the member
        # one credit instead of money (§5).
        charge = Decimal(0) if self.paid_by_credit else amount
        return self._go(move, at, charge=charge, payout=amount)

    def confirm(self, at: datetime) -> Transition:
        """The provider asked said yes: the request becomes an appointment."""
        return self._go(Move.CONFIRM, at)

    def escalate(self, at: datetime) -> Transition:
        """The provider is let go (declined, no answer, cancelled, cannot follow a change):
        staff look for someone else."""
        return self._go(Move.ESCALATE, at, provider_id=None)

    def offer(self, provider_id: str, at: datetime) -> Transition:
        """Staff put an escalated request to a provider, who answers in turn."""
        return self._go(Move.OFFER, at, provider_id=provider_id)

    def begin(self, at: datetime) -> Transition:
        """The provider has arrived: the session is under way."""
        return self._go(Move.BEGIN, at)

    def complete(self, amount: Decimal, at: datetime) -> Transition:
        """Declared done: billed `amount` (the price, or less after a late provider)."""
        return self._settled(Move.COMPLETE, at, amount)

    def mark_no_show(self, fee: Decimal, at: datetime) -> Transition:
        """The member never came to the door: billed the no-show fee."""
        return self._settled(Move.NO_SHOW, at, fee)

    def is_late_to_cancel(self, now: datetime, policy: Policy) -> bool:
        """A confirmed appointment cancelled with less notice than the policy asks costs
        money (a request still waiting for a provider never does)."""
        return self.status in (Status.CONFIRMED, Status.IN_PROGRESS) and late_cancellation(
            self.start, now, policy
        )

    def cancel(self, at: datetime, policy: Policy) -> Transition:
        """The member cancels: free with notice, else charged in full (§4)."""
        late = self.is_late_to_cancel(at, policy)
        return self._settled(Move.CANCEL, at, self.price if late else Decimal(0))

    def expire(self, at: datetime) -> Transition:
        """Never declared in time (§2.5): nothing is billed."""
        return self._go(Move.EXPIRE, at, charge=Decimal(0), payout=Decimal(0))

    def close_unfilled(self, at: datetime) -> Transition:
        """Nobody took it (staff gave up, or the start came): closed without a provider."""
        return self._go(Move.CLOSE_UNFILLED, at, provider_id=None)


class Move(StrEnum):
    """What can happen to a request's status; each is one method of Request."""

    CONFIRM = "confirm"
    ESCALATE = "escalate"
    OFFER = "offer"
    BEGIN = "begin"
    COMPLETE = "complete"
    NO_SHOW = "no_show"
    CANCEL = "cancel"
    EXPIRE = "expire"
    CLOSE_UNFILLED = "close_unfilled"


# The legal transitions: each move, the statuses it may start from, and where it leads.
# No move leaves a settled status: a settled request is history.
TRANSITIONS: dict[Move, tuple[frozenset[Status], Status]] = {
    Move.CONFIRM: (frozenset({Status.PENDING}), Status.CONFIRMED),
    Move.ESCALATE: (
        frozenset({Status.PENDING, Status.CONFIRMED, Status.IN_PROGRESS}),
        Status.ESCALATED,
    ),
    Move.OFFER: (frozenset({Status.ESCALATED}), Status.PENDING),
    Move.BEGIN: (frozenset({Status.CONFIRMED}), Status.IN_PROGRESS),
    Move.COMPLETE: (frozenset({Status.CONFIRMED, Status.IN_PROGRESS}), Status.COMPLETED),
    Move.NO_SHOW: (frozenset({Status.CONFIRMED}), Status.NO_SHOW),
    Move.CANCEL: (OPEN, Status.CANCELLED),
    Move.EXPIRE: (frozenset({Status.CONFIRMED, Status.IN_PROGRESS}), Status.EXPIRED),
    Move.CLOSE_UNFILLED: (frozenset({Status.PENDING, Status.ESCALATED}), Status.UNFILLED),
}


@dataclass(frozen=True)
class Transition:
    """What a move did: the request before and after, and when; the repository stores it
    (only if the request still stands where `before` says) and services act on it."""

    move: Move
    before: Request
    after: Request
    at: datetime

    @property
    def settled(self) -> bool:
        """Whether the request is now history (its timers and its hold on the provider go)."""
        return self.after.status in SETTLED


@dataclass(frozen=True)
class ChangeRequest:
    """A member's request to change an appointment's time, service or notes (§4)."""

    id: int
    request_id: int
    kind: str  # "time" | "service" | "notes"
    new_start: datetime | None
    new_end: datetime | None
    new_service: str | None
    notes: str | None
    status: str  # "pending" | "approved" | "denied"


def late_cancellation(start: datetime, now: datetime, policy: Policy) -> bool:
    """Whether cancelling now is late (less than the policy's notice before the start)."""
    return start - now < policy.late_cancel


class NoticeProblem(StrEnum):
    """Why a requested start cannot be accepted."""

    TOO_SOON = "too_soon"
    TOO_FAR = "too_far"
    NOT_AFTER_START = "end_before_start"


def session_price(hourly_rate: Decimal, start: datetime, end: datetime) -> Decimal:
    """Hourly rate times the duration, to the cent."""
    # In UTC: the difference of two agency-time datetimes would be wall-clock time (DST).
    minutes = Decimal(int((end.astimezone(UTC) - start.astimezone(UTC)).total_seconds() // 60))
    return quantize(hourly_rate * minutes / Decimal(60))


def billed_price(request: Request) -> Decimal:
    """What a session done costs: after a late provider, from their arrival to the end (§2.4).

    The member does not pay for the provider's lost time; a start moved by agreement clears
    the lateness, so the whole (moved) session is billed then.
    """
    if request.expected_at is None:
        return request.price
    arrival = max(request.arrived_at or request.expected_at, request.start)
    if arrival >= request.end:
        return quantize(Decimal(0))
    served = Decimal(int((request.end - arrival).total_seconds()))
    return quantize(request.price * served / Decimal(int(request.duration.total_seconds())))


def check_window(
    start: datetime, end: datetime, now: datetime, policy: Policy
) -> NoticeProblem | None:
    """Whether a window respects the minimum notice and the maximum advance."""
    now = now.astimezone(UTC)  # real hours of notice, even across a clock change
    if end <= start:
        return NoticeProblem.NOT_AFTER_START
    if start < now + policy.min_notice:
        return NoticeProblem.TOO_SOON
    if start > now + policy.max_advance:
        return NoticeProblem.TOO_FAR
    return None


def answer_deadline(sent_at: datetime, start: datetime, policy: Policy, tz: ZoneInfo) -> datetime:
    """The earlier of the answer-by time (next day's if past) and start minus a margin.

    Never earlier than a few minutes from now, so that a provider asked late still gets a chance.
    """
    sent_at, start = sent_at.astimezone(UTC), start.astimezone(UTC)  # real time across DST
    local = sent_at.astimezone(tz)
    by = time(policy.answer_by // 60 % 24, policy.answer_by % 60)
    day_deadline = datetime.combine(local.date(), by, tzinfo=tz)
    if day_deadline <= local:
        day_deadline = datetime.combine(local.date() + timedelta(days=1), by, tzinfo=tz)
    deadline = min(day_deadline.astimezone(UTC), start - policy.answer_before_start)
    return max(deadline, min(sent_at + timedelta(minutes=15), start))


def noshow_fee(price: Decimal, cap: Decimal) -> Decimal:
    """What a no-show costs the member: the session price, capped (product §2.4)."""
    return min(price, cap)


@dataclass(frozen=True)
class Series:
    """A weekly series (§8): the same window every week, each occurrence a request of its own."""

    id: int
    member_id: str
    service_id: str
    provider_id: str | None
    weekday: int  # 0 = Monday, agency time
    start_min: int  # minutes since midnight, agency time
    end_min: int  # may pass 1440 for a window across midnight
    first_day: date
    until_day: date | None  # the last day it may run (inclusive), or None
    max_count: int | None  # how many occurrences in all, or None
    status: str  # "pending" (asked) | "active" | "ended"
    created_at: datetime
