"""Load an agency file (TOML, format: docs/agency-file.md) into validated domain objects.

Loading is all or nothing: the first problem raises AgencyFileError, which names the
table, the entry and the key, and nothing is returned half-loaded.
"""

from __future__ import annotations

import difflib
import json
import re
import tomllib
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import TypedDict, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

from bot.domain.agency import (
    Agency,
    AgencyFile,
    AvailabilityWindow,
    FeeTier,
    Member,
    Person,
    Policy,
    Provider,
    Service,
    Staff,
    Subscription,
)
from bot.domain.durations import format_duration, parse_duration, parse_hhmm

T = TypeVar("T")
P = TypeVar("P", bound=Person)

LANGUAGES = ("fr", "en")
CHANNELS = ("telegram", "sms")
CHANGE_REQUESTS = ("review", "auto")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# Tables written [[name]] (one entry per block); the others are single [name] tables.
_ARRAY_TABLES = frozenset({"service", "member", "provider", "staff"})
_TOP_LEVEL = frozenset({"agency", "policy"}) | _ARRAY_TABLES
_AGENCY_KEYS = frozenset({"name", "timezone", "currency", "language"})
_POLICY_KEYS = frozenset(
    {
        "min_notice",
        "max_advance",
        "answer_by",
        "answer_before_start",
        "reminders_member",
        "reminders_provider",
        "checkin_opens",
        "noshow_wait",
        "noshow_fee_cap",
        "late_cancel",
        "declare_within",
        "change_requests",
        "escalation_reminder",
        "contest_within",
        "booking_horizon",
        "hiatus_after",
        "regular_within",
        "quiet_hours",
        "scheduling_fee",
    }
)
_SERVICE_KEYS = frozenset({"id", "name", "hourly_rate", "checkin"})
_PERSON_KEYS = frozenset({"id", "name", "channel", "telegram_id", "phone", "language"})
_MEMBER_KEYS = _PERSON_KEYS | {"subscription", "credits", "balance"}
_PROVIDER_KEYS = _PERSON_KEYS | {"services", "rating", "bio", "availability", "unavailable"}

_IDENTIFIER = re.compile(r"[a-z0-9_-]+")
_CURRENCY = re.compile(r"[A-Z]{3}")
# Two decimals for every currency: enough for EUR, GBP, USD, CHF...; a currency with other
# minor units (JPY: 0, TND: 3) would need a per-currency table here.
_MONEY = re.compile(r"\d+(?:\.\d{1,2})?")
_CENT = Decimal("0.01")
_AVAILABILITY_ROW = re.compile(
    r"(?P<first>[a-z]+)(?:-(?P<last>[a-z]+))? (?P<start>\d{1,2}:\d{2})-(?P<end>\d{1,2}:\d{2})"
)
# Number ranges reserved for fiction, which phonenumbers calls invalid although they are
# the right numbers for demos and tests: UK Ofcom drama range 07700 900000-900999.
_FICTION_RANGES = (("+447700900", 3),)


class AgencyFileError(ValueError):
    """A problem in an agency file, located by table, entry and key."""

    def __init__(
        self,
        source: str,
        problem: str,
        *,
        table: str | None = None,
        entry: int | None = None,
        entry_id: str | None = None,
        key: str | None = None,
    ) -> None:
        self.source = source
        self.table = table  # "agency", "policy", "service", "member", ...; None = whole file
        self.entry = entry  # 1-based index in a [[table]]
        self.entry_id = entry_id  # the entry's id, when it has one
        self.key = key  # e.g. "phone", "subscription.service", "scheduling_fee[2].under"
        self.problem = problem
        super().__init__(self._message())

    def _message(self) -> str:
        """'<source>: <table and entry>, key "<key>": <problem>', leaving out what is unknown."""
        place = _place(self.table, self.entry, self.entry_id)
        if self.key is not None:
            place = f'{place}, key "{self.key}"' if place else f'key "{self.key}"'
        prefix = f"{self.source}: {place}" if place else self.source
        return f"{prefix}: {self.problem}"


