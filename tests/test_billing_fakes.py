"""Billing's use cases on in-memory repositories (tests/fakes/repos.py): no database needed.

The same rules as tests/test_payments.py checks through a real SQLite file and the chat;
here they run in a few milliseconds, so every refusal and the weekly credits' once-only
rule are cheap to state.
"""

from __future__ import annotations

from decimal import Decimal
from typing import cast

import pytest

from bot.agency_file import load_agency_file
from bot.domain.agency import AgencyFile, Member
from bot.domain.booking import Status
from bot.domain.errors import RequestChanged
from bot.services import appointments
from bot.services.billing import (
    WEEKLY_CREDITS,
    PaymentRefused,
    add_weekly_credits,
    ensure_weekly_credits,
    member_account,
    record_payment,
    settle,
)
from bot.services.desk import Desk
from bot.services.hiatus import CREDIT_NOTICE, credit_notice
from bot.services.ports import LedgerEntry, UnitOfWork
from tests.conftest import AGENCY, paris
from tests.fakes.repos import FakeUnitOfWork
from tests.test_transitions import request

DATA: AgencyFile = load_agency_file(AGENCY)


def _desk(tx: FakeUnitOfWork, when: str = "2026-11-23 10:00") -> Desk:
    return Desk(cast(UnitOfWork, tx), paris(when), DATA.agency, {s.id: s for s in DATA.services})


async def _bob(tx: FakeUnitOfWork) -> Member:
    bob = await tx.roster.person("bob")
    assert isinstance(bob, Member)
    return bob


async def test_a_payment_is_refused_unless_staff_record_at_most_what_is_owed() -> None:
    tx = FakeUnitOfWork(DATA)
    desk = _desk(tx)
    bob = await _bob(tx)
    await tx.ledger.add(LedgerEntry(desk.now, "scheduling_fee", Decimal(15), member_id="bob"))
    for who, amount, reason in (
        ("alice", Decimal("5"), "not_staff"),
        ("karim", Decimal("0"), "not_positive"),
        ("karim", Decimal("5.001"), "not_positive"),
        ("karim", Decimal("15.01"), "more_than_owed"),
    ):
        with pytest.raises(PaymentRefused) as refused:
            await record_payment(desk, await tx.roster.person(who), bob, amount)
        assert (refused.value.reason, refused.value.owed) == (reason, Decimal("15"))
    assert await tx.outbox.last_id() == 0  # a refusal changes nothing
    after = await record_payment(desk, await tx.roster.person("karim"), bob, Decimal("15"))
    assert after.owed == 0 == (await member_account(cast(UnitOfWork, tx), "bob")).owed
    with pytest.raises(PaymentRefused) as refused:
        await record_payment(desk, await tx.roster.person("karim"), bob, Decimal("1"))
    assert refused.value.reason == "nothing_owed"
    told = await tx.outbox.after(0)
    assert [m.person_id for m in told] == ["bob"]
    assert "15" in told[0].text


async def test_weekly_credits_are_added_once_per_week_and_re_armed() -> None:
    tx = FakeUnitOfWork(DATA)
    monday = "2026-11-30 00:00"
    await ensure_weekly_credits(_desk(tx))
    await ensure_weekly_credits(_desk(tx))  # start and import both call it: armed once
    assert [(t.kind, t.due_at) for t in tx.timers.pending()] == [(WEEKLY_CREDITS, paris(monday))]
    subscribers = [m.id for m in await tx.roster.subscribers()]
    assert subscribers
    for _ in range(2):  # a second wake-up for the same Monday adds nothing
        await add_weekly_credits(_desk(tx, monday), paris(monday))
    for member in subscribers:
        _, credits = await tx.ledger.balance(member)
        assert credits == 1
    kinds = [t.kind for t in tx.timers.pending()]
    assert kinds.count(CREDIT_NOTICE) == 1


async def test_the_credit_notice_skips_members_who_opted_out() -> None:
    tx = FakeUnitOfWork(DATA)
    subscribers = [m.id for m in await tx.roster.subscribers()]
    tx.roster.opted_out.add(subscribers[0])
    await credit_notice(_desk(tx))
    assert [m.person_id for m in await tx.outbox.after(0)] == subscribers[1:]


# --- settling a request (its status change and its ledger lines) -------------------------


async def test_settling_stores_the_move_and_books_money_or_a_credit() -> None:
    tx = FakeUnitOfWork(DATA)
    desk = _desk(tx, "2026-11-25 17:00")
    done = tx.requests.put(request(Status.IN_PROGRESS, id=1))
    on_credit = tx.requests.put(request(Status.IN_PROGRESS, id=2, paid_by_credit=True))
    await tx.timers.add(appointments.NOSHOW, desk.now, request_id=1)

    settled = await settle(desk, done.complete(Decimal("36.00"), desk.now))
    await settle(desk, on_credit.complete(Decimal("36.00"), desk.now))

    assert (await tx.requests.get(1)).status is Status.COMPLETED == settled.status
    assert tx.timers.pending() == []  # a settled appointment's timers go
    lines = [
        (e.line.kind, e.line.request_id, e.line.amount, e.line.credits_delta)
        for e in tx.ledger.entries
    ]
    assert lines == [
        ("session", 1, Decimal("36.00"), 0),
        ("payout", 1, Decimal("36.00"), 0),
        ("session", 2, Decimal(0), -1),
        ("payout", 2, Decimal("36.00"), 0),
    ]


async def test_a_free_cancellation_or_an_expiry_books_nothing() -> None:
    tx = FakeUnitOfWork(DATA)
    desk = _desk(tx)
    early = tx.requests.put(request(Status.CONFIRMED, id=1))
    await settle(desk, early.cancel(desk.now, DATA.agency.policy))
    late = tx.requests.put(request(Status.CONFIRMED, id=2, start=paris("2026-11-23 12:00")))
    await settle(desk, late.expire(desk.now))
    assert [r.status for r in tx.requests.rows.values()] == [Status.CANCELLED, Status.EXPIRED]
    assert tx.ledger.entries == []


async def test_the_fake_refuses_a_stale_move_as_the_database_does() -> None:
    tx = FakeUnitOfWork(DATA)
    desk = _desk(tx)
    stale = tx.requests.put(request(Status.PENDING, id=1))
    await tx.requests.save(stale.confirm(desk.now))
    with pytest.raises(RequestChanged):
        await settle(desk, stale.cancel(desk.now, DATA.agency.policy))
    assert (await tx.requests.get(1)).status is Status.CONFIRMED
    assert tx.ledger.entries == []
