"""The channels' intents: what the outbox senders and the webhooks need, one unit of work each.

The Telegram and SMS adapters call these instead of opening units of work themselves.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta

from bot.app.backend import Backend
from bot.app.same_turn import SameTurn
from bot.domain.agency import Agency, Person
from bot.flows import common
from bot.i18n import normalize_language, use_language
from bot.services.desk import AgencyCache, open_desk
from bot.services.linking import adopt_language, greet_stranger, link_contact
from bot.services.ports import Clock, Leader, OutboxMessage, Retry
from bot.services.sms_delivery import StatusUpdate, number_opted_out, record_status, unreachable


class OutboxIntents:
    """Mixed into Carebot, which provides the database and the clock."""

    db: Backend
    clock: Clock
    agency_cache: AgencyCache
    after_commit: list[Callable[[], Awaitable[None]]]
    sent_marks: SameTurn[tuple[int, str | None]]

    # --- the outbox senders ------------------------------------------------------------

    async def claim_outbox(
        self, channel: str, limit: int, *, owner: str, until: datetime
    ) -> tuple[list[OutboxMessage], bool]:
        """Lease up to `limit` due messages of a channel to `owner` until `until`; and whether
        any due message is left unleased (then the sender claims again as sends land)."""
        async with self.db.transaction() as tx:
            now = self.clock.now()
            batch = await tx.outbox.claim(channel, now, limit, owner=owner, until=until)
            # A full batch may have left more; a short one asks, in the same unit of work.
            more = (bool(batch) and len(batch) >= limit) or await tx.outbox.waiting(channel, now)
            return batch, more

    async def renew_leases(self, owner: str, until: datetime) -> int:
        """Extend every lease `owner` holds."""
        async with self.db.transaction() as tx:
            return await tx.outbox.renew_leases(owner, until)

    async def hold_lease(self, message_id: int, owner: str, until: datetime) -> bool:
        """Extend `owner`'s lease on one message, if it is still theirs."""
        async with self.db.transaction() as tx:
            return await tx.outbox.hold_lease(message_id, owner, until)

    async def release_leases(self, channel: str, owners: Sequence[str]) -> int:
        """End the leases these owners hold on a channel's messages."""
        async with self.db.transaction() as tx:
            return await tx.outbox.release_leases(channel, owners)

    async def give_back(self, message_ids: Sequence[int], owner: str) -> int:
        """Queue again at once the messages `owner` leased and never handed to its transport."""
        if not message_ids:
            return 0
        async with self.db.transaction() as tx:
            return await tx.outbox.give_back(message_ids, owner)

    async def release_gone_leases(self, channel: str, gone: Callable[[str], bool]) -> int:
        """End the leases of the owners `gone` says are dead; how many messages came back."""
        async with self.db.transaction() as tx:
            dead = [o for o in await tx.outbox.lease_owners(channel) if gone(o)]
            return await tx.outbox.release_leases(channel, dead)

    # --- what the workers share: one leader for a task, one budget for a rate ---------------

    async def lead(self, name: str, owner: str, seconds: float) -> Leader:
        """Take or renew the leader lease `name` for `owner` (free, expired or already ours);
        who holds it now."""
        now = self.clock.now()
        async with self.db.transaction() as tx:
            return await tx.coordination.lead(name, owner, now, now + timedelta(seconds=seconds))

    async def leader(self, name: str) -> Leader | None:
        """Who holds the leader lease `name` (possibly expired), or None."""
        async with self.db.read() as tx:
            return await tx.coordination.holder(name)

    async def resign(self, name: str, owner: str) -> None:
        """Give up `owner`'s lease now (a stopping worker), so another takes over at once."""
        async with self.db.transaction() as tx:
            await tx.coordination.resign(name, owner, self.clock.now())

    async def reserve_send(self, key: str, now_ms: int, gap_ms: int) -> int:
        """A slot (Unix ms) in the send budget `key` that every worker shares."""
        async with self.db.transaction() as tx:
            return await tx.coordination.reserve(key, now_ms, gap_ms)

    async def known_external_ids(self, channel: str, external_ids: Sequence[str]) -> set[str]:
        """Which of these provider ids are already recorded against a message."""
        async with self.db.read() as tx:
            return await tx.outbox.known_external_ids(channel, external_ids)

    async def mark_sent(self, message_id: int, external_id: str | None) -> None:
        """A message went out (recorded with the others that landed in the same turn of the
        loop: one unit of work for a burst, where a commit each was a third of a send's cost)."""
        await self.sent_marks.submit((message_id, external_id))

    async def marks_written(self) -> None:
        """Wait for the sent marks under way (a stopping sender: see SameTurn.settled)."""
        await self.sent_marks.settled()

    async def _mark_all_sent(self, sent: list[tuple[int, str | None]]) -> None:
        """Messages went out: (id, provider id) each."""
        async with self.db.transaction() as tx:
            now = self.clock.now()
            for message_id, external_id in sent:
                await tx.outbox.mark_sent(message_id, external_id, now)

    async def mark_retry(self, message_id: int, retry: Retry) -> None:
        """A message is tried again later."""
        async with self.db.transaction() as tx:
            await tx.outbox.mark_retry(message_id, retry)

    async def mark_failed(
        self, message_id: int, error: str, *, dropped: bool = False, owner: str | None = None
    ) -> None:
        """A message will never go out."""
        async with self.db.transaction() as tx:
            await tx.outbox.mark_failed(message_id, error, dropped=dropped, owner=owner)

    # --- Telegram ------------------------------------------------------------------------

    async def staff_group_row(self, key: str) -> int | None:
        """The one row of a staff broadcast that the staff group receives: the first whose
        staff member speaks the agency's language, else the first (deterministic: every
        row's send reaches the same answer without talking to the others)."""
        async with self.db.transaction() as tx:
            rows = [r for r in await tx.outbox.broadcast_rows(key) if r.channel == "telegram"]
            agency = await tx.roster.agency()
            for row in rows:
                if row.person_id is None:
                    continue
                person = await tx.roster.person(row.person_id)
                if normalize_language(person.language, agency.language) == agency.language:
                    return row.id
        return rows[0].id if rows else None

    async def record_telegram_message(self, outbox_id: int, chat_id: int, message_id: int) -> None:
        """Remember which Telegram message carries an outbox row's buttons."""
        async with self.db.transaction() as tx:
            await tx.outbox.record_telegram_message(outbox_id, chat_id, message_id)

    async def telegram_message(
        self, chat_id: int, message_id: int, *, group: bool
    ) -> tuple[OutboxMessage | None, bool]:
        """The outbox row a Telegram message carries, if we sent it, and whether a message
        with buttons to that chat (`group`: the staff group) is being sent right now."""
        address = None if group else str(chat_id)
        async with self.db.read() as tx:
            # In this order: a send seen settled had recorded its message before (the record
            # is made before the settle), so the row is found now if it is that one.
            busy = await tx.outbox.buttons_in_flight("telegram", self.clock.now(), address)
            return await tx.outbox.by_telegram_message(chat_id, message_id), busy

    async def agency_and_person(self, channel: str, address: str) -> tuple[Agency, Person | None]:
        """The agency, and who writes from an address (None: a stranger)."""
        async with self.db.transaction() as tx:
            return await tx.roster.agency(), await tx.roster.by_address(channel, address)

    async def known_sender(self, telegram_id: int, language_code: str | None) -> Person | None:
        """The roster person of a Telegram account (their language adopted), None for others."""
        async with self.db.transaction() as tx:
            person = await tx.roster.by_address("telegram", str(telegram_id))
            if person is not None:
                person = await adopt_language(tx, person, language_code)
        return person

    async def commands_audience(self) -> tuple[Agency, list[Person]]:
        """The agency and the people who get their own Telegram command list."""
        async with self.db.transaction() as tx:
            people = [*await tx.roster.people("provider"), *await tx.roster.people("staff")]
            return await tx.roster.agency(), people

    async def greet(self, update_id: int, telegram_id: int, language_code: str | None) -> None:
        """Someone we do not know wrote: ask for their phone number (once per update)."""
        async with open_desk(self.db, self.clock, self.agency_cache) as desk:
            if await desk.tx.once.first("telegram", str(update_id), desk.now):
                await greet_stranger(desk, telegram_id, language_code)

    async def link_contact(
        self,
        update_id: int,
        *,
        telegram_id: int,
        contact_user_id: int | None,
        phone: str,
        language_code: str | None,
    ) -> tuple[Person | None, str]:
        """A shared contact links the account when it is the sender's own number; the person
        linked (None otherwise) and the agency's language."""
        async with open_desk(self.db, self.clock, self.agency_cache) as desk:
            agency_language = desk.agency.language
            if not await desk.tx.once.first("telegram", str(update_id), desk.now):
                return None, agency_language
            person = await link_contact(
                desk,
                telegram_id=telegram_id,
                contact_user_id=contact_user_id,
                phone=phone,
                language_code=language_code,
            )
            if person is not None:
                with use_language(desk.lang(person)):
                    await common.send_menu(desk, person)
        return person, agency_language

    # --- SMS -----------------------------------------------------------------------------

    async def sms_status(self, external_id: str, status: str) -> StatusUpdate:
        """Record a delivery status Twilio reported."""
        async with open_desk(self.db, self.clock, self.agency_cache) as desk:
            return await record_status(desk, external_id, status)

    async def sms_unreachable(self, message: OutboxMessage) -> int:
        """A message refused for good: what it asked a provider goes to staff."""
        async with open_desk(self.db, self.clock, self.agency_cache) as desk:
            return await unreachable(desk, message)

    async def sms_opted_out(self, message: OutboxMessage) -> Person | None:
        """The number of a message opted out: record it, tell staff; who it was."""
        async with open_desk(self.db, self.clock, self.agency_cache) as desk:
            return await number_opted_out(desk, message)
