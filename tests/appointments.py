"""Appointments written straight to storage, for tests that need one without the dialog."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from bot.domain.booking import Request, Status
from bot.services.ports import NewRequest
from bot.services.ports.requests import Requests

PRICE = Decimal("36.00")  # 2 hours of childcare at 18.00 in the test agencies


async def add_confirmed(
    requests: Requests,
    member_id: str,
    provider_id: str,
    start: datetime,
    at: datetime,
    *,
    fee: Decimal = Decimal("15.00"),
    end: datetime | None = None,
    status: Status = Status.CONFIRMED,
) -> Request:
    """A childcare appointment held by `provider_id`, confirmed unless `status` says otherwise,
    2 hours from `start` unless `end` says otherwise."""
    return await requests.add(
        NewRequest(
            member_id=member_id,
            service_id="childcare",
            start=start,
            end=end or start + timedelta(hours=2),
            status=status,
            provider_id=provider_id,
            price=PRICE,
            fee=fee,
        ),
        at,
    )
