"""Draining the outbox through a channel's transport: retries, order, pace, crash recovery.

A message is leased (in_flight, attempts + 1, this worker's id, an expiry) and committed
before it is handed to the transport, and settled in a second transaction after. The worker
renews its leases while it works, so another process sharing the database never takes a row
a live worker holds; a crash leaves the lease to expire (or, on the same host, to be released
at the next start once the owner's pid is gone) and the row comes back. An attempt whose
outcome is unknown (a timeout after the request left, an expired lease) is reconciled before
any resend: a transport that can list what it sent (`lookup`, Twilio) is asked whether the
message went out; one that cannot (the Bot API) sends again, a possible duplicate.
A settle that fails (disk full, a lock held too long) is retried until it succeeds.
Messages to one recipient leave in order: only the oldest queued one is ever claimed.
Sends are a pipeline: up to `window` in flight, more claimed as they land (at once when the
sender is idle, by a quarter window under load so that claims stay few).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Literal, Protocol

from bot.app import Carebot
from bot.handlers.wakes import woken
from bot.services.ports import OutboxMessage, Retry

log = logging.getLogger(__name__)
MAX_BACKOFF = 300.0
# A lease outlives any one send (a transport's timeout, the pace) and is renewed every third.
LEASE_SECONDS = 60.0
SETTLE_BACKOFF = (0.2, 5.0)  # first and longest wait between attempts at a failed settle
# How long a stopping sender lets the requests already on their way land: Twilio's timeout
# (sms_transport.TWILIO_TIMEOUT) and PTB's read timeout (5 s) fit in it. Cut short, their
# outcome is unknown and another worker sends them again. (Compose and systemd give a stop
# 20 s or more; the channels stop side by side.)
STOP_GRACE = 10.0
# Holds in a row, each answered too late to be trusted (the worker kept stalling), before a
# send is put off rather than the database asked again.
MOST_HOLDS = 3
HOST = socket.gethostname()


def worker_id() -> str:
    """This process's name on the leases it takes: host, pid and a nonce."""
    return f"{worker_prefix()}{secrets.token_hex(4)}"


def worker_prefix() -> str:
    """What every lease of this process starts with ('host:pid:'), for /healthz."""
    return f"{HOST}:{os.getpid()}:"


def owner_gone(owner: str) -> bool:
    """Whether a lease's owner is a process of this host that no longer runs (a pid reused
    since reads as alive: its lease then simply expires)."""
    host, _, rest = owner.partition(":")
    pid = rest.split(":", 1)[0]
    if host != HOST or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, someone else's
        return False
    return False


@dataclass(frozen=True)
class Delivery:
    """What a transport did with one message."""

    outcome: Literal["sent", "retry", "failed", "dropped", "opted_out"]
    external_id: str | None = None
    retry_after: float | None = None  # seconds, when the service said so (Telegram 429)
    error: str = ""
    # A retry whose request may have reached the service (a timeout after it was sent, a cut
    # connection, a 5xx): the next attempt first asks the service whether it went out.
    unknown: bool = False


class Transport(Protocol):
    """Sends outbox messages of one channel to the outside world.

    A transport whose service lists what it sent (Twilio) also has
    `async def lookup(message, since) -> list[str]`: the service's ids of messages like this
    one sent since `since` (raising when the service cannot say); the sender asks it before
    resending a message whose earlier attempt has an unknown outcome.

    A transport awaits `check_fence()` as late as it can before its request leaves (after its
    own waits): a worker stalled past its lease must not send what another took, and a
    stopping sender lets a request that passed it land rather than cancel it.
    """

    channel: str

    async def send(self, message: OutboxMessage, idempotency_key: str) -> Delivery:
        """Send one message; never raise for a service's error, say it in the Delivery."""
        ...


class LeaseLost(Exception):
    """Raised by a transport's fence before its request left: the message is another
    worker's now and nothing was sent."""


