"""Delivery statuses from the carrier: kept in order, and a failed SMS to a provider escalates."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest

from bot.app import Carebot
from bot.domain.agency import Member, Provider
from bot.domain.booking import Request, Status
from bot.services.booking import send_request
from bot.services.desk import open_desk
from bot.services.ports import OutboxMessage
from bot.services.sms_delivery import StatusUpdate, record_status
from tests.conftest import paris


async def _request_to_marie(bot: Carebot) -> tuple[Request, OutboxMessage]:
    """Fanny asks Marie for a cleaning; returns the request and the SMS put to Marie."""
    async with open_desk(bot.db, bot.clock) as desk:
        member = await desk.tx.roster.person("fanny")
        provider = await desk.tx.roster.person("marie")
        assert isinstance(member, Member) and isinstance(provider, Provider)
        start = paris("2026-11-25 10:00")
        request = await send_request(
            desk, member, desk.services["cleaning"], start, start + timedelta(hours=2), provider
        )
    to_marie = [m for m in await bot.outbox_after(0) if m.person_id == "marie"]
    return request, to_marie[-1]


async def _sent_as(bot: Carebot, message: OutboxMessage, sid: str) -> None:
    async with bot.db.transaction() as tx:
        await tx.outbox.mark_sent(message.id, sid, bot.clock.now())


async def _status(bot: Carebot, sid: str, status: str) -> StatusUpdate:
    async with open_desk(bot.db, bot.clock) as desk:
        return await record_status(desk, sid, status)


def _stored_status(bot: Carebot, message_id: int) -> str | None:
    """The carrier status recorded on an outbox row."""
    with sqlite3.connect(bot.db.path) as conn:
        row = conn.execute("SELECT delivery FROM outbox WHERE id = ?", (message_id,)).fetchone()
    return None if row is None else row[0]


@pytest.mark.parametrize(
    ("callbacks", "final"),
    [
        (["queued", "sent", "delivered"], "delivered"),
        (["delivered", "sent"], "delivered"),  # a late "sent" never undoes "delivered"
        (["sent", "queued", "sending"], "sent"),
        (["undelivered", "delivered", "sent"], "undelivered"),  # the first final one stays
        (["delivered", "read", "delivered"], "read"),
    ],
)
async def test_statuses_only_move_forward(bot: Carebot, callbacks: list[str], final: str) -> None:
    _, message = await _request_to_marie(bot)
    await _sent_as(bot, message, "SM" + "a" * 32)
    for status in callbacks:
        await _status(bot, "SM" + "a" * 32, status)
    assert _stored_status(bot, message.id) == final


async def test_a_status_for_an_unknown_message_records_nothing(bot: Carebot) -> None:
    assert await _status(bot, "SM" + "b" * 32, "delivered") == StatusUpdate(False, False)


async def test_a_failed_request_sms_sends_the_request_to_staff_once(bot: Carebot) -> None:
    request, offer_sms = await _request_to_marie(bot)
    await _sent_as(bot, offer_sms, "SM" + "c" * 32)
    before = await bot.last_outbox_id()

    update = await _status(bot, "SM" + "c" * 32, "undelivered")
    again = await _status(bot, "SM" + "c" * 32, "failed")

    assert update == StatusUpdate(known=True, recorded=True, escalated=1)
    assert again == StatusUpdate(known=True, recorded=False, escalated=0)
    async with bot.db.transaction() as tx:
        assert (await tx.requests.get(request.id)).status is Status.ESCALATED
        [escalation] = await tx.escalations.of_request(request.id)
        assert await tx.offers.open_for("marie") == []
    assert (escalation.reason, escalation.about) == ("sms_failed", "marie")
    told = await bot.outbox_after(before)
    assert any(m.person_id == "fanny" and "Marie Dupont" in m.text for m in told)
    to_staff = [m for m in told if m.person_id in ("sophie", "karim")]
    assert {m.person_id for m in to_staff} == {"sophie", "karim"}
    assert any("could not be delivered" in m.text for m in to_staff)
    assert any("n'a pas pu être remis" in m.text for m in to_staff)


async def test_a_failed_sms_to_a_member_escalates_nothing(bot: Carebot) -> None:
    request, _ = await _request_to_marie(bot)
    [to_fanny] = [m for m in await bot.outbox_after(0) if m.person_id == "fanny"]
    await _sent_as(bot, to_fanny, "SM" + "d" * 32)
    assert (await _status(bot, "SM" + "d" * 32, "failed")).escalated == 0
    async with bot.db.transaction() as tx:
        assert (await tx.requests.get(request.id)).status is Status.PENDING


async def test_another_failed_sms_to_the_provider_escalates_what_waited(bot: Carebot) -> None:
    """Any later SMS to Marie that fails means she cannot be reached about the request."""
    request, _ = await _request_to_marie(bot)
    async with open_desk(bot.db, bot.clock) as desk:
        marie = await desk.tx.roster.person("marie")
        await desk.send(marie, "Reminder: your session tomorrow.")
    reminder = (await bot.outbox_after(0))[-1]
    await _sent_as(bot, reminder, "SM" + "e" * 32)
    assert (await _status(bot, "SM" + "e" * 32, "undelivered")).escalated == 1
    async with bot.db.transaction() as tx:
        assert (await tx.requests.get(request.id)).status is Status.ESCALATED
