"""A large synthetic agency for benchmarks: thousands of providers, tens of thousands of visits."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from bot.app import Carebot
from bot.clock import VirtualClock
from bot.domain.agency import (
    Agency,
    AgencyFile,
    AvailabilityWindow,
    Member,
    Provider,
    Service,
    Staff,
)
from bot.domain.booking import Request, Status
from bot.domain.errors import DoubleBooking
from bot.root import open_carebot
from bot.services.ports import NewRequest, UnitOfWork
from storage.postgres import analyze, is_url

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
SERVICES = ("childcare", "cleaning", "massage", "pets")


def agency_file(providers: int, members: int, seed: int = 7) -> AgencyFile:
    """An agency with `providers` providers and `members` members, reproducibly random."""
    rng = random.Random(seed)
    services = tuple(Service(s, {"fr": s, "en": s}, Decimal("20.00")) for s in SERVICES)
    people_members = tuple(
        Member(
            id=f"m{i}",
            name=f"Member {i}",
            channel="sms",
            phone=f"+3361{i:07d}",
            language=rng.choice(["fr", "en"]),
        )
        for i in range(members)
    )
    people_providers = []
    for i in range(providers):
        days = rng.sample(range(7), rng.randint(3, 6))
        first = rng.choice([7, 8, 9, 12]) * 60
        windows = tuple(
            AvailabilityWindow(d, first, first + rng.choice([6, 8, 10]) * 60) for d in sorted(days)
        )
        people_providers.append(
            Provider(
                id=f"p{i}",
                name=f"Provider {i}",
                channel="sms",
                phone=f"+3362{i:07d}",
                services=tuple(sorted(rng.sample(SERVICES, rng.randint(1, 2)))),
                rating=round(rng.uniform(3.5, 5.0), 1),
                availability=windows,
            )
        )
    staff = (Staff(id="s0", name="Staff", channel="telegram", telegram_id=9000),)
    return AgencyFile(
        Agency("Bench", "Europe/Paris", "EUR", "fr"),
        services,
        people_members,
        tuple(people_providers),
        staff,
    )


async def build(
    path: str | Path, providers: int, members: int, appointments: int, seed: int = 7
) -> Carebot:
    """A database at `path` (a SQLite file or a PostgreSQL URL) holding the large agency and
    `appointments` confirmed visits."""
    rng = random.Random(seed)
    clock = VirtualClock(START)
    bot = await open_carebot(path, clock)
    data = agency_file(providers, members, seed)
    await bot.import_agency(data)
    made = 0
    async with bot.db.transaction() as tx:
        while made < appointments:
            provider = rng.choice(data.providers)
            start = START + timedelta(days=rng.randint(0, 59), hours=rng.randint(0, 10))
            member_id = f"m{rng.randrange(members)}"
            end = start + timedelta(hours=rng.randint(1, 4))
            if await visit(tx, provider, member_id, start, end, Status.CONFIRMED, START):
                made += 1
    if is_url(str(path)):
        # Months of bookings, loaded in seconds: a server's autovacuum would have gathered the
        # planner's statistics along the way; the CI server runs without it (autovacuum = off),
        # and without statistics the planner guesses one row per table. (Not on SQLite: its
        # ANALYZE made the availability look-up slower, 14 -> 48 ms; carebot leaves SQLite's
        # statistics to PRAGMA optimize at open.)
        await analyze(str(path))
    return bot


async def visit(
    tx: UnitOfWork,
    provider: Provider,
    member_id: str,
    start: datetime,
    end: datetime,
    status: Status,
    at: datetime,
) -> Request | None:
    """A visit of the provider's first service at 40 (fee 5); None when they are booked then."""
    try:
        return await tx.requests.add(
            NewRequest(
                member_id=member_id,
                service_id=provider.services[0],
                start=start,
                end=end,
                status=status,
                provider_id=provider.id,
                price=Decimal("40"),
                fee=Decimal("5"),
            ),
            at,
        )
    except DoubleBooking:
        return None
