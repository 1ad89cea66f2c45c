"""A member's account read from their ledger lines: signed amounts, credit, what is owed (§5).

The ledger stores each amount unsigned with its kind; the sign is the member's point of view
and lives here only, so the statement, the balance check and the export cannot disagree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from bot.domain.money import ZERO

# Lines that put money on the member's side; every other member line is something they pay.
CREDIT_KINDS = frozenset({"opening", "fee_credit", "waiver", "payment"})
# Lines that move no money, only session credits.
NEUTRAL_KINDS = frozenset({"weekly_credits"})


class Line(Protocol):
    """What the account needs of one ledger line."""

    @property
    def kind(self) -> str: ...
    @property
    def amount(self) -> Decimal: ...
    @property
    def balance_delta(self) -> Decimal: ...
    @property
    def credits_delta(self) -> int: ...


def signed(kind: str, amount: Decimal) -> Decimal:
    """The amount as the member's statement shows it: a charge negative, a credit positive."""
    if kind in NEUTRAL_KINDS:
        return ZERO
    return amount if kind in CREDIT_KINDS else -amount


@dataclass(frozen=True)
class Account:
    """A member's totals: credit usable on future fees, session credits, what they still owe."""

    credit: Decimal
    credits: int
    owed: Decimal

    @property
    def net(self) -> Decimal:
        """The sum of every signed line: credit less what is owed."""
        return self.credit - self.owed


def account(lines: Iterable[Line]) -> Account:
    """Totals of a member's lines.

    A line's effect on what is owed is the part of it that did not go to (or come from) the
    credit: a fee paid from the credit owes nothing, a credited-back fee pays nothing off.
    """
    credit, owed, credits = ZERO, ZERO, 0
    for line in lines:
        credit += line.balance_delta
        owed += line.balance_delta - signed(line.kind, line.amount)
        credits += line.credits_delta
    return Account(credit, credits, owed)
