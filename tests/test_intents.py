"""The application's intent methods, as the web console calls them: the same services and
notices as the chat, lookups as domain values."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from bot.app import Carebot, NotAllowed
from bot.clock import VirtualClock
from bot.domain.agency import Member, Person
from bot.domain.booking import Status
from bot.domain.errors import Contention
from bot.domain.ledger import Account
from bot.services import billing
from bot.services.billing import PaymentRefused
from bot.services.desk import Desk


async def _press(bot: Carebot, who: str, label: str) -> None:
    """Press the option labelled `label` in the latest message to `who`."""
    for message in reversed(await bot.outbox_after(0)):
        if message.person_id == who and message.options:
            [packed] = [act for text, act in message.options if label in text]
            await bot.press(who, packed)
            return
    raise AssertionError(f"no options for {who}")


async def _declined_request(bot: Carebot) -> int:
    """Chloé books Marie, who declines: an escalation waits for staff; its number."""
    await bot.say("chloe", "I need a babysitter tomorrow 2pm to 6pm")
    await _press(bot, "chloe", "Marie")
    await _press(bot, "chloe", "onfirm")
    await bot.say("marie", "non désolée pas dispo")
    [waiting] = await bot.waiting_escalations()
    assert waiting.member.id == "chloe"
    return waiting.escalation.id


async def test_staff_offer_a_declined_request_and_the_provider_sees_it(bot: Carebot) -> None:
    number = await _declined_request(bot)
    before = await bot.last_outbox_id()

    await bot.resolve_escalation("karim", number, ("offer", "paul"))

    assert await bot.waiting_escalations() == []
    told = {m.person_id for m in await bot.outbox_after(before)}
    assert {"paul", "sophie", "chloe"} <= told  # the same notices as the chat's button


async def test_a_decision_by_someone_not_staff_changes_nothing(bot: Carebot) -> None:
    number = await _declined_request(bot)
    with pytest.raises(NotAllowed):
        await bot.resolve_escalation("alice", number, "unfilled")
    assert len(await bot.waiting_escalations()) == 1


async def test_appointments_week_and_owed_of_a_provider(bot: Carebot, clock: VirtualClock) -> None:
    await bot.say("chloe", "I need a babysitter tomorrow 2pm to 6pm")
    await _press(bot, "chloe", "Marie")
    await _press(bot, "chloe", "onfirm")
    await bot.say("marie", "oui")

    [held] = await bot.provider_appointments("marie")
    assert held.status is Status.CONFIRMED and held.member_id == "chloe"
    assert [r.id for r in await bot.week_schedule(clock.now().date())] == [held.id]
    assert await bot.week_schedule(clock.now().date() + timedelta(days=7)) == []
    assert await bot.provider_appointments("paul") == []
    windows, _ = await bot.provider_hours("marie")
    assert windows
    month = clock.now().replace(day=1)
    assert await bot.provider_owed("marie", month, month + timedelta(days=40)) == []


async def test_a_payment_shows_on_the_statement(bot: Carebot) -> None:
    await bot.say("chloe", "I need a babysitter tomorrow 2pm to 6pm")
    await _press(bot, "chloe", "Marie")
    await _press(bot, "chloe", "onfirm")
    owed = (await bot.statement("chloe")).account.owed
    assert owed == Decimal("10.00")  # the booking fee

    with pytest.raises(PaymentRefused):
        await bot.record_payment("sophie", "chloe", Decimal("500"))
    with pytest.raises(NotAllowed):
        await bot.record_payment("marie", "chloe", Decimal("5"))
    account = await bot.record_payment("sophie", "chloe", Decimal("10"))

    statement = await bot.statement("chloe")
    assert account.owed == statement.account.owed == 0
    assert statement.lines[0].kind == "payment"


async def test_search_people_by_name_word_id_or_phone(bot: Carebot) -> None:
    assert [p.id for p in await bot.search_people("dupont")] == ["marie"]
    assert [p.id for p in await bot.search_people("Chloé", role="member")] == ["chloe"]
    assert await bot.search_people("chloe", role="provider") == []
    assert await bot.search_people("") == []


async def test_the_ledger_export_holds_the_period(bot: Carebot, clock: VirtualClock) -> None:
    await bot.say("chloe", "I need a babysitter tomorrow 2pm to 6pm")
    await _press(bot, "chloe", "Marie")
    await _press(bot, "chloe", "onfirm")
    today = clock.now().date()
    export = await bot.ledger_export(today, today)
    assert [row.line.kind for row in export.rows] == ["opening", "scheduling_fee"]
    assert (
        await bot.ledger_export(today - timedelta(days=7), today - timedelta(days=1))
    ).rows == []


async def test_staff_approve_a_change_request_through_the_intent(bot: Carebot) -> None:
    for message in ("childcare on Wednesday 25 November 9am to 11am", "Marie", "1"):
        await bot.say("bob", message)
    await bot.say("marie", "oui")
    # Change -> the booking -> Service -> Massage (Marie does not offer it): to staff.
    for message in ("change booking", "1", "2", "Massage", "1"):
        await bot.say("bob", message)
    [waiting] = await bot.waiting_escalations()
    assert waiting.escalation.reason == "change_review"
    before = await bot.last_outbox_id()

    await bot.resolve_escalation("karim", waiting.escalation.id, "approve")

    # Decided (Marie does not offer massage: the request now waits for another provider).
    assert waiting.escalation.id not in [w.escalation.id for w in await bot.waiting_escalations()]
    sent = await bot.outbox_after(before)
    assert any(m.person_id == "karim" and "you approved the change" in m.text for m in sent), [
        m.text for m in sent
    ]


async def test_a_staff_action_crossed_by_another_worker_runs_again_once(
    bot: Carebot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A deadlock the database broke rolls the payment back whole; the tap is run again
    rather than shown as an error, and the payment is recorded (and told) once."""
    await bot.say("chloe", "I need a babysitter tomorrow 2pm to 6pm")
    await _press(bot, "chloe", "Marie")
    await _press(bot, "chloe", "onfirm")
    real = billing.record_payment
    crossed: list[bool] = []

    async def crossed_once(desk: Desk, staff: Person, member: Member, amount: Decimal) -> Account:
        account = await real(desk, staff, member, amount)  # written, not committed
        if not crossed:
            crossed.append(True)
            raise Contention("deadlock detected")
        return account

    monkeypatch.setattr(billing, "record_payment", crossed_once)
    before = await bot.last_outbox_id()
    account = await bot.record_payment("sophie", "chloe", Decimal("10"))

    assert crossed and account.owed == 0
    lines = (await bot.statement("chloe")).lines
    assert [line.kind for line in lines].count("payment") == 1
    assert [m.person_id for m in await bot.outbox_after(before)].count("chloe") == 1
