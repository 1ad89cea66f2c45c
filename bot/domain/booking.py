"""Requests and appointments: statuses, price, notice and the provider's answer deadline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.domain.agency import Policy
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


@dataclass(frozen=True)
class Request:
    """A member's request for care, which becomes an appointment once confirmed."""

    id: int
    member_id: str
    member_seq: int
    service_id: str
    start: datetime
    end: datetime
    status: Status
    provider_id: str | None
    price: Decimal
    fee: Decimal
    charge: Decimal
    payout: Decimal
    arrived_at: datetime | None = None
    absent_at: datetime | None = None
    phones_at: datetime | None = None
    expected_at: datetime | None = None  # a late provider's announced arrival
    client_cancel_at: datetime | None = None  # when the provider reported "client cancels"
    paid_by_credit: bool = False
    notes: str | None = None
    series_id: int | None = None  # an occurrence of a weekly series (§8)

    @property
    def duration(self) -> timedelta:
        """How long the session lasts."""
        return self.end - self.start


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
