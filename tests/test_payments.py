"""Payments recorded by staff (§5): the intent the chat command and the web console share."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.app import Carebot
from bot.clock import VirtualClock
from bot.domain.agency import Member
from bot.domain.ledger import Account, account, signed
from bot.flows.payment import parse_amount
from bot.flows.router import Text
from bot.handlers.sms_text import normalise, segments
from bot.services.billing import PaymentRefused, member_account, record_payment
from bot.services.desk import open_desk
from bot.services.ports import LedgerLine
from tests.conftest import paris


@pytest.mark.parametrize(
    ("typed", "amount"),
    [
        ("82", "82.00"),
        ("82.00", "82.00"),
        ("82,5", "82.50"),
        ("82 €", "82.00"),
        ("€82.10", "82.10"),
        ("82EUR", "82.00"),
        ("0", None),
        ("-5", None),
        ("1e3", None),
        ("82.001", None),
        ("82,00,00", None),
        ("abc", None),
        ("", None),
        ("NaN", None),
    ],
)
def test_amounts_as_staff_type_them(typed: str, amount: str | None) -> None:
    assert parse_amount(typed) == (None if amount is None else Decimal(amount))


def _line(kind: str, amount: str, balance: str = "0", credits: int = 0) -> LedgerLine:
    return LedgerLine(
        0, paris("2026-11-23 10:00"), kind, None, Decimal(amount), Decimal(balance), credits
    )


def test_the_account_signs_each_kind_and_adds_up() -> None:
    lines = [
        _line("scheduling_fee", "10"),
        _line("fee_credit", "10", "10"),  # credited back: credit, the fee still owed
        _line("scheduling_fee", "10", "-10"),  # the next fee, paid from that credit
        _line("session", "72"),
        _line("payment", "50"),
        _line("weekly_credits", "0", credits=1),
    ]
    assert [signed(x.kind, x.amount) for x in lines] == [
        Decimal(v) for v in ("-10", "10", "-10", "-72", "50", "0")
    ]
    position = account(lines)
    assert position == Account(credit=Decimal(0), credits=1, owed=Decimal("32"))
    assert position.net == sum(signed(x.kind, x.amount) for x in lines)


async def _owed(bot: Carebot, member: str) -> Decimal:
    async with bot.db.transaction() as tx:
        return (await member_account(tx, member)).owed


async def test_record_payment_refuses_and_changes_nothing(
    bot: Carebot, clock: VirtualClock
) -> None:
    for message in ("childcare on Tuesday 24 November 9am to 11am", "1", "1"):
        await bot.receive_from("bob", Text(message))
    assert await _owed(bot, "bob") == Decimal("15.00")
    async with open_desk(bot.db, clock) as desk:
        bob = await desk.tx.roster.person("bob")
        assert isinstance(bob, Member)
        for who, amount, reason in (
            ("alice", Decimal("5"), "not_staff"),  # a member is not staff
            ("marie", Decimal("5"), "not_staff"),
            ("karim", Decimal("0"), "not_positive"),
            ("karim", Decimal("5.001"), "not_positive"),
            ("karim", Decimal("15.01"), "more_than_owed"),
        ):
            with pytest.raises(PaymentRefused) as refused:
                await record_payment(desk, await desk.tx.roster.person(who), bob, amount)
            assert (refused.value.reason, refused.value.owed) == (reason, Decimal("15.00"))
        after = await record_payment(
            desk, await desk.tx.roster.person("karim"), bob, Decimal("15")
        )
        assert after.owed == 0
        with pytest.raises(PaymentRefused) as refused:
            await record_payment(desk, await desk.tx.roster.person("karim"), bob, Decimal("1"))
        assert refused.value.reason == "nothing_owed"
    assert await _owed(bot, "bob") == 0
    sent = await bot.outbox_after(0)
    assert sum("recorded your payment" in m.text for m in sent if m.person_id == "bob") == 1


async def test_an_sms_statement_fits_two_segments(bot: Carebot) -> None:
    """David reads French on SMS: totals and the latest lines must not be cut."""
    for message in ("massage dimanche de 10h à 11h", "1"):  # nobody free: to the team
        await bot.receive_from("david", Text(message))
    await bot.receive_from("karim", Text("1"))  # closed as unfilled: the fee credited back
    for message in ("garde mercredi 25 novembre de 14h à 18h", "1", "1", "solde"):
        await bot.receive_from("david", Text(message))
    statement = (await bot.outbox_after(0))[-1]
    assert statement.person_id == "david" and "payés avec votre avoir" in statement.text
    assert segments(normalise(statement.text)) <= 2, statement.text
