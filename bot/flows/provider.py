"""What providers type or tap: answers to requests (check-in incidents come with §2)."""

from __future__ import annotations

from bot.domain.agency import Provider
from bot.i18n import tr
from bot.nlu.replies import parse_reply
from bot.services.actions import action
from bot.services.booking import answer_offer, describe
from bot.services.desk import Desk, Option


async def on_text(desk: Desk, provider: Provider, text: str) -> bool:
    """A typed reply ('OUI', 'no, not available'); False when it is not an answer."""
    reply = parse_reply(text, desk.lang(provider))
    if reply.intent not in ("confirm", "decline"):
        return False
    offers = await desk.tx.open_offers(provider.id)
    lang = desk.lang(provider)
    if not offers:
        await desk.send(provider, tr(lang, "No request is waiting for your answer."))
    elif len(offers) == 1:
        await answer_offer(desk, provider, offers[0], reply.intent == "confirm")
    else:
        # Two requests wait: ask which one rather than guess.
        verb = "y" if reply.intent == "confirm" else "n"
        options: list[Option] = []
        for offer in offers:
            request = await desk.tx.request(offer.request_id)
            options.append((describe(desk, request, lang), action("oa", offer.id, verb)))
        await desk.send(
            provider, tr(lang, "Several requests are waiting. Which one do you mean?"), options
        )
    return True


async def on_answer(desk: Desk, provider: Provider, offer_id: str, verb: str) -> None:
    """A tapped Yes/No on a request (or its number on SMS)."""
    offer = await desk.tx.offer(int(offer_id)) if offer_id.isdigit() else None
    if offer is None or offer.provider_id != provider.id or verb not in ("y", "n"):
        await desk.send(provider, tr(desk.lang(provider), "This choice is no longer available."))
        return
    await answer_offer(desk, provider, offer, verb == "y")
