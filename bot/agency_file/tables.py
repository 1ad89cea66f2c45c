"""The tables of an agency file, read into domain objects."""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from types import MappingProxyType
from typing import TypedDict, TypeVar

from bot.agency_file.located import (
    AgencyFileError,
    _check_top_level,
    _Claims,
    _entries,
    _Entry,
    _single_table,
)
from bot.agency_file.values import (
    _availability,
    _boolean,
    _change_requests,
    _channel,
    _currency,
    _days,
    _duration,
    _durations,
    _identifier,
    _language,
    _list,
    _money,
    _phone,
    _price,
    _rating,
    _service_ids,
    _text,
    _time_of_day,
    _time_span,
    _timezone,
    _translations,
    _whole_number,
)
from bot.domain.agency import (
    Agency,
    AgencyFile,
    FeeTier,
    Member,
    Person,
    Policy,
    Provider,
    Service,
    Staff,
    Subscription,
)
from bot.domain.durations import format_duration

P = TypeVar("P", bound=Person)

_AGENCY_KEYS = frozenset({"name", "timezone", "currency", "language"})
# How each [policy] key is read, save the two checked together and the fee table.
_POLICY_READERS: Mapping[str, Callable[[object], object]] = MappingProxyType(
    {
        "answer_by": _time_of_day,
        "answer_before_start": _duration,
        "reminders_member": _durations,
        "reminders_provider": _durations,
        "checkin_opens": _duration,
        "noshow_wait": _duration,
        "noshow_fee_cap": _money,
        "late_cancel": _duration,
        "declare_within": _duration,
        "change_requests": _change_requests,
        "escalation_reminder": _duration,
        "contest_within": _duration,
        "booking_horizon": _duration,
        "hiatus_after": _duration,
        "regular_within": _duration,
        "quiet_hours": _time_span,
    }
)
_POLICY_KEYS = frozenset({"min_notice", "max_advance", "scheduling_fee", *_POLICY_READERS})
_SERVICE_KEYS = frozenset({"id", "name", "hourly_rate", "checkin"})
_PERSON_KEYS = frozenset({"id", "name", "channel", "telegram_id", "phone", "language"})
_MEMBER_KEYS = _PERSON_KEYS | {"subscription", "credits", "balance"}
_PROVIDER_KEYS = _PERSON_KEYS | {"services", "rating", "bio", "availability", "unavailable"}


