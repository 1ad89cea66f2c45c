"""`carebot export ledger`: one CSV line per ledger entry, for the agency's accountant."""

from __future__ import annotations

import csv
from datetime import date, datetime, time, timedelta
from typing import TextIO
from zoneinfo import ZoneInfo

from bot.app import Carebot
from bot.clock import SystemClock
from bot.domain.money import from_minor

COLUMNS = (
    "id",
    "date",
    "kind",
    "member",
    "provider",
    "request",
    "amount",
    "balance_change",
    "credits_change",
    "currency",
)


async def export_ledger(db_path: str, start_day: date, end_day: date, out: TextIO) -> int:
    """Write the ledger lines of the agency-time days [start_day, end_day] as CSV.

    Raises NotFound when the database holds no agency (nothing is written then).
    """
    bot = await Carebot.open(db_path, SystemClock())
    try:
        async with bot.db.transaction() as tx:
            agency = await tx.agency()
            tz = ZoneInfo(agency.timezone)
            start = datetime.combine(start_day, time(0), tzinfo=tz)
            end = datetime.combine(end_day + timedelta(days=1), time(0), tzinfo=tz)
            rows = await tx.ledger_between(start, end)
    finally:
        await bot.close()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for row in rows:
        moment = datetime.strptime(row["created_at"], "%Y-%m-%d %H:%M:%S")
        writer.writerow(
            [
                row["id"],
                moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
                row["kind"],
                row["member_id"] or "",
                row["provider_id"] or "",
                row["request_id"] or "",
                from_minor(row["amount_minor"]),
                from_minor(row["balance_minor"]),
                row["credits"],
                agency.currency,
            ]
        )
    return 0