# Set by the sender around each transport.send: a check, as late as the transport can make
# it (Twilio's: just before the request's first bytes are written, with no other task run in
# between), that the message is still this worker's. False: raise LeaseLost rather than send
# (see Sender._still_ours).
FENCE: ContextVar[Callable[[], Awaitable[bool]] | None] = ContextVar(
    "carebot_send_fence", default=None
)


async def check_fence() -> None:
    """A transport's last check before its request leaves: raise LeaseLost when the sender's
    fence says the message is no longer this worker's to send."""
    check = FENCE.get()
    if check is not None and not await check():
        raise LeaseLost("the message's lease went to another worker")


async def _cancel_all(tasks: list[asyncio.Task[None] | None]) -> None:
    """Cancel every task at once, then wait until each has finished."""
    running = [task for task in tasks if task is not None]
    for task in running:
        task.cancel()
    for task in running:
        with contextlib.suppress(asyncio.CancelledError):
            await task


def idempotency_key(message: OutboxMessage) -> str:
    """The key that makes a re-send of one outbox row recognisable."""
    return f"carebot-outbox-{message.id}"


@dataclass
class _Lease:
    """Since when (monotonic) this worker's lease on one message is known to run a full term:
    its claim, then each confirmed hold (read and moved by the pre-check and the fence)."""

    since: float
    # Why the fence refused a send it could not confirm (the database failing): nothing was
    # sent and the row is still ours, to settle as a retry. None when another worker has it.
    refused: Delivery | None = None


class Pace:
    """At most `per_second` sends overall and one per `per_recipient` seconds per address."""

    def __init__(self, per_second: float | None, per_recipient: float) -> None:
        self._gap = 1.0 / per_second if per_second else 0.0
        self._per_recipient = per_recipient
        self._next_any = 0.0
        self._next_for: dict[str, float] = {}
        self._lock = asyncio.Lock()

    async def wait(self, address: str) -> None:
        """Sleep until this address may receive another message."""
        async with self._lock:
            now = time.monotonic()
            at = max(now, self._next_any, self._next_for.get(address, 0.0))
            self._next_any = at + self._gap
            self._next_for[address] = at + self._per_recipient
        if at > now:
            await asyncio.sleep(at - now)


