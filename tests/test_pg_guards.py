"""The guards that let several workers share one PostgreSQL database, each on two real
connections: what one worker holds in an open transaction, the other must neither take nor
wait for (SKIP LOCKED claims), a person's deliveries are taken in order (lanes), and numbers
drawn at the same moment differ (sequences, counters under a row lock).

Each test holds a transaction open on the first database while the second acts, as two
`carebot run` processes do; removing the guard makes it fail (each was broken once to see it).
These need a PostgreSQL server (see tests/conftest.py): they skip without one.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from bot.clock import VirtualClock
from bot.domain.booking import Request, Status
from bot.services.ports import NewRequest, OutgoingMessage
from storage.postgres import PgDatabase
from storage.repos.unit import UnitOfWork
from tests.conftest import paris, two_carebots

NOW = paris("2026-11-23 10:00")
LATER = NOW + timedelta(minutes=5)
HELD = 0.5  # seconds a step must stay blocked to count as waiting


class Rollback(Exception):
    """Ends a unit of work without committing it."""


@pytest.fixture
async def pair(postgres: str) -> AsyncIterator[tuple[PgDatabase, PgDatabase]]:
    """Two workers' databases (two pools) on one fresh schema with the test agency."""
    async with two_carebots(postgres, VirtualClock(NOW)) as (first, second):
        assert isinstance(first.db, PgDatabase) and isinstance(second.db, PgDatabase)
        yield first.db, second.db


async def _two_queued(db: PgDatabase) -> None:
    """Queue a message to each of two recipients."""
    async with db.transaction() as tx:
        for address in ("+33600000001", "+33600000002"):
            await tx.outbox.enqueue(OutgoingMessage(NOW, None, "sms", address, "hello"))


async def test_an_outbox_row_leased_in_an_open_transaction_is_skipped_not_waited_for(
    pair: tuple[PgDatabase, PgDatabase],
) -> None:
    one, two = pair
    await _two_queued(one)
    until = NOW + timedelta(minutes=1)
    async with one.transaction() as tx:
        mine = await tx.outbox.claim("sms", NOW, 1, owner="one", until=until)
        async with two.transaction() as other:
            theirs = await asyncio.wait_for(
                other.outbox.claim("sms", NOW, 10, owner="two", until=until), HELD
            )
    assert [m.address for m in mine] == ["+33600000001"]
    assert [m.address for m in theirs] == ["+33600000002"]


async def test_a_timer_being_fired_by_one_worker_is_not_due_for_another(
    pair: tuple[PgDatabase, PgDatabase],
) -> None:
    one, two = pair
    async with one.transaction() as tx:
        await tx.timers.add("test_kind", NOW - timedelta(minutes=2))
        await tx.timers.add("test_kind", NOW - timedelta(minutes=1))
    async with one.transaction() as tx:
        [first] = await tx.timers.due(NOW, 1)
        assert await tx.timers.claim(first.id, NOW)
        async with two.transaction() as other:
            seen = await asyncio.wait_for(other.timers.due(NOW, 10), HELD)
            assert first.id not in [t.id for t in seen]
            assert all([await other.timers.claim(t.id, NOW) for t in seen])
    async with one.read() as tx:
        assert await tx.timers.due(NOW, 10) == []


async def _take(db: PgDatabase) -> tuple[str, str, str, str] | None:
    """What a worker would take next, without keeping it (rolled back)."""
    try:
        async with db.transaction() as tx:
            found = await tx.inbox.take_next(NOW)
            raise Rollback(found)
    except Rollback as done:
        taken: tuple[str, str, str, str] | None = done.args[0]
        return taken


async def test_a_persons_next_message_waits_while_another_worker_handles_their_last(
    pair: tuple[PgDatabase, PgDatabase],
) -> None:
    one, two = pair
    async with one.transaction() as tx:
        for sid, address in (("A1", "+33600000001"), ("A2", "+33600000001"), ("B1", "+336002")):
            assert await tx.inbox.accept("sms", sid, address, "{}", NOW)
    async with one.transaction() as tx:
        taken = await tx.inbox.take_next(NOW)
        assert taken is not None and taken[1] == "A1"
        # Bob's message may go ahead; Alice's second must wait for her first.
        found = await asyncio.wait_for(_take(two), HELD)
        assert found is not None and found[1] == "B1"
        async with two.transaction() as other:
            assert (await other.inbox.take_next(NOW) or ("", ""))[1] == "B1"
            assert await asyncio.wait_for(other.inbox.take_next(NOW), HELD) is None
    found = await _take(two)
    assert found is not None and found[1] == "A2"


async def test_a_persons_messages_accepted_by_two_workers_commit_in_number_order(
    pair: tuple[PgDatabase, PgDatabase],
) -> None:
    one, two = pair

    async def accept_on_two(sid: str) -> bool:
        async with two.transaction() as tx:
            return await tx.inbox.accept("sms", sid, "+33600000001", "{}", NOW)

    async with one.transaction() as tx:
        assert await tx.inbox.accept("sms", "A1", "+33600000001", "{}", NOW)
        later = asyncio.create_task(accept_on_two("A2"))
        duplicate = asyncio.create_task(accept_on_two("A1"))
        await asyncio.sleep(HELD)
        # A2 drew no number yet: it waits for A1's commit, so nobody can take A2 before A1.
        assert not later.done() and not duplicate.done()
        assert await _take(two) is None
    assert await later
    assert not await duplicate  # the same delivery at two workers: stored once
    found = await _take(two)
    assert found is not None and found[1] == "A1"


