"""What services ask of storage about outbox (storage/repos/outbox.py implements it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.services.ports.records import (
    OutboxMessage,
)


@dataclass(frozen=True)
class OutgoingMessage:
    """A message to queue: to whom, on which channel and address, saying what."""

    at: datetime
    person_id: str | None  # None: someone not on the roster (yet)
    channel: str
    address: str
    text: str
    options: tuple[tuple[str, str], ...] = ()  # (label, packed action)
    broadcast: str | None = None  # shared by the rows of one staff notification


@dataclass(frozen=True)
class Retry:
    """A failed attempt to make again at `when`, and how it counts."""

    when: datetime
    error: str
    counted: bool = True  # False: a rate limit (429), which is not an attempt
    unknown: bool = False  # the request may have gone out: asked about before the next send
    owner: str | None = None  # only while this worker still holds the lease


class Outbox(Protocol):
    """The outbox and what each transport recorded about its rows."""

    async def enqueue(self, message: OutgoingMessage) -> int:
        """Queue a message to send; it leaves with this transaction's commit or not at all.

        An SMS to an opted-out number is stored as dropped, never sent.
        """
        ...

    async def after(self, after_id: int) -> list[OutboxMessage]:
        """Messages queued after a given id, in order."""
        ...

    async def last_id(self) -> int:
        """The id of the newest queued message (0 when none)."""
        ...

    async def last_to(self, person_id: str) -> OutboxMessage | None:
        """The newest message queued for a person."""
        ...

    async def last_with_options_to(self, person_id: str) -> OutboxMessage | None:
        """The newest message queued for a person that had options."""
        ...

    async def claim(
        self, channel: str, now: datetime, limit: int, *, owner: str, until: datetime
    ) -> list[OutboxMessage]:
        """Lease queued messages that are due to `owner` until `until`, the oldest per recipient
        only (order is kept); a row whose lease expired is taken back, its outcome unknown."""
        ...

    async def waiting(self, channel: str, now: datetime) -> bool:
        """Whether a queued message of a channel is due and leased by nobody (one held back
        behind an older message of its recipient too)."""
        ...

    async def renew_leases(self, owner: str, until: datetime) -> int:
        """Extend the leases `owner` holds (it is alive and still sending them)."""
        ...

    async def hold_lease(self, message_id: int, owner: str, until: datetime) -> bool:
        """Extend `owner`'s lease on one message; False when the message is no longer theirs
        (settled, or its lease lapsed and another worker took it)."""
        ...

    async def lease_owners(self, channel: str) -> list[str]:
        """The workers holding leases on a channel's rows."""
        ...

    async def release_leases(self, channel: str, owners: Sequence[str]) -> int:
        """End the leases of workers known to be gone: their rows may be taken at once."""
        ...

    async def give_back(self, message_ids: Sequence[int], owner: str) -> int:
        """Messages `owner` leased and never handed to its transport (a stopping sender):
        queued again at once, the attempt not counted; how many."""
        ...

    async def known_external_ids(self, channel: str, external_ids: Sequence[str]) -> set[str]:
        """Which of these provider ids are already recorded on a row of ours."""
        ...

    async def mark_sent(self, message_id: int, external_id: str | None, at: datetime) -> None:
        """A transport accepted the message (whoever holds its lease now: it went out)."""
        ...

    async def mark_retry(self, message_id: int, retry: Retry) -> None:
        """Try again later (5xx, timeout, 429); an uncounted try (a 429) is not an attempt; an
        `unknown` outcome (the request may have gone out) is checked before the next send.
        With an `owner`, only while it still holds the lease (else its new holder decides)."""
        ...

    async def mark_failed(
        self, message_id: int, error: str, *, dropped: bool = False, owner: str | None = None
    ) -> None:
        """Give up on a message (a permanent error), or drop it (opted out, merged); with an
        `owner`, only while it still holds the lease."""
        ...

    async def broadcast_rows(self, key: str) -> list[OutboxMessage]:
        """Every row of one staff notification."""
        ...

    async def advance_delivery(
        self, external_id: str, status: str, over: Sequence[str]
    ) -> tuple[OutboxMessage, bool] | None:
        """Record a carrier's status only over none or one of `over` (earlier ones).

        None when no message has this id; else the message and whether the status was recorded.
        """
        ...

    async def record_telegram_message(self, outbox_id: int, chat_id: int, message_id: int) -> None:
        """Remember which Telegram message carries an outbox row's buttons."""
        ...

    async def buttons_in_flight(self, channel: str, now: datetime, address: str | None) -> bool:
        """Whether a message with buttons is leased to a live sender right now (its send may be
        under way, its record not made yet): to `address`, or with None, a staff broadcast."""
        ...

    async def by_telegram_message(self, chat_id: int, message_id: int) -> OutboxMessage | None:
        """The outbox row a Telegram message was sent for."""
        ...
