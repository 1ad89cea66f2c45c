"""§4.3 what staff see before approving a change: the provider's reason when they cannot."""

from __future__ import annotations

from bot.app import Carebot
from bot.flows.router import Text


async def test_a_service_the_provider_does_not_offer_is_said(bot: Carebot) -> None:
    for message in ("childcare on Wednesday 25 November 9am to 11am", "Marie", "1"):
        await bot.receive_from("bob", Text(message))
    await bot.receive_from("marie", Text("oui"))
    before = await bot.last_outbox_id()
    # Change -> the booking -> Service -> Massage (Marie offers childcare and cleaning) -> send.
    for message in ("change booking", "1", "2", "Massage", "1"):
        await bot.receive_from("bob", Text(message))
    sent = {m.person_id: m.text for m in await bot.outbox_after(before)}
    assert "New price: €120.00 (was €36.00)." in sent["karim"]
    assert "Marie Dupont does not offer this service." in sent["karim"]
    assert "Approving it releases them" in sent["karim"]
