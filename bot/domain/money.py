"""Exact money: Decimal in the domain, integer minor units in storage."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def quantize(amount: Decimal) -> Decimal:
    """Round to cents, half up, as an invoice would."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def to_minor(amount: Decimal) -> int:
    """Decimal amount to integer minor units (cents)."""
    return int(quantize(amount) * 100)


def from_minor(minor: int) -> Decimal:
    """Integer minor units (cents) to a Decimal amount."""
    return (Decimal(minor) / 100).quantize(CENT)
