"""Movements of money and session credits; balances are sums of the history."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from bot.domain.money import from_minor, to_minor
from bot.services import ports
from bot.services.ports import AccountLine, LedgerLine
from storage.codec import from_ts
from storage.repos import rows
from storage.repos.sql import Repository


class Ledger(Repository, ports.Ledger):
    """The ledger and credit_weeks tables."""

    async def add(self, entry: ports.LedgerEntry) -> None:
        await self.sql.run(
            "INSERT INTO ledger (created_at, member_id, provider_id, request_id, kind, "
            "amount_minor, balance_minor, credits, recorded_by) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                entry.at,
                entry.member_id,
                entry.provider_id,
                entry.request_id,
                entry.kind,
                to_minor(entry.amount),
                to_minor(entry.balance_delta),
                entry.credits_delta,
                entry.recorded_by,
            ),
        )

    async def balance(self, member_id: str) -> tuple[Decimal, int]:
        # A balance is read to decide a charge: on PostgreSQL the member's row is locked first
        # (until the commit), so two workers never both spend the same credit.
        if self.sql.dialect == "postgresql":
            await self.sql.one("SELECT 1 AS one FROM people WHERE id = ? FOR UPDATE", (member_id,))
        row = await self.sql.one(
            "SELECT COALESCE(SUM(balance_minor), 0) AS b, "
            "COALESCE(SUM(credits), 0) AS c FROM ledger WHERE member_id = ?",
            (member_id,),
        )
        assert row is not None
        return from_minor(int(row["b"])), int(row["c"])

    async def history(self, member_id: str, limit: int) -> list[LedgerLine]:
        return await self.all_as(
            rows.ledger_line,
            "SELECT * FROM ledger WHERE member_id = ? ORDER BY id DESC LIMIT ?",
            (member_id, limit),
        )

    async def of_member(self, member_id: str) -> list[LedgerLine]:
        return await self.all_as(
            rows.ledger_line, "SELECT * FROM ledger WHERE member_id = ? ORDER BY id", (member_id,)
        )

    async def between(self, start: datetime, end: datetime) -> list[AccountLine]:
        found = await self.sql.heavy(
            "SELECT * FROM ledger WHERE created_at >= ? AND created_at < ? ORDER BY id",
            (start, end),
        )
        return [rows.account_line(r) for r in found]

    async def payouts(
        self, provider_id: str, start: datetime, end: datetime
    ) -> list[tuple[int | None, Decimal, datetime]]:
        found = await self.sql.all(
            "SELECT request_id, SUM(amount_minor) AS m, MIN(created_at) AS t "
            "FROM ledger WHERE provider_id = ? AND created_at >= ? AND "
            "created_at < ? GROUP BY request_id ORDER BY t",
            (provider_id, start, end),
        )
        return [(r["request_id"], from_minor(int(r["m"])), from_ts(r["t"])) for r in found]

    async def claim_credit_week(self, member_id: str, week: str) -> bool:
        return await self.changed_one(
            "INSERT INTO credit_weeks (member_id, week) VALUES (?, ?) ON CONFLICT DO NOTHING",
            (member_id, week),
        )