async def _add_request(tx: UnitOfWork, hours: int = 0) -> Request:
    """A pending cleaning for Bob, `hours` after Wednesday 10:00."""
    start = paris("2026-11-25 10:00") + timedelta(hours=hours)
    return await tx.requests.add(
        NewRequest(
            member_id="bob",
            service_id="cleaning",
            start=start,
            end=start + timedelta(hours=1),
            status=Status.PENDING,
            provider_id=None,
            price=Decimal(20),
            fee=Decimal(0),
        ),
        NOW,
    )


async def test_two_workers_adding_a_request_for_one_member_get_two_numbers(
    pair: tuple[PgDatabase, PgDatabase],
) -> None:
    one, two = pair

    async def add_on_two() -> int:
        async with two.transaction() as tx:
            return (await _add_request(tx, 2)).member_seq

    async with one.transaction() as tx:
        first = await _add_request(tx)
        second = asyncio.create_task(add_on_two())
        await asyncio.sleep(HELD)
    assert await second == first.member_seq + 1


async def test_a_request_read_to_be_changed_waits_for_the_other_workers_change(
    pair: tuple[PgDatabase, PgDatabase],
) -> None:
    one, two = pair
    async with one.transaction() as tx:
        request = await _add_request(tx)

    async def read_on_two() -> datetime:
        async with two.transaction() as tx:
            return (await tx.requests.get(request.id)).start

    later = request.start + timedelta(hours=3)
    async with one.transaction() as tx:
        await tx.requests.get(request.id)
        seen = asyncio.create_task(read_on_two())
        await asyncio.sleep(HELD)
        assert not seen.done()
        await tx.requests.move(request.id, later, later + timedelta(hours=1), NOW)
    assert await seen == later


async def test_a_commit_that_adds_work_wakes_the_other_workers_not_itself(
    pair: tuple[PgDatabase, PgDatabase],
) -> None:
    one, two = pair
    woken: dict[str, list[str]] = {"one": [], "two": []}
    all_three = asyncio.Event()

    def wake_two(kind: str) -> None:
        woken["two"].append(kind)
        if len(woken["two"]) >= 3:
            all_three.set()

    await one.listen(woken["one"].append)
    await two.listen(wake_two)
    async with one.transaction() as tx:
        assert await tx.inbox.accept("sms", "A1", "+33600000001", "{}", NOW)
        await tx.outbox.enqueue(OutgoingMessage(NOW, None, "sms", "+33600000001", "hello"))
        assert woken["two"] == []  # not before the commit
    async with one.transaction() as tx:
        await tx.timers.add("test_kind", NOW)
    async with one.transaction() as tx:
        await tx.roster.agency()  # adds nothing: tells nobody

    await asyncio.wait_for(all_three.wait(), 5)
    await asyncio.sleep(0.2)
    assert sorted(woken["two"]) == ["inbound", "outbox", "timers"]
    assert woken["one"] == []


async def test_leases_given_back_or_released_wake_the_other_workers(
    pair: tuple[PgDatabase, PgDatabase],
) -> None:
    """A stopping worker's messages are free at once: the others hear it (NOTIFY) rather
    than find them at their next poll. Ending no lease tells nobody."""
    one, two = pair
    woken: list[str] = []
    await two.listen(woken.append)
    async with one.transaction() as tx:
        for text in ("a", "b"):
            await tx.outbox.enqueue(OutgoingMessage(NOW, None, "sms", f"+3360000000{text}", text))
    async with one.transaction() as tx:
        first, second = await tx.outbox.claim("sms", NOW, 10, owner="w", until=LATER)
    await asyncio.sleep(0.3)
    woken.clear()
    async with one.transaction() as tx:
        assert await tx.outbox.give_back([first.id], "w") == 1
    await _heard(woken, ["outbox"])
    async with one.transaction() as tx:
        assert await tx.outbox.release_leases("sms", ["w"]) == 1
    await _heard(woken, ["outbox", "outbox"])
    async with one.transaction() as tx:
        assert await tx.outbox.release_leases("sms", ["nobody"]) == 0
        assert await tx.outbox.give_back([first.id], "w") == 0
    await asyncio.sleep(0.3)
    assert woken == ["outbox", "outbox"]
    assert second.id != first.id


async def _heard(woken: list[str], expected: list[str]) -> None:
    """Wait (up to 5 s) until the notifications heard are `expected`."""
    for _ in range(500):
        if woken == expected:
            return
        await asyncio.sleep(0.01)
    assert woken == expected


async def test_renewing_leases_skips_a_row_being_marked_sent_instead_of_waiting(
    pair: tuple[PgDatabase, PgDatabase],
) -> None:
    """A batch of sent marks holds its rows until it commits; a renewal (or a release) going
    through the same worker's rows in another order would wait for them: a deadlock."""
    one, two = pair
    await _two_queued(one)
    until = NOW + timedelta(minutes=1)
    async with one.transaction() as tx:
        leased = await tx.outbox.claim("sms", NOW, 10, owner="w", until=until)
    assert len(leased) == 2
    async with one.transaction() as tx:
        await tx.outbox.mark_sent(leased[0].id, "SM1", NOW)  # held until this commit
        async with two.transaction() as other:
            renewed = await asyncio.wait_for(other.outbox.renew_leases("w", until), HELD)
            released = await asyncio.wait_for(other.outbox.release_leases("sms", ["w"]), HELD)
    assert (renewed, released) == (1, 1)
