"""What services ask of storage about ledger (storage/repos/ledger.py implements it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from bot.domain.booking import Request
from bot.services.ports.records import AccountLine, LedgerLine


@dataclass(frozen=True)
class LedgerEntry:
    """One movement of money or credits to append: when, why, how much, and whose."""

    at: datetime
    kind: str
    amount: Decimal
    member_id: str | None = None
    provider_id: str | None = None
    request_id: int | None = None
    balance_delta: Decimal = Decimal(0)
    credits_delta: int = 0
    recorded_by: str | None = None  # the staff member who entered it (a payment), else None

    @classmethod
    def member_side(
        cls,
        request: Request,
        at: datetime,
        kind: str,
        amount: Decimal,
        *,
        balance_delta: Decimal = Decimal(0),
        credits_delta: int = 0,
    ) -> LedgerEntry:
        """A movement on the account of a request's member."""
        return cls(
            at,
            kind,
            amount,
            member_id=request.member_id,
            request_id=request.id,
            balance_delta=balance_delta,
            credits_delta=credits_delta,
        )

    @classmethod
    def provider_side(
        cls, request: Request, at: datetime, kind: str, amount: Decimal
    ) -> LedgerEntry:
        """What a request's provider is owed (or no longer owed)."""
        return cls(at, kind, amount, provider_id=request.provider_id, request_id=request.id)


class Ledger(Protocol):
    """An append-only ledger (lines are never updated nor deleted)."""

    async def add(self, entry: LedgerEntry) -> None:
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

    async def between(self, start: datetime, end: datetime) -> list[AccountLine]:
        """Every ledger line in [start, end), oldest first (the accountant's export)."""
        ...

    async def payouts(
        self, provider_id: str, start: datetime, end: datetime
    ) -> list[tuple[int | None, Decimal, datetime]]:
        """What a provider is owed per appointment in [start, end): (request, amount, when)."""
        ...

    async def claim_credit_week(self, member_id: str, week: str) -> bool:
        """Mark a member's weekly credits as added for a week; False when they already were."""
        ...