def parse_agency_toml(text: str, source: str = "agency file") -> AgencyFile:
    """Validate an agency file's text; `source` names it in error messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise AgencyFileError(source, f"is not valid TOML: {exc}") from None
    _check_top_level(data, source)
    services = _read_services(data, source)
    known = frozenset(service.id for service in services)
    claims = _Claims()  # ids, phones and Telegram ids are unique across all three tables
    return AgencyFile(
        agency=_read_agency(data, source),
        services=services,
        members=_read_people(data, source, "member", _MEMBER_KEYS, _build_member, known, claims),
        providers=_read_people(
            data, source, "provider", _PROVIDER_KEYS, _build_provider, known, claims
        ),
        staff=_read_people(data, source, "staff", _PERSON_KEYS, _build_staff, known, claims),
    )


def _read_agency(data: Mapping[str, object], source: str) -> Agency:
    """The [agency] table, with the [policy] that goes with it."""
    entry = _single_table(data, source, "agency", _AGENCY_KEYS)
    if entry is None:
        raise AgencyFileError(source, "missing (required)", table="agency")
    return Agency(
        name=entry.required("name", _text),
        timezone=entry.required("timezone", _timezone),
        currency=entry.required("currency", _currency),
        language=entry.required("language", _language),
        policy=_read_policy(data, source),
    )


def _read_policy(data: Mapping[str, object], source: str) -> Policy:
    """The optional [policy] table; every key left out keeps the product default."""
    entry = _single_table(data, source, "policy", _POLICY_KEYS)
    default = Policy()
    if entry is None:
        return default
    min_notice = entry.optional("min_notice", _duration, default.min_notice)
    max_advance = entry.optional("max_advance", _duration, default.max_advance)
    if max_advance <= min_notice:
        limit = format_duration(min_notice)
        raise entry.error("max_advance", f"must be longer than min_notice ({limit})")
    return replace(
        default,
        min_notice=min_notice,
        max_advance=max_advance,
        **{
            key: entry.optional(key, read, getattr(default, key))
            for key, read in _POLICY_READERS.items()
        },
        scheduling_fee=_read_fee_tiers(entry, default.scheduling_fee),
    )


def _read_fee_tiers(entry: _Entry, default: tuple[FeeTier, ...]) -> tuple[FeeTier, ...]:
    """scheduling_fee: rows with growing `under`, then a catch-all row without one."""
    if not entry.has("scheduling_fee"):
        return default
    rows = entry.raw["scheduling_fee"]
    if not isinstance(rows, list) or not rows:
        example = '[{ under = "24h", fee = "15.00" }, { fee = "5.00" }]'
        raise entry.error("scheduling_fee", f"is not a non-empty list of rows like {example}")
    tiers: list[FeeTier] = []
    previous: timedelta | None = None
    for index, raw in enumerate(rows, start=1):
        row = entry.child(f"scheduling_fee[{index}]", raw, {"under", "fee"})
        if index == len(rows):
            if row.has("under"):
                raise row.error("under", "the last row is the catch-all: leave `under` out")
            under = None
        else:
            under = row.required("under", _duration)
            if previous is not None and under <= previous:
                limit = format_duration(previous)
                raise row.error("under", f"must be longer than the row before ({limit})")
            previous = under
        tiers.append(FeeTier(under, row.required("fee", _money)))
    return tuple(tiers)


def _read_services(data: Mapping[str, object], source: str) -> tuple[Service, ...]:
    """The [[service]] entries; at least one."""
    claims = _Claims()
    services: list[Service] = []
    for entry in _entries(data, source, "service", _SERVICE_KEYS):
        service_id = entry.required("id", _identifier)
        claims.claim(entry, "id", service_id, "service ids are unique")
        service = Service(
            id=service_id,
            name=entry.required("name", _translations(required=True)),
            hourly_rate=entry.required("hourly_rate", _price),
            checkin=entry.optional("checkin", _boolean, True),
        )
        services.append(service)
    if not services:
        raise AgencyFileError(source, "at least one [[service]] is required", table="service")
    return tuple(services)


class _Contact(TypedDict):
    """The fields every person has (Person's), read once for all three tables."""

    id: str
    name: str
    channel: str
    telegram_id: int | None
    phone: str | None
    language: str | None


_Builder = Callable[[_Entry, _Contact, frozenset[str]], P]


def _read_people(
    data: Mapping[str, object],
    source: str,
    table: str,
    allowed: frozenset[str],
    build: _Builder[P],
    services: frozenset[str],
    claims: _Claims,
) -> tuple[P, ...]:
    """The entries of a people table: shared fields by _read_contact, the rest by `build`."""
    return tuple(
        build(entry, _read_contact(entry, claims), services)
        for entry in _entries(data, source, table, allowed)
    )


def _read_contact(entry: _Entry, claims: _Claims) -> _Contact:
    """Id, name and how to reach the person; ids and addresses unique in the whole file."""
    person_id = entry.required("id", _identifier)
    # Transcripts and staff commands name people by id alone, whatever their table.
    claims.claim(entry, "id", person_id, "ids are unique across members, providers and staff")
    name = entry.required("name", _text)
    channel = entry.required("channel", _channel)
    telegram_id = entry.optional("telegram_id", _whole_number(1), None)
    phone = entry.optional("phone", _phone, None)
    if channel == "telegram" and telegram_id is None:
        raise entry.error("telegram_id", 'missing (required when channel = "telegram")')
    if channel == "sms" and phone is None:
        raise entry.error("phone", 'missing (required when channel = "sms")')
    # An inbound message is matched to a person by its sender: two people on one number
    # (or one Telegram account) could not be told apart.
    if telegram_id is not None:
        claims.claim(entry, "telegram_id", telegram_id, "one Telegram account per person")
    if phone is not None:
        claims.claim(entry, "phone", phone, "one phone number per person")
    return _Contact(
        id=person_id,
        name=name,
        channel=channel,
        telegram_id=telegram_id,
        phone=phone,
        language=entry.optional("language", _language, None),
    )


def _build_member(entry: _Entry, contact: _Contact, services: frozenset[str]) -> Member:
    """A [[member]]: subscription, session credits and money balance at import."""
    subscription = None
    if entry.has("subscription"):
        table = entry.child("subscription", entry.raw["subscription"], {"service", "per_week"})
        subscription = Subscription(
            service=table.required("service", _service_ids(services)),
            per_week=table.required("per_week", _whole_number(1)),
        )
    return Member(
        **contact,
        subscription=subscription,
        credits=entry.optional("credits", _whole_number(0), 0),
        balance=entry.optional("balance", _money, Decimal("0")),
    )


def _build_provider(entry: _Entry, contact: _Contact, services: frozenset[str]) -> Provider:
    """A [[provider]]: services offered, profile, weekly availability and days off."""
    offered = entry.required("services", lambda value: _list(value, _service_ids(services)))
    if not offered:
        raise entry.error("services", "must list at least one service")
    if len(set(offered)) != len(offered):
        raise entry.error("services", "lists the same service twice")
    return Provider(
        **contact,
        services=tuple(offered),
        rating=entry.optional("rating", _rating, None),
        bio=entry.optional("bio", _translations(required=False), MappingProxyType({})),
        availability=entry.required("availability", _availability),
        unavailable=entry.optional("unavailable", _days, frozenset()),
    )


def _build_staff(entry: _Entry, contact: _Contact, services: frozenset[str]) -> Staff:
    """A [[staff]] member: nothing beyond the shared fields."""
    return Staff(**contact)