class Sender:
    """One channel's outbox drainer; wake() it after a commit, it also polls as a safety net."""

    def __init__(
        self,
        bot: Carebot,
        transport: Transport,
        *,
        window: int = 100,
        per_second: float | None = None,
        per_recipient: float = 0.0,
        max_attempts: int = 10,
        poll_seconds: float = 1.0,
        lease_seconds: float = LEASE_SECONDS,
        stop_grace: float = STOP_GRACE,
        on_opted_out: Callable[[OutboxMessage], Awaitable[None]] | None = None,
        on_gave_up: Callable[[OutboxMessage], Awaitable[None]] | None = None,
    ) -> None:
        self.bot = bot
        self.transport = transport
        self.window = window
        self.pace = Pace(per_second, per_recipient)
        self.max_attempts = max_attempts
        self.poll_seconds = poll_seconds
        self.lease = timedelta(seconds=lease_seconds)
        self.owner = worker_id()
        self._renewed = time.monotonic()
        self.on_opted_out = on_opted_out
        self.on_gave_up = on_gave_up
        self._wake = asyncio.Event()
        # The last claim left nothing due: a landing send frees a slot but need not look
        # again (one empty claim per send otherwise); a commit's wake() says to.
        self._drained = False
        self._task: asyncio.Task[None] | None = None
        self._flying: set[asyncio.Task[None]] = set()
        # The sends not yet handed to the transport: a stop cancels these and gives them back.
        self._unsent: dict[asyncio.Task[None], OutboxMessage] = {}
        self.stop_grace = stop_grace
        self._stopping = False  # set first thing by stop(): no fence passes after it
        self.sent = 0

    async def start(self) -> None:
        """Free the leases of this host's dead processes, then drain in the background.

        Rows another live process holds stay with it; rows of a crashed process on another
        host come back when their lease expires."""
        await self._release_gone()
        self._task = asyncio.create_task(self._run(), name=f"sender-{self.transport.channel}")

    async def _release_gone(self) -> None:
        """End the leases of workers of this host that died (SIGKILL, OOM, power cut)."""
        channel = self.transport.channel
        released = await self.bot.release_gone_leases(channel, owner_gone)
        if released:
            log.warning(
                "%s: %s messages were in flight in a process that died; checking them again",
                channel,
                released,
            )

    async def stop(self) -> None:
        """Stop draining: what was not handed to the transport yet goes back to the queue, the
        requests already on their way land (up to `stop_grace`), and the leases end so any
        worker may take what is left."""
        # Before any await: a send that reached its fence after this point would leave while
        # its task is cancelled and given back as never sent (then sent again elsewhere).
        self._stopping = True
        unsent = dict(self._unsent)
        await _cancel_all([self._task, *unsent])
        landing = [task for task in self._flying if task not in unsent]
        if landing:
            # Cut short, a request whose bytes left has an unknown outcome: another worker
            # would send it again (over Telegram, twice for sure; Twilio's list may not show
            # a message it just queued).
            await asyncio.wait(landing, timeout=self.stop_grace)
        await _cancel_all(list(self._flying))
        # The sends that landed are recorded before their leases are given back: released
        # unrecorded, another worker would send them again.
        await self.bot.marks_written()
        channel = self.transport.channel
        try:
            await self.bot.give_back([m.id for m in unsent.values()], self.owner)
            await self.bot.release_leases(channel, [self.owner])
        except Exception:  # they expire anyway
            log.warning("%s: could not release leases at stop", channel)

    def wake(self) -> None:
        """Something was committed: look at the outbox now rather than at the next poll."""
        self._drained = False
        self._wake.set()

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            await self._renew()
            room = self.window - len(self._flying)
            if not self._flying or room >= self.window // 4:
                try:
                    claimed, more = await self._claim(room)
                except Exception:
                    log.exception("%s: claiming from the outbox failed", self.transport.channel)
                    claimed, more = 0, True
                # A wake() that came while the claim was answering (the wake was cleared
                # before it) saw a commit the claim may not have: not drained, then.
                self._drained = not more and not self._wake.is_set()
                if claimed and more:
                    continue
            await woken(self._wake, self.poll_seconds)

    async def _renew(self) -> None:
        """Every third of a lease, extend the leases of what this worker holds, and free those
        of this host's workers that died meanwhile."""
        if time.monotonic() - self._renewed < self.lease.total_seconds() / 3:
            return
        try:
            await self.bot.renew_leases(self.owner, self.bot.clock.now() + self.lease)
            self._renewed = time.monotonic()
            await self._release_gone()
        except Exception as exc:  # tried again at the next turn of the loop
            log.warning("%s: renewing leases failed: %s", self.transport.channel, exc)

    async def _claim(self, limit: int) -> tuple[int, bool]:
        """Claim up to `limit` due messages and start sending them; how many, and whether
        any due message was left unclaimed."""
        now = self.bot.clock.now()
        claimed = time.monotonic()  # before the claim: the lease is counted from no later
        batch, more = await self.bot.claim_outbox(
            self.transport.channel, limit, owner=self.owner, until=now + self.lease
        )
        for message in batch:
            task = asyncio.create_task(self._deliver(message, claimed))
            self._flying.add(task)
            self._unsent[task] = message
            task.add_done_callback(self._landed)
        return len(batch), more

    def _landed(self, task: asyncio.Task[None]) -> None:
        """A send settled: its slot is free for what waits, if anything does."""
        self._flying.discard(task)
        self._unsent.pop(task, None)
        if not self._drained:
            self._wake.set()

    async def _deliver(self, message: OutboxMessage, claimed: float) -> None:
        """Send one claimed message and settle it. A bug on the way must not leave the row in
        flight under a lease this worker keeps renewing: stuck for as long as it runs."""
        try:
            await self._send_and_settle(message, claimed)
        except Exception:
            log.exception("%s: delivering message %s failed", self.transport.channel, message.id)
            failed = Delivery("retry", error="delivering failed (see the log)", unknown=True)
            await self._settle_until_done(message, failed)

    async def _send_and_settle(self, message: OutboxMessage, claimed: float) -> None:
        task = asyncio.current_task()
        assert task is not None
        await self.pace.wait(message.address)
        result = None
        if message.unsure_since is not None:
            result = await self._reconcile(message, message.unsure_since)
        lease = _Lease(claimed)
        if result is None:
            # Kept for every transport: one without a fence (the Bot API) has no later check.
            held = await self._still_ours(message, lease)
            if held is False:
                log.warning(
                    "%s: message %s is another worker's now; not sent here",
                    self.transport.channel,
                    message.id,
                )
                return  # sending too would send it twice
            if isinstance(held, Delivery):
                result = held
        if result is None:
            fence = FENCE.set(partial(self._fence, message, lease, task))
            try:
                result = await self.transport.send(message, idempotency_key(message))
            except LeaseLost:
                if lease.refused is None:
                    log.warning(
                        "%s: message %s went to another worker",
                        self.transport.channel,
                        message.id,
                    )
                    return
                result = lease.refused  # nothing went out; the row is still ours
            except Exception as exc:  # a transport bug must not lose the message
                log.exception(
                    "%s: transport raised on message %s", self.transport.channel, message.id
                )
                result = Delivery("retry", error=repr(exc), unknown=True)
            finally:
                FENCE.reset(fence)
        self._unsent.pop(task, None)  # a stop lets the outcome be recorded
        gave_up = await self._settle_until_done(message, result)
        if result.outcome == "opted_out" and self.on_opted_out is not None:
            await self.on_opted_out(message)
        if gave_up and self.on_gave_up is not None:
            # The service kept failing (5xx, timeouts) for ~13 minutes: what the message asked
            # must not wait on it silently, as when the service refuses it outright.
            await self.on_gave_up(message)
        if result.outcome == "retry":
            # Wake up again in time for the retry even if nothing else is committed.
            asyncio.get_running_loop().call_later(
                min(self.poll_seconds, result.retry_after or self.poll_seconds), self.wake
            )

    async def _still_ours(self, message: OutboxMessage, lease: _Lease) -> Delivery | bool:
        """Whether this worker may still send `message`: True when it may, False when the row
        is another worker's now, a retry when the database cannot say.

        A lease with more than two thirds of its term left (counted from the claim, or from
        the start of the last hold that succeeded) is ours without asking. Past that the worker
        may have been stopped (SIGSTOP, a paused VM, a long pace) while its lease lapsed and
        another worker took the row, reconciled it, and sent it: extending the lease is the
        check, atomic with any claim. The sender checks before transport.send and, through
        FENCE, the transport again just before its request's bytes are written; a hold just
        made here lets that second check pass without asking. What no check can close is a
        stop of two thirds of a lease between the last look at the clock (the fence's, or this
        one's without a fence) and the request's bytes leaving: a window of microseconds."""
        # A hold's answer is read after the fact: a worker stopped while it was on its way
        # (the row held, then lapsed and taken) must not trust it. Only a term that is still
        # fresh when looked at, with no await between the look and the caller's next step,
        # says the message is ours.
        holds = 0
        while time.monotonic() - lease.since >= self.lease.total_seconds() / 3:
            if holds == MOST_HOLDS:
                error = "the lease could not be confirmed in time"
                return Delivery("retry", error=error, retry_after=1.0)
            holds += 1
            began = time.monotonic()  # the new term runs from no later than the hold
            try:
                held = await self.bot.hold_lease(
                    message.id, self.owner, self.bot.clock.now() + self.lease
                )
            except Exception as exc:
                error = f"confirming the lease: {exc}"[:300]
                return Delivery("retry", error=error, retry_after=1.0)
            if not held:
                return False
            lease.since = began
        return True

    async def _fence(
        self, message: OutboxMessage, lease: _Lease, task: asyncio.Task[None]
    ) -> bool:
        """The transport's last check before its request leaves: False when the message is
        another worker's now, or when the database cannot say (the check is asked only after
        a stall, when the row may well be another's: the send waits for a retry). True: the
        request leaves now, and a stop lets it land rather than cancel it."""
        held = await self._still_ours(message, lease)
        if held is True and self._stopping:  # stop() gives it back as never sent
            held = Delivery("retry", error="the worker is stopping", retry_after=1.0)
        if isinstance(held, Delivery):
            lease.refused = held
            return False
        if held:
            self._unsent.pop(task, None)
        return held

    async def _reconcile(self, message: OutboxMessage, since: datetime) -> Delivery | None:
        """An earlier attempt may have gone out: a Delivery when it did (or when the service
        cannot say now), None when it did not and the message must be sent."""
        channel = self.transport.channel
        lookup = getattr(self.transport, "lookup", None)
        if lookup is None:  # the service keeps no list we can read (the Bot API)
            log.warning("%s: message %s may be sent twice (outcome unknown)", channel, message.id)
            return None
        try:
            found: list[str] = await lookup(message, since)
            known = await self.bot.known_external_ids(channel, found)
        except Exception as exc:  # the service or the database: ask again at the retry
            log.warning("%s: could not check message %s: %s", channel, message.id, exc)
            return Delivery("retry", error=f"reconciling: {exc}"[:300], unknown=True)
        fresh = [external_id for external_id in found if external_id not in known]
        if fresh:
            log.warning("%s: message %s had gone out as %s", channel, message.id, fresh[0])
            return Delivery("sent", external_id=fresh[0])
        log.info("%s: message %s had not gone out; sending it", channel, message.id)
        return None

    async def _settle_until_done(self, message: OutboxMessage, result: Delivery) -> bool:
        """Record the outcome, again and again while the database fails (disk full, locked):
        an unsettled row would hold back its recipient's later messages. Whether it gave up."""
        wait, longest = SETTLE_BACKOFF
        while True:
            try:
                return await self._settle(message, result)
            except Exception:
                log.exception(
                    "%s: settling message %s failed; again in %.1fs",
                    self.transport.channel,
                    message.id,
                    wait,
                )
            await asyncio.sleep(wait)
            wait = min(longest, wait * 2)

    async def _settle(self, message: OutboxMessage, result: Delivery) -> bool:
        """One attempt at recording the outcome; whether the sender gave up on the message."""
        now = self.bot.clock.now()
        limited = result.retry_after is not None
        gave_up = False
        owner = self.owner
        if result.outcome == "sent":
            await self.bot.mark_sent(message.id, result.external_id)
        elif result.outcome == "retry" and (limited or message.attempts < self.max_attempts):
            # A rate limit (429 with a delay) is the service pacing us, not a failure: it
            # neither uses up the attempts nor lengthens the backoff of later failures.
            delay = result.retry_after or min(MAX_BACKOFF, 2.0**message.attempts)
            again = now + timedelta(seconds=delay)
            retry = Retry(again, result.error, not limited, result.unknown, owner)
            await self.bot.mark_retry(message.id, retry)
            log.info(
                "%s: message %s retried in %.0fs (%s)",
                self.transport.channel,
                message.id,
                delay,
                result.error,
            )
        elif result.outcome in ("dropped", "opted_out"):
            await self.bot.mark_failed(
                message.id, result.error or result.outcome, dropped=True, owner=owner
            )
        else:
            await self.bot.mark_failed(message.id, result.error or "gave up", owner=owner)
            gave_up = result.outcome == "retry"
            log.warning(
                "%s: message %s failed%s: %s",
                self.transport.channel,
                message.id,
                f" after {message.attempts} attempts" if gave_up else "",
                result.error,
            )
        if result.outcome == "sent":
            self.sent += 1
        return gave_up
