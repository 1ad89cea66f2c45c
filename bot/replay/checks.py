"""The `?` checks of a transcript: what the database holds after a step (docs/transcripts.md)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from bot.app import Carebot
from bot.clock import VirtualClock
from bot.domain.agency import AgencyFile, Person, Provider
from bot.domain.availability import covers
from bot.domain.booking import Status
from bot.services.billing import member_account
from bot.services.ports import UnitOfWork

_CHECK = re.compile(r"^\?\s*(\w+)\s+(\S+)\s*(.*)$")
_REF = re.compile(r"^([A-Za-z0-9_-]+)#(\d+)$")


class Malformed(Exception):
    """The transcript itself is wrong (exit 2)."""


class Failed(Exception):
    """An expectation did not hold (exit 1); `line` when it is not the current line."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


def parse_moment(text: str, tz: ZoneInfo) -> datetime:
    """YYYY-MM-DD HH:MM in `tz`."""
    try:
        return datetime.strptime(text.strip(), "%Y-%m-%d %H:%M").replace(tzinfo=tz)
    except ValueError as exc:
        raise Malformed(f"bad time {text.strip()!r} (want YYYY-MM-DD HH:MM)") from exc


def person_named(agency: AgencyFile, name: str) -> Person:
    """The one on the agency file called `name`."""
    for someone in agency.people:
        if someone.id == name:
            return someone
    raise Malformed(f"unknown name {name!r}")


def _money(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation as exc:
        raise Malformed(f"bad amount {text!r}") from exc


async def check(
    line: str, bot: Carebot, clock: VirtualClock, agency: AgencyFile, tz: ZoneInfo
) -> None:
    """One `? WHAT SUBJECT EXPECTED` line: the database must hold what it says."""
    match = _CHECK.match(line)
    if match is None:
        raise Malformed(f"bad check {line!r}")
    what, subject, expected = match.group(1), match.group(2), match.group(3).strip()
    async with bot.db.transaction() as tx:
        if what == "escalations":
            if subject != "open":
                raise Malformed(f"bad check {line!r} (want: ? escalations open N)")
            _compare(what, subject, _int(expected), len(await tx.escalations.open()))
            return
        if what == "owed":
            owed = (await member_account(tx, person_named(agency, subject).id)).owed
            _compare(what, subject, _money(expected), owed)
            return
        if what == "available":
            _compare(what, subject, *await _available(tx, agency, tz, subject, expected))
            return
        if what == "requests":
            member = person_named(agency, subject)
            made = await tx.requests.of_member(member.id, list(Status))
            _compare(what, subject, _int(expected), len(made))
            return
        if what in ("balance", "credits"):
            balance, credits = await tx.ledger.balance(person_named(agency, subject).id)
            actual: object = balance if what == "balance" else credits
            wanted: object = _money(expected) if what == "balance" else _int(expected)
            _compare(what, subject, wanted, actual)
            return
        ref = _REF.match(subject)
        if ref is None:
            raise Malformed(f"bad reference {subject!r} (want NAME#K)")
        member = person_named(agency, ref.group(1))
        request = await tx.requests.by_seq(member.id, int(ref.group(2)))
        changes = await tx.changes.of_request(request.id) if request is not None else []
        ahead = (
            [
                r
                for r in await tx.series.occurrences(request.series_id)
                if r.start > clock.now() and r.status is not Status.CANCELLED
            ]
            if request is not None and request.series_id is not None
            else []
        )
    if request is None:
        raise Failed(f"{subject}: {member.id} has no request number {ref.group(2)}")
    getters: dict[str, Callable[[], tuple[object, object]]] = {
        "status": lambda: (expected, request.status.value),
        "provider": lambda: (expected, request.provider_id or "-"),
        "start": lambda: (parse_moment(expected, tz), request.start.astimezone(tz)),
        "end": lambda: (parse_moment(expected, tz), request.end.astimezone(tz)),
        "fee": lambda: (_money(expected), request.fee),
        "charge": lambda: (_money(expected), request.charge),
        "payout": lambda: (_money(expected), request.payout),
        "change": lambda: (expected, changes[-1].status if changes else "-"),
        "series": lambda: (_int(expected), len(ahead)),
    }
    if what not in getters:
        raise Malformed(f"unknown check {what!r}")
    wanted, actual = getters[what]()
    _compare(what, subject, wanted, actual)


_AVAILABLE = re.compile(r"^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2})-(\d{2}:\d{2}) (yes|no)$")


async def _available(
    tx: UnitOfWork, agency: AgencyFile, tz: ZoneInfo, provider_id: str, expected: str
) -> tuple[bool, bool]:
    """`? available PROVIDER DAY HH:MM-HH:MM yes|no`: weekly hours, days off, what they hold."""
    match = _AVAILABLE.match(expected)
    if match is None:
        raise Malformed("want: ? available PROVIDER YYYY-MM-DD HH:MM-HH:MM yes|no")
    day, first, last, answer = match.groups()
    start = parse_moment(f"{day} {first}", tz)
    end = parse_moment(f"{day} {last}", tz)
    if end <= start:
        end += timedelta(days=1)
    provider = await tx.roster.person(person_named(agency, provider_id).id)
    if not isinstance(provider, Provider):
        raise Malformed(f"{provider_id} is not a provider")
    free = covers(provider.availability, provider.unavailable, start, end) and (
        provider.id not in await tx.availability.busy(start.astimezone(UTC), end.astimezone(UTC))
    )
    return answer == "yes", free


def _int(text: str) -> int:
    if not text.lstrip("-").isdigit():
        raise Malformed(f"bad number {text!r}")
    return int(text)


def _compare(what: str, subject: str, wanted: object, actual: object) -> None:
    if wanted != actual:
        raise Failed(f"{what} {subject}: expected {wanted}, actual {actual}")