def load_agency_file(path: str | Path) -> AgencyFile:
    """Read and validate the agency file at `path`."""
    path = Path(path)
    try:
        # utf-8-sig: editors on Windows like to start files with a byte-order mark.
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise AgencyFileError(str(path), f"cannot be read: {exc}") from None
    return parse_agency_toml(text, source=str(path))


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


# --- Where a value sits, and reading values with located errors ---------------------------


def _place(table: str | None, entry: int | None, entry_id: str | None) -> str:
    """'[policy]', '[[provider]] entry 2 (id "marie")' or '' for the whole file."""
    if table is None:
        return ""
    if table not in _ARRAY_TABLES:
        return f"[{table}]"
    place = f"[[{table}]]"
    if entry is not None:
        place += f" entry {entry}"
    if entry_id is not None:
        place += f" (id {_show(entry_id)})"
    return place


@dataclass(frozen=True)
class _Where:
    """The table (and entry) being read, plus a key prefix for nested tables."""

    source: str
    table: str
    entry: int | None = None
    entry_id: str | None = None
    prefix: str = ""

    def place(self) -> str:
        """This location as error messages write it."""
        return _place(self.table, self.entry, self.entry_id)

    def error(self, key: str | None, problem: str) -> AgencyFileError:
        """An error about `key` (or the whole table when None) at this location."""
        full_key = None if key is None else self.prefix + key
        return AgencyFileError(
            self.source,
            problem,
            table=self.table,
            entry=self.entry,
            entry_id=self.entry_id,
            key=full_key,
        )


class _Bad(Exception):
    """What is wrong with a value, before the reader says where the value sits."""


def _show(value: object) -> str:
    """A value roughly as TOML writes it, for error messages."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return str(value)


class _Entry:
    """One TOML table being read: refuses unknown keys, converts values, locates errors."""

    def __init__(self, raw: Mapping[str, object], where: _Where, allowed: Collection[str]) -> None:
        self.raw = raw
        self.where = where
        # Unknown keys first: a misspelt optional key would otherwise be silently ignored,
        # and a misspelt required key would be reported as missing, hiding the typo.
        for key in raw:
            if key not in allowed:
                raise self.error(key, _unknown("key", key, allowed))

    def error(self, key: str | None, problem: str) -> AgencyFileError:
        """An error about `key` in this table."""
        return self.where.error(key, problem)

    def has(self, key: str) -> bool:
        """Whether the table sets `key`."""
        return key in self.raw

    def required(self, key: str, convert: Callable[[object], T]) -> T:
        """The converted value of a key that must be present."""
        if key not in self.raw:
            raise self.error(key, "missing (required)")
        return self._convert(key, convert)

    def optional(self, key: str, convert: Callable[[object], T], default: T) -> T:
        """The converted value of `key`, or `default` when it is absent."""
        if key not in self.raw:
            return default
        return self._convert(key, convert)

    def child(self, key: str, raw: object, allowed: Collection[str]) -> _Entry:
        """A nested table (inline or not); its keys are reported as "key.subkey"."""
        if not isinstance(raw, Mapping):
            raise self.error(key, f"{_show(raw)} is not a table like {{ key = value, ... }}")
        return _Entry(raw, replace(self.where, prefix=f"{self.where.prefix}{key}."), allowed)

    def _convert(self, key: str, convert: Callable[[object], T]) -> T:
        """Run a converter on the key's value, turning its complaint into a located error."""
        try:
            return convert(self.raw[key])
        except _Bad as bad:
            raise self.error(key, str(bad)) from None


def _unknown(what: str, name: str, allowed: Collection[str]) -> str:
    """'unknown key (did you mean "phone"?)', with the suggestion when one is close."""
    close = difflib.get_close_matches(name, sorted(allowed), n=1)
    hint = f" (did you mean {_show(close[0])}?)" if close else ""
    return f"unknown {what}{hint}; allowed: {', '.join(sorted(allowed))}"


class _Claims:
    """Values that must be unique in the file, and the entry that holds each one."""

    def __init__(self) -> None:
        self._holders: dict[tuple[str, object], str] = {}

    def claim(self, entry: _Entry, key: str, value: object, why: str) -> None:
        """Record that `entry` holds `value` under `key`; refuse it if another entry does."""
        holder = self._holders.get((key, value))
        if holder is not None:
            raise entry.error(key, f"{_show(value)} is already the {key} of {holder} ({why})")
        self._holders[(key, value)] = entry.where.place()


