"""Messages the bot decided to send: queued with the unit of work, leased by senders."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime

from bot.services import ports
from bot.services.ports import OutboxMessage
from storage.codec import not_before
from storage.repos import rows
from storage.repos.sql import Executor, Repository, marks
from storage.repos.timers import Writes

# A lease that ended long ago: a released row is free to take at once.
_EXPIRED = datetime(1970, 1, 1, tzinfo=UTC)


# What may be leased: queued, not leased (or its lease expired), due, and the oldest queued row
# of its recipient (one at a time per recipient keeps their order).
_LEASABLE = (
    "AND (o.in_flight = 0 OR o.lease_until <= ?) "
    "AND (o.next_attempt_at IS NULL OR o.next_attempt_at <= ?) "
)
# SQLite asks of each queued row, in id order, whether an older one of its recipient is queued:
# a probe of the (channel, state, id) index that stops at the first older row, and a scan that
# stops at the LIMIT.
_OLDEST_SQLITE = (
    "SELECT o.id FROM outbox o WHERE o.channel = ? AND o.state = 'queued' "
    f"{_LEASABLE}"
    "AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.channel = o.channel AND "
    "e.address = o.address AND e.state = 'queued' AND e.id < o.id) "
    "ORDER BY o.id LIMIT ?"
)
# PostgreSQL plans that NOT EXISTS as a hash anti-join whose `e.id < o.id` filter walks the
# recipient's whole bucket for each row: quadratic in what one recipient has queued (10,000
# arrival prompts to 6 providers: 0.9 s a claim). One pass over the queued rows for each
# recipient's oldest (MIN per address) is linear (5 ms there).
_OLDEST_POSTGRESQL = (
    "SELECT o.id FROM outbox o WHERE o.id IN (SELECT MIN(h.id) FROM outbox h "
    "WHERE h.channel = ? AND h.state = 'queued' GROUP BY h.address) "
    f"{_LEASABLE}"
    "ORDER BY o.id LIMIT ?"
)
_LEASE = (
    "UPDATE outbox SET unsure_since = CASE WHEN in_flight = 1 THEN "
    "COALESCE(unsure_since, attempted_at, created_at) ELSE unsure_since END, "
    "in_flight = 1, attempts = attempts + 1, lease_owner = ?, lease_until = ?, "
    "attempted_at = ? WHERE id IN "
)
# One statement on both engines. On PostgreSQL, rows another worker is leasing at this very
# moment are skipped (SKIP LOCKED), and the lease conditions are checked again on the row as
# it is once locked: a worker never takes a row another live worker holds. The pick is a
# MATERIALIZED CTE: as an IN (subquery) the planner may run the LIMIT more than once, and
# lease more rows than asked.
_CLAIM = {
    "sqlite": f"{_LEASE}({_OLDEST_SQLITE}) RETURNING *",
    "postgresql": (
        f"WITH picked AS MATERIALIZED ({_OLDEST_POSTGRESQL} FOR UPDATE SKIP LOCKED) "
        f"{_LEASE}(SELECT id FROM picked) AND state = 'queued' "
        "AND (in_flight = 0 OR lease_until <= ?) RETURNING *"
    ),
}


def _held(owner: str | None) -> tuple[str, tuple[str, ...]]:
    """The condition (and its argument) that a settle applies only while `owner` still holds
    the row's lease; none without an owner."""
    return ("", ()) if owner is None else (" AND lease_owner = ?", (owner,))


