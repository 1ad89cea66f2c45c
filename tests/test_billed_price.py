"""billed_price (§2.4): after a late provider, the member pays from the arrival to the end."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from bot.domain.booking import Request, Status, billed_price

START = datetime(2026, 11, 24, 13, 0, tzinfo=UTC)
SESSION = Request(
    id=1,
    member_id="bob",
    member_seq=1,
    service_id="childcare",
    start=START,
    end=START + timedelta(hours=3),
    status=Status.IN_PROGRESS,
    provider_id="paul",
    price=Decimal("54.00"),
    fee=Decimal("10.00"),
    charge=Decimal(0),
    payout=Decimal(0),
)


def test_on_time_is_the_whole_price() -> None:
    assert billed_price(SESSION) == Decimal("54.00")
    early = replace(SESSION, arrived_at=START - timedelta(minutes=10))
    assert billed_price(early) == Decimal("54.00")


def test_the_actual_arrival_counts_before_the_announced_one() -> None:
    late = replace(SESSION, expected_at=START + timedelta(minutes=30))
    assert billed_price(late) == Decimal("45.00")
    arrived = replace(late, arrived_at=START + timedelta(minutes=35))
    assert billed_price(arrived) == Decimal("43.50")


@given(st.integers(min_value=-60, max_value=300), st.booleans())
def test_never_more_than_the_price_nor_less_than_nothing(minutes: int, declared: bool) -> None:
    moment = START + timedelta(minutes=minutes)
    late = replace(SESSION, expected_at=moment, arrived_at=moment if declared else None)
    assert Decimal(0) <= billed_price(late) <= SESSION.price
