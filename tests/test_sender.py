"""The outbox pipeline: a stuck send holds back only its own recipient, order is kept."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import pytest

from bot.app import Carebot
from bot.clock import VirtualClock
from bot.handlers.delivery import Delivery, LeaseLost, Sender, check_fence
from bot.services.ports import OutboxMessage, OutgoingMessage, Retry
from tests.conftest import sqlite_file
from tests.leases import Skewed, count_holds, skew


class SlowFor:
    """A transport that holds every send to one address until released."""

    channel = "sms"

    def __init__(self, stuck: str) -> None:
        self.stuck = stuck
        self.release = asyncio.Event()
        self.sent: list[tuple[str, str]] = []

    async def send(self, message: OutboxMessage, idempotency_key: str) -> Delivery:
        if message.address == self.stuck:
            await self.release.wait()
        self.sent.append((message.address, message.text))
        return Delivery("sent", external_id=idempotency_key)


async def _queue(bot: Carebot, messages: list[tuple[str, str]]) -> None:
    async with bot.db.transaction() as tx:
        for address, text in messages:
            await tx.outbox.enqueue(OutgoingMessage(bot.clock.now(), None, "sms", address, text))


async def _until(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition never met")


async def test_a_stuck_send_holds_back_only_its_own_recipient(bot: Carebot) -> None:
    transport = SlowFor("+33600000001")
    sender = Sender(bot, transport, window=8)
    await _queue(bot, [("+33600000001", "stuck 1"), ("+33600000001", "stuck 2")])
    await sender.start()
    try:
        await asyncio.sleep(0.05)  # the stuck send is in flight
        # Messages committed while it hangs go out: the sender does not wait for a batch.
        await _queue(bot, [(f"+3360000010{i}", f"other {i}") for i in range(5)])
        sender.wake()
        await _until(lambda: len(transport.sent) == 5)
        assert all(text.startswith("other") for _, text in transport.sent)
        transport.release.set()
        await _until(lambda: len(transport.sent) == 7)
        # The recipient's own messages kept their order behind the one that hung.
        assert [t for a, t in transport.sent if a == "+33600000001"] == ["stuck 1", "stuck 2"]
    finally:
        await sender.stop()


async def test_no_more_than_the_window_is_in_flight(bot: Carebot) -> None:
    transport = SlowFor("")
    flying = 0
    most = 0

    async def send(message: OutboxMessage, idempotency_key: str) -> Delivery:
        nonlocal flying, most
        flying += 1
        most = max(most, flying)
        await asyncio.sleep(0.01)
        flying -= 1
        transport.sent.append((message.address, message.text))
        return Delivery("sent", external_id=idempotency_key)

    transport.send = send  # type: ignore[method-assign]
    await _queue(bot, [(f"+336000002{i:02d}", f"m{i}") for i in range(40)])
    sender = Sender(bot, transport, window=8)
    await sender.start()
    try:
        await _until(lambda: len(transport.sent) == 40)
        assert 2 <= most <= 8
    finally:
        await sender.stop()


def settled_attempts(bot: Carebot) -> int:
    """Attempts made on the only outbox row once settled, else 0 (straight from the file)."""
    with sqlite3.connect(sqlite_file(bot.db)) as conn:
        row = conn.execute("SELECT attempts FROM outbox WHERE in_flight = 0").fetchone()
    return int(row[0]) if row else 0


class AlwaysDown:
    """A transport whose service answers 5xx for ever."""

    channel = "sms"

    async def send(self, message: OutboxMessage, idempotency_key: str) -> Delivery:
        return Delivery("retry", error="503 from the fake")


async def test_giving_up_after_the_last_attempt_is_reported_once(
    bot: Carebot, clock: VirtualClock
) -> None:
    gave_up: list[OutboxMessage] = []

    async def report(message: OutboxMessage) -> None:
        gave_up.append(message)

    await _queue(bot, [("+33600000301", "never delivered")])
    sender = Sender(bot, AlwaysDown(), max_attempts=2, poll_seconds=0.2, on_gave_up=report)
    await sender.start()
    try:
        await _until(lambda: settled_attempts(bot) == 1)
        assert not gave_up
        clock.advance(timedelta(seconds=3))  # past the first backoff (2 s)
        sender.wake()
        await _until(lambda: bool(gave_up))
        clock.advance(timedelta(hours=1))
        sender.wake()
        await asyncio.sleep(0.3)
        assert [m.text for m in gave_up] == ["never delivered"]
        assert [(m.text, m.state, m.attempts) for m in await bot.outbox_after(0)] == [
            ("never delivered", "failed", 2)
        ]
    finally:
        await sender.stop()


async def test_a_live_lease_is_never_taken_and_an_expired_one_comes_back_unsure(
    bot: Carebot, clock: VirtualClock
) -> None:
    await _queue(bot, [("+33600000401", "a"), ("+33600000402", "b")])
    now = clock.now()
    lease = timedelta(seconds=60)
    async with bot.db.transaction() as tx:
        held = await tx.outbox.claim("sms", now, 10, owner="elsewhere:1:aa", until=now + lease)
        assert [m.text for m in held] == ["a", "b"]
        assert all(m.unsure_since is None for m in held)
        # Another worker, while the leases run: nothing.
        assert await tx.outbox.claim("sms", now, 10, owner="here:2:bb", until=now + lease) == []
    later = now + lease + timedelta(seconds=1)  # the first worker died on another host
    async with bot.db.transaction() as tx:
        back = await tx.outbox.claim("sms", later, 10, owner="here:2:bb", until=later + lease)
        assert [m.text for m in back] == ["a", "b"]
        # Its attempt may have gone out: the new holder must ask before sending.
        assert all(m.unsure_since == now.replace(microsecond=0) for m in back)
        assert all(m.attempts == 2 for m in back)
        # The dead worker's late settle changes nothing: the row is not its any more.
        await tx.outbox.mark_retry(back[0].id, Retry(later, "late", owner="elsewhere:1:aa"))
        assert await tx.outbox.claim("sms", later, 10, owner="x:3:cc", until=later + lease) == []


class Lists:
    """A transport whose service lists what it sent: one earlier attempt went out."""

    channel = "sms"

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.asked: list[int] = []

    async def send(self, message: OutboxMessage, idempotency_key: str) -> Delivery:
        self.sent.append(message.text)
        return Delivery("sent", external_id=f"SM-new-{message.id}")

    async def lookup(self, message: OutboxMessage, since: object) -> list[str]:
        self.asked.append(message.id)
        return ["SM-known", "SM-first-try"] if message.text == "went out" else ["SM-known"]


async def test_an_unsure_row_is_looked_up_and_sent_only_when_it_is_not_there(
    bot: Carebot, clock: VirtualClock
) -> None:
    now = clock.now()
    await _queue(bot, [("+33600000500", "old")])
    async with bot.db.transaction() as tx:
        [old] = await tx.outbox.claim("sms", now, 10, owner="elsewhere:1:aa", until=now)
        await tx.outbox.mark_sent(
            old.id, "SM-known", now
        )  # another row's SID: never taken for these
    await _queue(bot, [("+33600000501", "went out"), ("+33600000502", "never left")])
    async with bot.db.transaction() as tx:  # a worker claims both, then dies
        assert len(await tx.outbox.claim("sms", now, 10, owner="elsewhere:1:aa", until=now)) == 2
    transport = Lists()
    sender = Sender(bot, transport)
    clock.advance(timedelta(seconds=1))
    await sender.start()
    try:
        await _until(lambda: sender.sent == 2)
    finally:
        await sender.stop()
    assert transport.sent == ["never left"]
    assert len(transport.asked) == 2
    with sqlite3.connect(sqlite_file(bot.db)) as conn:
        rows = dict(conn.execute("SELECT text, external_id FROM outbox WHERE state = 'sent'"))
    assert rows["went out"] == "SM-first-try"
    assert rows["never left"].startswith("SM-new-")


class Frozen:
    """A pace that holds sends to one address until thawed: a worker stopped between claim
    and send."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.thawed = asyncio.Event()
        self.waiting = False

    async def wait(self, address: str) -> None:
        if address == self.address:
            self.waiting = True
            await self.thawed.wait()