def _entries(
    data: Mapping[str, object], source: str, table: str, allowed: Collection[str]
) -> Iterator[_Entry]:
    """The entries of a [[table]], each ready to read."""
    rows = data.get(table, [])
    if not isinstance(rows, list):
        raise AgencyFileError(
            source, f"write [[{table}]] (double brackets) before each entry", table=table
        )
    for index, raw in enumerate(rows, start=1):
        if not isinstance(raw, Mapping):
            raise AgencyFileError(source, "is not a table", table=table, entry=index)
        # The raw id (even an invalid one) helps find the entry in the file.
        raw_id = raw.get("id")
        entry_id = raw_id if isinstance(raw_id, str) else None
        yield _Entry(raw, _Where(source, table, index, entry_id), allowed)


def _single_table(
    data: Mapping[str, object], source: str, table: str, allowed: Collection[str]
) -> _Entry | None:
    """A [table] written once, or None when the file has none."""
    raw = data.get(table)
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise AgencyFileError(source, f"write it once as [{table}], not [[{table}]]", table=table)
    return _Entry(raw, _Where(source, table), allowed)


def _check_top_level(data: Mapping[str, object], source: str) -> None:
    """Refuse tables (or stray keys) that an agency file does not have."""
    for name in data:
        if name not in _TOP_LEVEL:
            raise AgencyFileError(source, _unknown("table", name, _TOP_LEVEL), key=name)


# --- Converters: a raw TOML value in, a checked value out, or _Bad ------------------------


def _text(value: object) -> str:
    """A non-empty string, trimmed."""
    if not isinstance(value, str) or not value.strip():
        raise _Bad(f"{_show(value)} is not a non-empty string")
    return value.strip()


MAX_ID = 32


def _identifier(value: object) -> str:
    """An id as transcripts and commands write it: lowercase letters, digits, _ and -."""
    if not isinstance(value, str) or not _IDENTIFIER.fullmatch(value):
        raise _Bad(f'{_show(value)} is not an id (lowercase letters, digits, "_" and "-")')
    if len(value) > MAX_ID:
        # Ids travel inside Telegram buttons, whose data is capped at 64 bytes.
        raise _Bad(f"{_show(value)} is longer than {MAX_ID} characters")
    return value


def _one_of(options: tuple[str, ...]) -> Callable[[object], str]:
    """A converter accepting exactly one of `options`."""

    def convert(value: object) -> str:
        if isinstance(value, str) and value in options:
            return value
        raise _Bad(f"{_show(value)} is not one of {', '.join(map(_show, options))}")

    return convert


_language = _one_of(LANGUAGES)
_channel = _one_of(CHANNELS)
_change_requests = _one_of(CHANGE_REQUESTS)


def _boolean(value: object) -> bool:
    """true or false."""
    if not isinstance(value, bool):
        raise _Bad(f"{_show(value)} is not true or false")
    return value


def _whole_number(minimum: int) -> Callable[[object], int]:
    """A converter accepting a TOML integer of at least `minimum`."""

    def convert(value: object) -> int:
        # bool is an int in Python; `credits = true` is a mistake, not 1.
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise _Bad(f"{_show(value)} is not a whole number of at least {minimum}")
        return value

    return convert


