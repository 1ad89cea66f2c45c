"""Where a value sits in an agency file, and reading its tables with located errors."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import TypeVar

from bot.agency_file.values import _Bad, _show

T = TypeVar("T")

# Tables written [[name]] (one entry per block); the others are single [name] tables.
_ARRAY_TABLES = frozenset({"service", "member", "provider", "staff"})
_TOP_LEVEL = frozenset({"agency", "policy"}) | _ARRAY_TABLES


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