async def _held_at_the_pace(
    bot: Carebot,
    monkeypatch: pytest.MonkeyPatch,
    message: tuple[str, str],
    transport: SlowFor,
    gone: float,
) -> tuple[Sender, Frozen]:
    """A sender whose send of `message` (address, text) through `transport` is held at the
    pace while `gone` of its lease is spent, on the worker's own clock."""
    worker_clock = skew(monkeypatch)
    sender = Sender(bot, transport, poll_seconds=5.0)
    frozen = Frozen(message[0])
    sender.pace = frozen  # type: ignore[assignment]
    await _queue(bot, [message])
    await sender.start()
    await _until(lambda: frozen.waiting)
    worker_clock.ahead = sender.lease.total_seconds() * gone
    return sender, frozen


async def _frozen_sender(
    bot: Carebot, monkeypatch: pytest.MonkeyPatch, address: str, text: str
) -> tuple[Sender, Frozen, SlowFor]:
    """A sender whose send of `text` to `address` is held at the pace until two thirds of
    its lease are gone, on the worker's own clock."""
    transport = SlowFor("nobody")
    sender, frozen = await _held_at_the_pace(bot, monkeypatch, (address, text), transport, 2 / 3)
    return sender, frozen, transport


async def test_a_worker_stopped_past_its_lease_does_not_send_what_another_took(
    bot: Carebot,
    clock: VirtualClock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sender, frozen, transport = await _frozen_sender(bot, monkeypatch, "+33600000601", "once only")
    try:
        later = clock.now() + timedelta(minutes=5)  # the lease lapsed on the database's clock
        async with bot.db.transaction() as tx:
            taken = await tx.outbox.claim("sms", later, 100, owner="x:2:bb", until=later)
        [mine] = [m for m in taken if m.text == "once only"]
        with caplog.at_level(logging.WARNING, logger="bot.handlers.delivery"):
            frozen.thawed.set()
            await _until(lambda: any("another worker" in r.message for r in caplog.records))
        # The other worker sends it (after asking Twilio whether it went): not this one.
        assert [t for a, t in transport.sent if a == "+33600000601"] == []
        [row] = [m for m in await bot.outbox_after(0) if m.id == mine.id]
        assert row.state == "queued"
    finally:
        await sender.stop()


async def test_a_slow_send_whose_lease_is_still_its_own_goes_out(
    bot: Carebot, monkeypatch: pytest.MonkeyPatch
) -> None:
    holds = count_holds(bot, monkeypatch)
    sender, frozen, transport = await _frozen_sender(
        bot, monkeypatch, "+33600000602", "late but mine"
    )
    try:
        frozen.thawed.set()
        await _until(lambda: ("+33600000602", "late but mine") in transport.sent)
        assert len(holds) == 1  # asked, past a third of its lease, and found still its own
    finally:
        await sender.stop()


class Fenced(SlowFor):
    """A transport that, like Twilio's, waits for a connection and then asks the sender's
    fence before its request leaves."""

    def __init__(self) -> None:
        super().__init__("nobody")
        self.connected = asyncio.Event()
        self.connecting = False
        self.past_fence = 0
        self.answer_after = 0.0

    async def send(self, message: OutboxMessage, idempotency_key: str) -> Delivery:
        self.connecting = True
        await self.connected.wait()
        await check_fence()
        self.past_fence += 1
        await asyncio.sleep(self.answer_after)  # the request is on its way
        return await super().send(message, idempotency_key)


async def test_a_slow_send_through_a_fence_asks_for_its_lease_once(
    bot: Carebot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check before the send renews the lease: the fence, a moment later, need not ask."""
    holds = count_holds(bot, monkeypatch)
    transport = Fenced()
    transport.connected.set()
    # Half its lease gone at the pace.
    message = ("+33600000603", "checked once")
    sender, frozen = await _held_at_the_pace(bot, monkeypatch, message, transport, 1 / 2)
    try:
        frozen.thawed.set()
        await _until(lambda: ("+33600000603", "checked once") in transport.sent)
        assert len(holds) == 1
    finally:
        await sender.stop()


async def test_a_lease_lost_at_the_fence_is_one_warning_and_no_send(
    bot: Carebot,
    clock: VirtualClock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Past the check before the send, a long wait for a connection: the fence asks, finds the
    row another worker's, and the sender says so once."""
    worker_clock = skew(monkeypatch)
    transport = Fenced()
    sender = Sender(bot, transport, poll_seconds=5.0)
    await _queue(bot, [("+33600000604", "not twice")])
    with caplog.at_level(logging.WARNING, logger="bot.handlers.delivery"):
        await sender.start()
        try:
            await _until(lambda: transport.connecting)
            # Two thirds of the lease gone waiting for the pool; meanwhile it lapsed on the
            # database's clock and another worker took the row.
            worker_clock.ahead = sender.lease.total_seconds() * 2 / 3
            later = clock.now() + timedelta(minutes=5)
            async with bot.db.transaction() as tx:
                taken = await tx.outbox.claim("sms", later, 100, owner="x:2:bb", until=later)
            assert [m.text for m in taken] == ["not twice"]
            transport.connected.set()
            await _until(lambda: any("another worker" in r.message for r in caplog.records))
            await asyncio.sleep(0.1)
        finally:
            await sender.stop()
    assert transport.sent == []
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len([w for w in warned if "another worker" in w]) == 1, warned


class Gate:
    """A transport that holds every send whose text starts with "slow" until released."""

    channel = "sms"

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.sent: list[str] = []

    async def send(self, message: OutboxMessage, idempotency_key: str) -> Delivery:
        if message.text.startswith("slow"):
            await self.release.wait()
        self.sent.append(message.text)
        return Delivery("sent", external_id=idempotency_key)


async def test_a_wake_while_the_claim_answers_is_not_lost(
    bot: Carebot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A commit whose wake() lands while a claim is answering, with the window nearly full:
    its message goes when the sends land, not at the next poll (5 s here)."""
    gate = Gate()
    sender = Sender(bot, gate, window=8, poll_seconds=5.0)
    real = bot.claim_outbox
    woke: list[bool] = []

    async def claim(
        channel: str, limit: int, *, owner: str, until: datetime
    ) -> tuple[list[OutboxMessage], bool]:
        batch, more = await real(channel, limit, owner=owner, until=until)
        if batch and not woke:
            woke.append(True)  # a commit lands while the claim's answer is on its way
            await _queue(bot, [("+33611111111", "late")])
            sender.wake()
        return batch, more

    monkeypatch.setattr(bot, "claim_outbox", claim)
    await _queue(bot, [(f"+3360000000{i}", f"slow {i}") for i in range(7)])
    await sender.start()
    try:
        await _until(lambda: bool(woke))
        await asyncio.sleep(0.1)
        gate.release.set()  # the seven sends land: room is free again
        await _until(lambda: "late" in gate.sent, seconds=2.0)
    finally:
        await sender.stop()


HoldLease = Callable[[int, str, datetime], Awaitable[bool]]


async def _stalled_at_the_fence(
    bot: Carebot,
    monkeypatch: pytest.MonkeyPatch,
    message: tuple[str, str],
    holding: Callable[[Sender, Skewed, HoldLease], HoldLease],
    done: Callable[[], bool],
) -> Fenced:
    """Send `message` (address, text) through a fence reached two thirds of a lease after the
    claim, so that it must ask the database, with `bot.hold_lease` replaced by what
    `holding(sender, worker clock, the real hold)` gives; until `done()`. The transport."""
    worker_clock = skew(monkeypatch)
    transport = Fenced()
    sender = Sender(bot, transport, poll_seconds=5.0)
    monkeypatch.setattr(bot, "hold_lease", holding(sender, worker_clock, bot.hold_lease))
    await _queue(bot, [message])
    await sender.start()
    try:
        await _until(lambda: transport.connecting)
        worker_clock.ahead = sender.lease.total_seconds() * 2 / 3  # the fence must ask
        transport.connected.set()
        await _until(done)
        await asyncio.sleep(0.1)
    finally:
        await sender.stop()
    return transport


async def test_a_hold_answered_while_the_worker_was_stopped_is_asked_again(
    bot: Carebot,
    clock: VirtualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The fence's hold succeeds on the database, then the worker is stopped before it reads
    the answer; its lease lapses and another worker takes the row. Awake, the answer is a
    lease old: the fence asks again and finds the row gone, and nothing is sent here."""
    holds: list[bool] = []

    def stopped_after(sender: Sender, worker_clock: Skewed, hold: HoldLease) -> HoldLease:
        async def held(message_id: int, owner: str, until: datetime) -> bool:
            holds.append(await hold(message_id, owner, until))
            if len(holds) == 1:
                worker_clock.ahead += sender.lease.total_seconds()  # stopped a whole lease
                taken = await _claimed_by_another(bot, clock)
                assert [m.text for m in taken] == ["not on a stale word"]
            return holds[-1]

        return held

    message = ("+33600000605", "not on a stale word")
    transport = await _stalled_at_the_fence(
        bot, monkeypatch, message, stopped_after, lambda: len(holds) == 2
    )
    assert transport.sent == []
    assert holds == [True, False]


async def _claimed_by_another(bot: Carebot, clock: VirtualClock) -> list[OutboxMessage]:
    """What another worker's claim takes now (on the database's clock, five minutes on)."""
    later = clock.now() + timedelta(minutes=5)
    async with bot.db.transaction() as tx:
        return await tx.outbox.claim("sms", later, 100, owner="x:2:bb", until=later)


async def test_a_stop_lets_a_request_on_its_way_land_and_nobody_sends_it_again(
    bot: Carebot, clock: VirtualClock
) -> None:
    """A rolling restart: the request left, its answer is on its way. Cancelled, its outcome
    would be unknown and the next worker would send it again (over Telegram, surely twice)."""
    transport = Fenced()
    transport.connected.set()
    transport.answer_after = 0.3
    sender = Sender(bot, transport, poll_seconds=5.0)
    await _queue(bot, [("+33600000606", "on its way")])
    await sender.start()
    await _until(lambda: transport.past_fence == 1)
    await sender.stop()
    assert transport.sent == [("+33600000606", "on its way")]
    [row] = await bot.outbox_after(0)
    assert row.state == "sent"
    assert await _claimed_by_another(bot, clock) == []


async def test_a_stop_gives_back_at_once_what_was_not_handed_to_the_transport(
    bot: Carebot, clock: VirtualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Held at the pace when the worker stops: nothing left, so the message is queued again
    as it was (no attempt counted, nothing to ask Twilio) and the stop does not wait."""
    transport = Fenced()
    transport.connected.set()
    message = ("+33600000607", "not yet sent")
    sender, _ = await _held_at_the_pace(bot, monkeypatch, message, transport, 0)
    began = asyncio.get_running_loop().time()
    await sender.stop()
    assert asyncio.get_running_loop().time() - began < sender.stop_grace / 2
    assert transport.sent == []
    [again] = await _claimed_by_another(bot, clock)
    assert (again.text, again.attempts, again.unsure_since) == ("not yet sent", 1, None)


async def test_a_fence_that_cannot_reach_the_database_sends_nothing_and_retries(
    bot: Carebot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fence asks only after a stall, when the row may well be another worker's: a
    database that cannot say is not a yes. The message is tried again, as never sent."""
    failed: list[int] = []

    def down(sender: Sender, worker_clock: Skewed, hold: HoldLease) -> HoldLease:
        async def gone(message_id: int, owner: str, until: datetime) -> bool:
            failed.append(message_id)
            raise ConnectionError("the database went away")

        return gone

    message = ("+33600000608", "not on a guess")
    transport = await _stalled_at_the_fence(bot, monkeypatch, message, down, lambda: bool(failed))
    assert transport.sent == []
    [row] = await bot.outbox_after(0)
    assert (row.state, row.attempts, row.unsure_since) == ("queued", 0, None)  # not an attempt


async def test_a_worker_that_keeps_stalling_puts_the_send_off_after_three_holds(
    bot: Carebot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each hold answered a third of a lease late (the worker stalls again and again): the
    sender does not ask for ever; it retries later, having sent nothing."""
    holds: list[bool] = []

    def late(sender: Sender, worker_clock: Skewed, hold: HoldLease) -> HoldLease:
        async def held(message_id: int, owner: str, until: datetime) -> bool:
            holds.append(await hold(message_id, owner, until))
            worker_clock.ahead += sender.lease.total_seconds() / 3
            return holds[-1]

        return held

    message = ("+33600000609", "put off")
    transport = await _stalled_at_the_fence(
        bot, monkeypatch, message, late, lambda: len(holds) >= 3
    )
    assert holds == [True, True, True]
    assert transport.sent == []
    [row] = await bot.outbox_after(0)
    assert (row.state, row.unsure_since) == ("queued", None)


class WritesApart(SlowFor):
    """A transport that, like aiohttp on Python 3.11, writes its request in a task of its own,
    where the fence is asked, while the send waits for the answer."""

    def __init__(self) -> None:
        super().__init__("nobody")
        self.gate = asyncio.Event()
        self.at_gate = False
        self.writers: list[asyncio.Task[None]] = []

    async def send(self, message: OutboxMessage, idempotency_key: str) -> Delivery:
        self.at_gate = True
        await self.gate.wait()
        answered: asyncio.Future[Delivery] = asyncio.get_running_loop().create_future()

        async def write() -> None:
            try:
                await check_fence()
            except LeaseLost as lost:
                if not answered.done():
                    answered.set_exception(lost)
                return
            self.sent.append((message.address, message.text))
            if not answered.done():
                answered.set_result(Delivery("sent", external_id=idempotency_key))

        self.writers.append(asyncio.create_task(write()))
        return await answered


async def test_no_request_leaves_once_a_stop_has_begun(bot: Carebot, clock: VirtualClock) -> None:
    """The request's writer is already scheduled when the stop begins: its fence says no, for
    the stop gives the message back as never sent (sent here too, it would go out twice)."""
    transport = WritesApart()
    sender = Sender(bot, transport, poll_seconds=5.0)
    await _queue(bot, [("+33600000610", "after the stop")])
    await sender.start()
    await _until(lambda: transport.at_gate)
    transport.gate.set()
    await asyncio.sleep(0)  # the send goes on: its writer is scheduled, not yet run
    assert len(transport.writers) == 1 and not transport.writers[0].done()
    await sender.stop()
    await asyncio.gather(*transport.writers)
    assert transport.sent == []
    [again] = await _claimed_by_another(bot, clock)
    assert (again.text, again.attempts, again.unsure_since) == ("after the stop", 1, None)


class Listing(SlowFor):
    """A transport whose service lists what it sent, as Twilio's does."""

    async def lookup(self, message: OutboxMessage, since: datetime) -> list[str]:
        return ["SM-sent-earlier"]


async def test_a_failure_while_checking_an_unsure_message_is_a_retry_not_a_stuck_row(
    bot: Carebot, clock: VirtualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database fails while the sender asks whether an earlier attempt went out: the
    message is tried again later, not left in flight under a lease the worker renews."""
    await _queue(bot, [("+33600000611", "went out or not")])
    async with bot.db.transaction() as tx:  # a worker that died mid-send; its lease lapsed
        await tx.outbox.claim("sms", clock.now(), 10, owner="x:3:cc", until=clock.now())
    asked: list[list[str]] = []

    async def down(channel: str, external_ids: list[str]) -> set[str]:
        asked.append(external_ids)
        raise ConnectionError("the database went away")

    monkeypatch.setattr(bot, "known_external_ids", down)
    transport = Listing("nobody")
    sender = Sender(bot, transport, poll_seconds=5.0)
    await sender.start()
    try:
        await _until(lambda: bool(asked))
        assert await _leases_end(bot) == []
    finally:
        await sender.stop()
    assert transport.sent == []
    [row] = await bot.outbox_after(0)
    assert row.state == "queued" and row.unsure_since is not None


async def _leases_end(bot: Carebot) -> list[str]:
    """Who holds outbox leases, once nobody does or after 2 s."""
    for _ in range(100):
        async with bot.db.read() as tx:
            holders = await tx.outbox.lease_owners("sms")
        if not holders:
            break
        await asyncio.sleep(0.02)
    return holders


async def test_a_bug_on_the_way_to_the_transport_leaves_no_row_stuck_in_flight(
    bot: Carebot, caplog: pytest.LogCaptureFixture
) -> None:
    """Whatever raises between the claim and the settle (here the pace), the row is tried
    again later rather than held for as long as the worker runs, and the bug is logged."""

    class Broken:
        called = False

        async def wait(self, address: str) -> None:
            self.called = True
            raise RuntimeError("a bug in the pace")

    transport = SlowFor("nobody")
    sender = Sender(bot, transport, poll_seconds=5.0)
    sender.pace = broken = Broken()  # type: ignore[assignment]
    await _queue(bot, [("+33600000612", "not stuck")])
    with caplog.at_level(logging.ERROR, logger="bot.handlers.delivery"):
        await sender.start()
        try:
            await _until(lambda: broken.called)
            assert await _leases_end(bot) == []
        finally:
            await sender.stop()
    assert transport.sent == []
    [row] = await bot.outbox_after(0)
    assert row.state == "queued"
    assert any(r.exc_info and "a bug in the pace" in str(r.exc_info[1]) for r in caplog.records)