def _rating(value: object) -> float:
    """A number from 0 to 5."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 5:
        raise _Bad(f"{_show(value)} is not a number from 0 to 5")
    return float(value)


def _duration(value: object) -> timedelta:
    """A duration string like "30m", "3h", "5d" or "1h30m"."""
    if isinstance(value, str):
        try:
            return parse_duration(value)
        except ValueError:
            pass
    raise _Bad(f'{_show(value)} is not a duration like "30m", "3h" or "5d"')


def _durations(value: object) -> tuple[timedelta, ...]:
    """A list of distinct durations, e.g. reminder offsets."""
    durations = tuple(_list(value, _duration))
    if len(set(durations)) != len(durations):
        raise _Bad("lists the same duration twice")
    return durations


def _time_of_day(value: object) -> int:
    """A time of day "HH:MM" as minutes since midnight."""
    if isinstance(value, str):
        try:
            return parse_hhmm(value)
        except ValueError:
            pass
    raise _Bad(f'{_show(value)} is not a time of day like "20:00"')


def _time_span(value: object) -> tuple[int, int]:
    """Two times of day "HH:MM-HH:MM" (the end may be on the next day) as minutes."""
    if isinstance(value, str) and value.count("-") == 1:
        first, second = value.split("-")
        try:
            start, end = parse_hhmm(first.strip()), parse_hhmm(second.strip())
        except ValueError:
            pass
        else:
            if start != end:
                return start, end
    raise _Bad(f'{_show(value)} is not a span of the day like "20:00-09:00"')


def _money(value: object) -> Decimal:
    """A quoted amount like "40.00": not negative, at most 2 decimals."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        # TOML numbers become floats, and floats are not exact amounts.
        raise _Bad(f'{value} must be quoted, like "{value:.2f}": amounts are strings')
    if not isinstance(value, str) or not _MONEY.fullmatch(value.strip()):
        raise _Bad(f'{_show(value)} is not an amount like "40.00" (not negative, 2 decimals)')
    return Decimal(value.strip()).quantize(_CENT)


def _price(value: object) -> Decimal:
    """An amount greater than zero."""
    amount = _money(value)
    if not amount:
        raise _Bad(f"{_show(value)} must be more than 0")
    return amount


def _currency(value: object) -> str:
    """A three-letter uppercase ISO 4217 code like "EUR"."""
    if not isinstance(value, str) or not _CURRENCY.fullmatch(value):
        raise _Bad(f'{_show(value)} is not a currency code like "EUR" (3 uppercase letters)')
    return value


def _timezone(value: object) -> str:
    """An IANA time zone name like "Europe/Paris"."""
    # "localtime" is the server's zone, which says nothing about where the agency is.
    if isinstance(value, str) and value != "localtime":
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass
        else:
            return value
    raise _Bad(f'{_show(value)} is not an IANA time zone like "Europe/Paris"')


def _phone(value: object) -> str:
    """A phone number in international form, returned as E.164 ("+33612345678")."""
    if isinstance(value, str) and value.strip().startswith("+"):
        try:
            number = phonenumbers.parse(value.strip(), None)
        except phonenumbers.NumberParseException:
            number = None
        if number is not None and (phonenumbers.is_valid_number(number) or _is_fiction(number)):
            return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
    raise _Bad(f"{_show(value)} is not a valid E.164 phone number")


def _is_fiction(number: phonenumbers.PhoneNumber) -> bool:
    """Whether the number lies in a range reserved for fiction (see _FICTION_RANGES)."""
    e164 = str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
    return any(
        e164.startswith(prefix) and len(e164) == len(prefix) + digits and e164[1:].isdigit()
        for prefix, digits in _FICTION_RANGES
    )


def _day(value: object) -> date:
    """A whole day: a TOML date (2026-11-26) or an ISO string ("2026-11-26")."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise _Bad(f'{_show(value)} is not a date like "2026-11-26"')


def _days(value: object) -> frozenset[date]:
    """A list of whole days, e.g. a provider's days off."""
    return frozenset(_list(value, _day))


def _translations(*, required: bool) -> Callable[[object], Mapping[str, str]]:
    """A converter for a { fr = "...", en = "..." } table; `required` wants one at least."""

    def convert(value: object) -> Mapping[str, str]:
        if not isinstance(value, Mapping):
            raise _Bad(f'{_show(value)} is not a table like {{ fr = "...", en = "..." }}')
        texts: dict[str, str] = {}
        for lang, text in value.items():
            if lang not in LANGUAGES:
                raise _Bad(f'unknown language {_show(lang)}: use "fr" and "en"')
            texts[lang] = _text(text)
        if required and not texts:
            raise _Bad('needs a text in "fr" or "en" at least')
        return MappingProxyType(texts)

    return convert


def _list(value: object, convert: Callable[[object], T]) -> list[T]:
    """Each item of a TOML list, converted."""
    if not isinstance(value, list):
        raise _Bad(f"{_show(value)} is not a list [ ... ]")
    return [convert(item) for item in value]


