"""What the carrier tells us about SMS we sent: statuses in order, and failures handed to staff.

A request put to a provider by SMS waits for their answer until a deadline; when the SMS
never reached them, waiting is pointless, so the request goes to staff at once, as if the
deadline had passed (reason "sms_failed").
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.domain.agency import Person, Provider
from bot.domain.booking import Status
from bot.services.actions import Action, Verb, unpack
from bot.services.asking import ANSWER_DEADLINE
from bot.services.booking import provider_unavailable
from bot.services.desk import Desk
from bot.services.optout import opt_out
from bot.services.ports import Offer, OutboxMessage

log = logging.getLogger(__name__)

# Twilio's message statuses in the order a message goes through them. A callback never moves
# a message back (a late "sent" after "delivered" is ignored) and the first final one stays.
PROGRESS = {
    "accepted": 0,
    "scheduled": 0,
    "queued": 0,
    "sending": 1,
    "sent": 2,
    "delivered": 3,
    "undelivered": 3,
    "failed": 3,
    "canceled": 3,
    "read": 4,
}
FAILED = frozenset({"undelivered", "failed"})


@dataclass(frozen=True)
class StatusUpdate:
    """What one status callback changed."""

    known: bool  # a message of ours has this id
    recorded: bool  # the status moved the message forward
    escalated: int = 0  # requests handed to staff because the SMS failed


def is_status(status: str) -> bool:
    """Whether this is a message status we know how to order."""
    return status in PROGRESS


async def record_status(desk: Desk, external_id: str, status: str) -> StatusUpdate:
    """Record a status callback in order; a failure about a pending request escalates it."""
    rank = PROGRESS[status]
    earlier = [name for name, other in PROGRESS.items() if other < rank]
    found = await desk.tx.outbox.advance_delivery(external_id, status, earlier)
    if found is None:
        return StatusUpdate(known=False, recorded=False)
    message, recorded = found
    escalated = 0
    if recorded and status in FAILED:
        escalated = await unreachable(desk, message)
    return StatusUpdate(known=True, recorded=recorded, escalated=escalated)


async def unreachable(desk: Desk, message: OutboxMessage) -> int:
    """A message to a provider was not delivered: the requests awaiting their answer go to staff.

    The requests are those the message put to them (its Yes/No options), or, for any other
    message, those already waiting when it was written. Returns how many were escalated.
    """
    if message.person_id is None:
        return 0
    provider = await desk.tx.roster.person(message.person_id)
    if not isinstance(provider, Provider):
        return 0
    escalated = 0
    for offer in await _offers_about(desk, message, provider):
        # The same claim as the answer deadline's: whichever comes first acts, once.
        if not await desk.tx.offers.answer(offer.id, "timeout", desk.now):
            continue
        await desk.tx.timers.cancel(offer.request_id, [ANSWER_DEADLINE])
        request = await desk.tx.requests.get(offer.request_id)
        if request.status is not Status.PENDING or request.provider_id != provider.id:
            continue
        log.warning("request %s escalated: SMS %s to its provider failed", request.id, message.id)
        await provider_unavailable(desk, request, provider, "sms_failed")
        escalated += 1
    return escalated


async def _offers_about(desk: Desk, message: OutboxMessage, provider: Provider) -> list[Offer]:
    """Open offers a message was about: named by its options, else all older ones."""
    waiting = await desk.tx.offers.open_for(provider.id)
    named = set()
    for _, packed in message.options:
        act = unpack(packed)
        if isinstance(act, Action) and act.verb is Verb.ANSWER_OFFER:
            named.add(act.number(0))
    if named:
        return [offer for offer in waiting if offer.id in named]
    return [offer for offer in waiting if offer.sent_at <= message.created_at]


async def number_opted_out(desk: Desk, message: OutboxMessage) -> Person | None:
    """The carrier refused a message because the number opted out (Twilio 21610).

    The person is marked opted out (staff are told), and what waited for them goes to staff.
    """
    person = await desk.tx.roster.by_address("sms", message.address)
    if person is None and message.person_id is not None:
        person = await desk.tx.roster.person(message.person_id)
    if person is None:
        return None
    await opt_out(desk, person)
    await unreachable(desk, message)
    return person
