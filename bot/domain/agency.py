"""What an agency file describes: the agency, its policy, services, members, providers, staff."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal


@dataclass(frozen=True)
class FeeTier:
    """One row of the scheduling-fee table: this fee applies to notices shorter than `under`."""

    under: timedelta | None  # None = the catch-all last row
    fee: Decimal


def _default_fee_tiers() -> tuple[FeeTier, ...]:
    """The product's default scheduling fees (product.md §1.4)."""
    return (
        FeeTier(timedelta(hours=24), Decimal("15.00")),
        FeeTier(timedelta(days=7), Decimal("10.00")),
        FeeTier(None, Decimal("5.00")),
    )


@dataclass(frozen=True)
class Policy:
    """An agency's rules; the defaults are the product's (product.md §1-§5)."""

    min_notice: timedelta = timedelta(hours=3)
    max_advance: timedelta = timedelta(days=60)
    answer_by: int = 20 * 60  # minutes since midnight, agency time
    answer_before_start: timedelta = timedelta(hours=2)
    reminders_member: tuple[timedelta, ...] = (timedelta(hours=24), timedelta(hours=2))
    reminders_provider: tuple[timedelta, ...] = (timedelta(hours=24),)
    checkin_opens: timedelta = timedelta(minutes=30)
    noshow_wait: timedelta = timedelta(minutes=30)
    noshow_fee_cap: Decimal = Decimal("40.00")
    late_cancel: timedelta = timedelta(hours=24)
    declare_within: timedelta = timedelta(days=5)
    change_requests: str = "review"  # "review" | "auto"
    escalation_reminder: timedelta = timedelta(hours=2)  # staff reminded this long before start
    contest_within: timedelta = timedelta(hours=2)  # a "client cancels" report can be contested
    scheduling_fee: tuple[FeeTier, ...] = field(default_factory=_default_fee_tiers)

    def fee_for_notice(self, notice: timedelta) -> Decimal:
        """The scheduling fee for this much notice: the first row whose `under` exceeds it."""
        for tier in self.scheduling_fee:
            if tier.under is None or notice < tier.under:
                return tier.fee
        # The loader guarantees a catch-all row; only a hand-built Policy can get here.
        raise ValueError("the scheduling fee table has no catch-all row")


@dataclass(frozen=True)
class Agency:
    """The agency itself: its name, time zone, currency and default language."""

    name: str
    timezone: str  # IANA name, e.g. "Europe/Paris"
    currency: str  # ISO 4217 code, e.g. "EUR"
    language: str  # "fr" | "en": default for users without one
    policy: Policy = field(default_factory=Policy)


@dataclass(frozen=True)
class Service:
    """A kind of care the agency sells, priced by the hour."""

    id: str
    name: Mapping[str, str] = field(hash=False)  # language -> label
    hourly_rate: Decimal
    checkin: bool = True

    def label(self, lang: str) -> str:
        """The service's name in `lang`, else in English, else in French, else its id."""
        for candidate in (lang, "en", "fr"):
            if candidate in self.name:
                return self.name[candidate]
        return self.id


@dataclass(frozen=True)
class AvailabilityWindow:
    """A weekly window when a provider can work."""

    weekday: int  # 0 = Monday
    start: int  # minutes since midnight
    end: int  # minutes since midnight, 1440 = 24:00; always > start


@dataclass(frozen=True)
class Subscription:
    """A member's weekly subscription: `per_week` session credits of one service."""

    service: str
    per_week: int


@dataclass(frozen=True)
class Person:
    """What every user has: an id, a name and how to reach them."""

    id: str
    name: str
    channel: str  # "telegram" | "sms"
    telegram_id: int | None = None
    phone: str | None = None  # E.164
    language: str | None = None  # None = the agency's language


@dataclass(frozen=True)
class Member(Person):
    """A client who books care."""

    subscription: Subscription | None = None
    credits: int = 0
    balance: Decimal = Decimal("0")


@dataclass(frozen=True)
class Provider(Person):
    """A carer who offers services in weekly availability windows."""

    services: tuple[str, ...] = ()
    rating: float | None = None
    bio: Mapping[str, str] = field(default_factory=dict, hash=False)  # language -> text
    availability: tuple[AvailabilityWindow, ...] = ()
    unavailable: frozenset[date] = frozenset()


@dataclass(frozen=True)
class Staff(Person):
    """Someone at the agency who handles escalations."""


@dataclass(frozen=True)
class AgencyFile:
    """Everything one agency file describes, validated."""

    agency: Agency
    services: tuple[Service, ...]
    members: tuple[Member, ...]
    providers: tuple[Provider, ...]
    staff: tuple[Staff, ...]

    @property
    def people(self) -> tuple[Person, ...]:
        """Members, providers and staff (their ids are unique across all three)."""
        return (*self.members, *self.providers, *self.staff)

    def service(self, service_id: str) -> Service:
        """The service with this id; KeyError if there is none."""
        for service in self.services:
            if service.id == service_id:
                return service
        raise KeyError(service_id)

    def person(self, person_id: str) -> Person:
        """The member, provider or staff member with this id; KeyError if there is none."""
        for person in self.people:
            if person.id == person_id:
                return person
        raise KeyError(person_id)