class Outbox(Repository, ports.Outbox):
    """The outbox and telegram_messages tables; counts its queued rows in `writes` (NOTIFY)."""

    def __init__(self, sql: Executor, writes: Writes) -> None:
        super().__init__(sql)
        self._writes = writes

    async def enqueue(self, message: ports.OutgoingMessage) -> int:
        self._writes.outbox += 1
        options = message.options
        return await self.sql.insert(
            "INSERT INTO outbox (created_at, person_id, channel, address, text, options_json, "
            "broadcast, state) VALUES (?, ?, ?, ?, ?, ?, ?, CASE WHEN ? = 'sms' AND EXISTS "
            "(SELECT 1 FROM people WHERE id = ? AND opted_out = 1) THEN 'dropped' "
            "ELSE 'queued' END)",
            (
                message.at,
                message.person_id,
                message.channel,
                message.address,
                message.text,
                json.dumps([list(o) for o in options], ensure_ascii=False) if options else None,
                message.broadcast,
                message.channel,
                message.person_id,
            ),
        )

    async def after(self, after_id: int) -> list[OutboxMessage]:
        return await self.all_as(
            rows.outbox,
            "SELECT * FROM outbox WHERE id > ? AND state != 'dropped' ORDER BY id",
            (after_id,),
        )

    async def last_id(self) -> int:
        row = await self.sql.one("SELECT COALESCE(MAX(id), 0) AS m FROM outbox")
        return int(row["m"]) if row else 0

    async def last_to(self, person_id: str) -> OutboxMessage | None:
        return await self.one_as(
            rows.outbox,
            "SELECT * FROM outbox WHERE person_id = ? ORDER BY id DESC LIMIT 1",
            (person_id,),
        )

    async def last_with_options_to(self, person_id: str) -> OutboxMessage | None:
        return await self.one_as(
            rows.outbox,
            "SELECT * FROM outbox WHERE person_id = ? AND options_json IS NOT NULL "
            "ORDER BY id DESC LIMIT 1",
            (person_id,),
        )

    async def claim(
        self, channel: str, now: datetime, limit: int, *, owner: str, until: datetime
    ) -> list[OutboxMessage]:
        # An expired lease: its holder died (or lost the database) somewhere between claim and
        # settle, so whether that attempt went out is unknown.
        lease = (owner, not_before(until), now)
        pick = (channel, now, now, limit)
        if self.sql.dialect == "postgresql":
            args: tuple[object, ...] = (*pick, *lease, now)
        else:
            args = (*lease, *pick)
        taken = await self.sql.all(_CLAIM[self.sql.dialect], args)
        return sorted((rows.outbox(r) for r in taken), key=lambda m: m.id)

    async def waiting(self, channel: str, now: datetime) -> bool:
        row = await self.sql.one(
            "SELECT EXISTS (SELECT 1 FROM outbox WHERE channel = ? AND state = 'queued' "
            "AND in_flight = 0 AND (next_attempt_at IS NULL OR next_attempt_at <= ?)) AS w",
            (channel, now),
        )
        return bool(row and row["w"])

    async def renew_leases(self, owner: str, until: datetime) -> int:
        return await self.sql.run(
            "UPDATE outbox SET lease_until = ? WHERE "
            + self._unlocked("in_flight = 1 AND lease_owner = ?"),
            (not_before(until), owner),
        )

    async def hold_lease(self, message_id: int, owner: str, until: datetime) -> bool:
        changed = await self.sql.run(
            "UPDATE outbox SET lease_until = ? WHERE id = ? AND in_flight = 1 AND lease_owner = ?",
            (not_before(until), message_id, owner),
        )
        return changed == 1

    async def lease_owners(self, channel: str) -> list[str]:
        found = await self.sql.all(
            "SELECT DISTINCT lease_owner FROM outbox WHERE in_flight = 1 AND channel = ? "
            "AND lease_owner IS NOT NULL",
            (channel,),
        )
        return [str(r["lease_owner"]) for r in found]

    async def release_leases(self, channel: str, owners: Sequence[str]) -> int:
        if not owners:
            return 0
        return self._freed(
            await self.sql.run(
                "UPDATE outbox SET lease_until = ? WHERE "
                + self._unlocked(
                    f"in_flight = 1 AND channel = ? AND lease_owner IN ({marks(len(owners))})"
                ),
                (_EXPIRED, channel, *owners),
            )
        )

    async def give_back(self, message_ids: Sequence[int], owner: str) -> int:
        if not message_ids:
            return 0
        # Not an attempt: the count goes back, and so does an unknown outcome it had before.
        return self._freed(
            await self.sql.run(
                "UPDATE outbox SET in_flight = 0, attempts = attempts - 1, lease_owner = NULL, "
                "lease_until = NULL WHERE "
                + self._unlocked(
                    f"id IN ({marks(len(message_ids))}) AND in_flight = 1 AND lease_owner = ? "
                    "AND state = 'queued'"
                ),
                (*message_ids, owner),
            )
        )

    def _freed(self, count: int) -> int:
        """`count` rows became free to claim: the commit wakes the senders (NOTIFY on
        PostgreSQL), which would otherwise find them at their next poll."""
        if count:
            self._writes.outbox += 1
        return count

    def _unlocked(self, where: str) -> str:
        """`where`, for a statement over many rows of the outbox that must not wait for rows
        another unit of work holds. On PostgreSQL a batch of sent marks holds its rows, one
        by one in the order the sends landed, while a lease renewal or release goes through
        the same rows in another order: waiting there is a deadlock. Skipping is right: a
        row being marked sent needs no renewal, nor a release. (SQLite's writers take turns.)"""
        if self.sql.dialect == "sqlite":
            return where
        return f"id IN (SELECT id FROM outbox WHERE {where} FOR UPDATE SKIP LOCKED)"

    async def known_external_ids(self, channel: str, external_ids: Sequence[str]) -> set[str]:
        if not external_ids:
            return set()
        found = await self.sql.all(
            f"SELECT external_id FROM outbox WHERE channel = ? AND external_id IN "
            f"({marks(len(external_ids))})",
            (channel, *external_ids),
        )
        return {str(r["external_id"]) for r in found}

    async def mark_sent(self, message_id: int, external_id: str | None, at: datetime) -> None:
        await self.sql.run(
            "UPDATE outbox SET state = 'sent', in_flight = 0, sent_at = ?, external_id = ?, "
            "last_error = NULL, lease_owner = NULL, lease_until = NULL WHERE id = ?",
            (at, external_id, message_id),
        )

    async def mark_retry(self, message_id: int, retry: ports.Retry) -> None:
        unsure = "COALESCE(unsure_since, attempted_at)" if retry.unknown else "unsure_since"
        held, args = _held(retry.owner)
        await self.sql.run(
            "UPDATE outbox SET in_flight = 0, next_attempt_at = ?, last_error = ?, "
            "attempts = attempts - ?, lease_owner = NULL, lease_until = NULL, "
            f"unsure_since = {unsure} WHERE id = ? AND state = 'queued'{held}",
            (
                not_before(retry.when),
                retry.error[:500],
                0 if retry.counted else 1,
                message_id,
                *args,
            ),
        )

    async def mark_failed(
        self, message_id: int, error: str, *, dropped: bool = False, owner: str | None = None
    ) -> None:
        held, args = _held(owner)
        await self.sql.run(
            "UPDATE outbox SET state = ?, in_flight = 0, last_error = ?, lease_owner = NULL, "
            f"lease_until = NULL WHERE id = ? AND state = 'queued'{held}",
            ("dropped" if dropped else "failed", error[:500], message_id, *args),
        )

    async def broadcast_rows(self, key: str) -> list[OutboxMessage]:
        return await self.all_as(
            rows.outbox, "SELECT * FROM outbox WHERE broadcast = ? ORDER BY id", (key,)
        )

    async def advance_delivery(
        self, external_id: str, status: str, over: Sequence[str]
    ) -> tuple[OutboxMessage, bool] | None:
        earlier = f" OR delivery IN ({marks(len(over))})" if over else ""
        count = await self.sql.run(
            f"UPDATE outbox SET delivery = ? WHERE external_id = ? AND "
            f"(delivery IS NULL{earlier})",
            (status, external_id, *over),
        )
        row = await self.sql.one(
            "SELECT * FROM outbox WHERE external_id = ? ORDER BY id LIMIT 1", (external_id,)
        )
        return None if row is None else (rows.outbox(row), count > 0)

    async def record_telegram_message(self, outbox_id: int, chat_id: int, message_id: int) -> None:
        # Either key may already be taken (a row re-sent, a message id reused): replace it.
        await self.sql.run(
            "DELETE FROM telegram_messages WHERE chat_id = ? AND message_id = ? "
            "AND outbox_id != ?",
            (chat_id, message_id, outbox_id),
        )
        await self.sql.run(
            "INSERT INTO telegram_messages (outbox_id, chat_id, message_id) VALUES (?, ?, ?) "
            "ON CONFLICT (outbox_id) DO UPDATE SET chat_id = excluded.chat_id, "
            "message_id = excluded.message_id",
            (outbox_id, chat_id, message_id),
        )

    async def buttons_in_flight(self, channel: str, now: datetime, address: str | None) -> bool:
        to = "address = ?" if address is not None else "broadcast IS NOT NULL"
        found = await self.sql.one(
            "SELECT 1 AS x FROM outbox WHERE channel = ? AND state = 'queued' AND in_flight = 1 "
            f"AND lease_until > ? AND options_json IS NOT NULL AND {to} LIMIT 1",
            (channel, now, *([address] if address is not None else [])),
        )
        return found is not None

    async def by_telegram_message(self, chat_id: int, message_id: int) -> OutboxMessage | None:
        return await self.one_as(
            rows.outbox,
            "SELECT o.* FROM outbox o JOIN telegram_messages t ON "
            "t.outbox_id = o.id WHERE t.chat_id = ? AND t.message_id = ?",
            (chat_id, message_id),
        )