def _service_ids(known: frozenset[str]) -> Callable[[object], str]:
    """A converter accepting the id of a [[service]] of the file."""

    def convert(value: object) -> str:
        if isinstance(value, str) and value in known:
            return value
        raise _Bad(f"unknown service {_show(value)} (known: {', '.join(sorted(known))})")

    return convert


def _availability(value: object) -> tuple[AvailabilityWindow, ...]:
    """Rows like "mon-fri 08:00-19:00", expanded per weekday and merged where they touch."""
    windows = [window for rows in _list(value, _availability_row) for window in rows]
    return _merge_windows(windows)


def _availability_row(value: object) -> list[AvailabilityWindow]:
    """One row: a day or a forward day range, then one window; the end may be "24:00"."""
    example = '"mon-fri 08:00-19:00" or "sat 09:00-13:00"'
    text = " ".join(value.lower().split()) if isinstance(value, str) else ""
    match = _AVAILABILITY_ROW.fullmatch(text)
    if match is None:
        raise _Bad(f"{_show(value)} is not an availability row like {example}")
    first, last = match["first"], match["last"] or match["first"]
    for day in (first, last):
        if day not in WEEKDAYS:
            raise _Bad(f"{_show(value)}: {_show(day)} is not a day ({', '.join(WEEKDAYS)})")
    if WEEKDAYS.index(last) < WEEKDAYS.index(first):
        # A wrapping range is more likely a typo than a week running sunday to monday.
        raise _Bad(f"{_show(value)}: day ranges run forward from mon to sun; split it in two")
    try:
        start = parse_hhmm(match["start"])
        end = parse_hhmm(match["end"], allow_midnight_end=True)
    except ValueError as exc:
        raise _Bad(f"{_show(value)}: {exc}") from None
    if end <= start:
        raise _Bad(f"{_show(value)}: the window must end after it starts (24:00 for midnight)")
    days = range(WEEKDAYS.index(first), WEEKDAYS.index(last) + 1)
    return [AvailabilityWindow(weekday, start, end) for weekday in days]


def _merge_windows(windows: list[AvailabilityWindow]) -> tuple[AvailabilityWindow, ...]:
    """Sort windows and merge those that overlap or touch, since several rows add up."""
    merged: list[AvailabilityWindow] = []
    for window in sorted(windows, key=lambda w: (w.weekday, w.start)):
        last = merged[-1] if merged else None
        if last is not None and last.weekday == window.weekday and window.start <= last.end:
            merged[-1] = replace(last, end=max(last.end, window.end))
        else:
            merged.append(window)
    return tuple(merged)


# --- Tables ----------------------------------------------------------------------------


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
    return Policy(
        min_notice=min_notice,
        max_advance=max_advance,
        answer_by=entry.optional("answer_by", _time_of_day, default.answer_by),
        answer_before_start=entry.optional(
            "answer_before_start", _duration, default.answer_before_start
        ),
        reminders_member=entry.optional("reminders_member", _durations, default.reminders_member),
        reminders_provider=entry.optional(
            "reminders_provider", _durations, default.reminders_provider
        ),
        checkin_opens=entry.optional("checkin_opens", _duration, default.checkin_opens),
        noshow_wait=entry.optional("noshow_wait", _duration, default.noshow_wait),
        noshow_fee_cap=entry.optional("noshow_fee_cap", _money, default.noshow_fee_cap),
        late_cancel=entry.optional("late_cancel", _duration, default.late_cancel),
        declare_within=entry.optional("declare_within", _duration, default.declare_within),
        change_requests=entry.optional("change_requests", _change_requests, "review"),
        escalation_reminder=entry.optional(
            "escalation_reminder", _duration, default.escalation_reminder
        ),
        contest_within=entry.optional("contest_within", _duration, default.contest_within),
        booking_horizon=entry.optional("booking_horizon", _duration, default.booking_horizon),
        hiatus_after=entry.optional("hiatus_after", _duration, default.hiatus_after),
        regular_within=entry.optional("regular_within", _duration, default.regular_within),
        quiet_hours=entry.optional("quiet_hours", _time_span, default.quiet_hours),
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
