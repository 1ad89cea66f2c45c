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
from bot.services.billing import (
    WEEKLY_CREDITS,
    PaymentRefused,
    add_weekly_credits,
    ensure_weekly_credits,
    member_account,
    record_payment,
)
from bot.services.desk import Desk
from bot.services.hiatus import CREDIT_NOTICE, credit_notice
from bot.services.ports import UnitOfWork
from tests.conftest import AGENCY, paris
from tests.fakes.repos import FakeUnitOfWork

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
    await tx.ledger.add(at=desk.now, kind="scheduling_fee", amount=Decimal(15), member_id="bob")
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
