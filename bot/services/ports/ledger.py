"""What services ask of storage about ledger (storage/repos/ledger.py implements it)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from bot.services.ports.records import (
    LedgerLine,
)


class Ledger(Protocol):
    """An append-only ledger (lines are never updated nor deleted)."""

    async def add(
        self,
        *,
        at: datetime,
        kind: str,
        amount: Decimal,
        member_id: str | None = None,
        provider_id: str | None = None,
        request_id: int | None = None,
        balance_delta: Decimal = Decimal(0),
        credits_delta: int = 0,
    ) -> None:
        """Append one movement of money or credits."""
        ...

    async def balance(self, member_id: str) -> tuple[Decimal, int]:
        """A member's money balance and session credits: the sums of their history."""
        ...

    async def history(self, member_id: str, limit: int) -> list[LedgerLine]:
        """A member's latest ledger lines, newest first."""
        ...

    async def of_member(self, member_id: str) -> list[LedgerLine]:
        """Every ledger line of a member, oldest first (their whole account)."""
        ...

    async def between(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """Every ledger line in [start, end) as its columns, `created_at` an aware datetime
        (the accountant's export)."""
        ...

    async def payouts(
        self, provider_id: str, start: datetime, end: datetime
    ) -> list[tuple[int | None, Decimal, datetime]]:
        """What a provider is owed per appointment in [start, end): (request, amount, when)."""
        ...

    async def claim_credit_week(self, member_id: str, week: str) -> bool:
        """Mark a member's weekly credits as added for a week; False when they already were."""
        ...
