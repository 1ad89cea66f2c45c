"""`carebot export ledger`: one CSV line per ledger entry, for the agency's accountant.

Member lines carry the amount signed as the member's statement shows it (a charge negative, a
credit or payment positive), what it changed in their credit (`balance_change`) and in what
they owe (`owed_change`). After the lines, two rows per member, `member_opening` (before the
first day) and `member_closing` (after the last), hold their position: amount = credit less
owed, balance_change = credit, owed_change = owed, credits_change = session credits. Opening
plus the member's lines gives closing, and closing is what their statement says.
"""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal
from typing import TextIO

from bot.app import Carebot
from bot.domain.ledger import Account, account, signed
from bot.services.ports import AccountLine

COLUMNS = (
    "id",
    "date",
    "kind",
    "member",
    "provider",
    "request",
    "amount",
    "balance_change",
    "owed_change",
    "credits_change",
    "currency",
    "recorded_by",
)


async def write_ledger(bot: Carebot, start_day: date, end_day: date, out: TextIO) -> int:
    """Write the ledger lines of the agency-time days [start_day, end_day] as CSV.

    Raises NotFound when the database holds no agency (nothing is written then).
    """
    export = await bot.ledger_export(start_day, end_day)
    agency, rows, before = export.agency, export.rows, export.before
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(_line_row(row, agency.currency))
    writer.writerows(_member_totals(before, rows, agency.currency))
    return 0


def _line_row(entry: AccountLine, currency: str) -> list[object]:
    """One ledger line; member amounts signed, provider amounts as owed to the provider."""
    line = entry.line
    amount, owed = line.amount, Decimal(0)
    if entry.member_id:
        amount = signed(line.kind, line.amount)
        owed = account([line]).owed
    return [
        line.id,
        line.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        line.kind,
        entry.member_id or "",
        entry.provider_id or "",
        line.request_id or "",
        amount,
        line.balance_delta,
        owed,
        line.credits_delta,
        currency,
        line.recorded_by or "",
    ]


def _member_totals(
    before: list[AccountLine], rows: list[AccountLine], currency: str
) -> list[list[object]]:
    """Each member's position before the period and after it, as two rows."""
    members = sorted({r.member_id for r in before + rows if r.member_id})
    out: list[list[object]] = []
    for member in members:
        opening = account(r.line for r in before if r.member_id == member)
        closing = account(r.line for r in before + rows if r.member_id == member)
        for kind, position in (("member_opening", opening), ("member_closing", closing)):
            out.append(_total_row(kind, member, position, currency))
    return out


def _total_row(kind: str, member: str, position: Account, currency: str) -> list[object]:
    return [
        "",
        "",
        kind,
        member,
        "",
        "",
        position.net,
        position.credit,
        position.owed,
        position.credits,
        currency,
        "",
    ]
