"""The application core: messages in, outbox rows out, timers fired; the database stays private.

See bot/app/__init__.py for the whole intent API."""

from __future__ import annotations

import logging
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from pathlib import Path

from bot.app.backend import Backend
from bot.app.console import ConsoleIntents
from bot.app.outbox import OutboxIntents
from bot.app.same_turn import SameTurn
from bot.domain.agency import AgencyFile, Person
from bot.domain.errors import (
    Contention,
    IllegalTransition,
    NotFound,
    RequestChanged,
    Unavailable,
)
from bot.flows.router import Inbound, Press, Text, decode, encode, handle
from bot.i18n import N_, for_channel, normalize_language, tr, use_language
from bot.services.billing import ensure_weekly_credits
from bot.services.console_links import ConsoleLinks
from bot.services.desk import AgencyCache, Desk, desk_in, open_desk
from bot.services.hiatus import ensure_sweep
from bot.services.ports import Clock, OutboxMessage, OutgoingMessage, Reimport, RosterChanges
from bot.services.timers import fire

log = logging.getLogger(__name__)
TIMER_BATCH = 50
REDOS_ON_CHANGE = 2  # a message redone after a concurrent status change, at most this often


class Carebot(ConsoleIntents, OutboxIntents):
    """The bot without its network transports: inbound in, outbox rows out, timers fired."""

    def __init__(self, db: Backend, clock: Clock) -> None:
        # Private to the application: adapters call intent methods (tests may look inside).
        self.db = db
        self.clock = clock
        # Called after each handled message, so the live scheduler can re-aim at new timers.
        self.after_commit: list[Callable[[], Awaitable[None]]] = []
        self.timer_lateness: deque[float] = deque(maxlen=20_000)
        self.agency_cache = AgencyCache()
        # Set by `carebot run` when the web console is configured: "/console" sends a link.
        self.console_links: ConsoleLinks | None = None
        # The timers of the batch being fired (to drop the one whose effect keeps failing).
        self._firing: list[int] = []
        self.sent_marks = SameTurn(self._mark_all_sent)

    async def close(self) -> None:
        """Close the database."""
        await self.db.close()

    async def has_agency(self) -> bool:
        """Whether an agency file was imported into this database."""
        try:
            async with self.db.transaction() as tx:
                await tx.roster.agency()
        except NotFound:
            return False
        return True

    async def import_agency(
        self, data: AgencyFile, *, force: bool = False, reset_schedules: bool = False
    ) -> RosterChanges:
        """Write an agency file into the database (idempotent) and say what changed."""
        async with self.db.transaction() as tx:
            how = Reimport(force, reset_schedules)
            changes = await tx.imports.load(data, self.clock.now(), how)
        async with open_desk(self.db, self.clock, self.agency_cache) as desk:
            await ensure_weekly_credits(desk)
            await ensure_sweep(desk)
        return changes

    async def accept(
        self,
        channel: str,
        address: str,
        inbound: Inbound,
        delivery_id: str,
        *,
        once: str | None = None,
    ) -> bool:
        """Store a delivery before answering its webhook; False for one seen before.

        `once` names something only one delivery may use (a Telegram keyboard is pressed
        once): a delivery naming a used one is refused like a duplicate, in the same
        transaction, so a crash never leaves the key used and the delivery lost.
        """
        async with self.db.transaction() as tx:
            now = self.clock.now()
            if once is not None and not await tx.once.first(f"{channel}-once", once, now):
                log.info("delivery %s on %s refused: %s already used", delivery_id, channel, once)
                return False
            fresh = await tx.inbox.accept(channel, delivery_id, address, encode(inbound), now)
        if not fresh:
            log.info("duplicate delivery %s on %s ignored", delivery_id, channel)
        return fresh

    async def accept_many(
        self, channel: str, deliveries: Sequence[tuple[str, Inbound, str]]
    ) -> list[bool]:
        """Store several deliveries (address, inbound, id) in one transaction; False for seen ones.

        Webhooks under load commit together: one transaction for what arrived meanwhile leaves
        the database free for the inbound worker, which one transaction per delivery starves.
        """
        async with self.db.transaction() as tx:
            now = self.clock.now()
            fresh = [
                await tx.inbox.accept(channel, delivery_id, address, encode(inbound), now)
                for address, inbound, delivery_id in deliveries
            ]
        for (_, _, delivery_id), new in zip(deliveries, fresh, strict=True):
            if not new:
                log.info("duplicate delivery %s on %s ignored", delivery_id, channel)
        return fresh

    async def process_pending(self, limit: int = 100) -> int:
        """Process accepted deliveries (after a crash too), each person's in arrival order,
        one unit of work each, up to `limit`; returns how many were taken, and stops early once
        none waited (a delivery accepted after that wakes the worker). Several workers may run
        this at once on one PostgreSQL database: each takes what no other is processing."""
        done = 0
        more = [True]
        while done < limit and more[0] and await self._process_next(more):
            done += 1
        return done

    async def _process_next(self, more: list[bool]) -> bool:
        """Take the next delivery and handle it; False when none waits. `more[0]` says
        whether another waited when it was taken."""
        where: list[tuple[str, str, str]] = []

        async def attempt() -> bool:
            where.clear()
            async with self.db.transaction() as tx:
                # Taken first: a look that finds nothing costs one statement.
                taken = await tx.inbox.take_next(self.clock.now())
                if taken is None:
                    more[0] = False
                    return False
                more[0] = taken.more
                where.append((taken.channel, taken.external_id, taken.address))
                desk = await desk_in(tx, self.clock, self.agency_cache, self.console_links)
                await self._act(desk, taken.channel, taken.address, decode(taken.payload))
            return True

        return await self._deliver(attempt, where)

    async def receive(
        self, channel: str, address: str, inbound: Inbound, delivery_id: str | None = None
    ) -> None:
        """Accept and process one delivery at once (replay and console; webhooks split it)."""
        delivery_id = delivery_id or f"local-{uuid.uuid4().hex}"
        if await self.accept(channel, address, inbound, delivery_id):
            await self._process(channel, delivery_id, address, inbound)

    async def _process(
        self, channel: str, delivery_id: str, address: str, inbound: Inbound
    ) -> None:
        """Handle one accepted delivery; its processed mark commits with its effects."""
        where = [(channel, delivery_id, address)]

        async def attempt() -> bool:
            async with open_desk(
                self.db, self.clock, self.agency_cache, self.console_links
            ) as desk:
                if not await desk.tx.inbox.mark_processed(channel, delivery_id, desk.now):
                    return False
                await self._act(desk, channel, address, inbound)
            return True

        await self._deliver(attempt, where)

    async def _deliver(
        self, attempt: Callable[[], Awaitable[bool]], where: list[tuple[str, str, str]]
    ) -> bool:
        """Run a delivery's unit of work (`attempt`: False when there was none to handle;
        `where`: the delivery it took, as channel, id, address). Again when another worker's
        unit of work crossed it (Contention), or moved a request it acted on (RequestChanged,
        at most REDOS_ON_CHANGE times); a refused transition is told to the person; a lost
        database (Unavailable) is raised, the delivery left for later; any other failure is
        marked processed and apologised for."""
        redos = 0
        while True:
            try:
                if not await attempt():
                    return False
            except Contention:
                log.info("a message met another worker's unit of work; again")
                continue
            except Unavailable:
                # The database went away under the message (a lost connection, a full disk):
                # rolled back, not the message's fault. It stays accepted and unprocessed for
                # the next turn of the inbound worker, with no apology.
                raise
            except RequestChanged as exc:
                # Another worker moved a request this message acted on, and nothing of ours
                # was written: redo it against the request as it stands now.
                if redos < REDOS_ON_CHANGE and where:
                    redos += 1
                    log.info("redoing a message: %s", exc)
                    continue
                if not where:
                    raise
                await self._failed(*where[0])
            except IllegalTransition as exc:
                # A request is no longer where the message expected it (a check that missed
                # a state): nothing was written; the person hears that their choice has gone.
                if not where:
                    raise
                log.warning("refused on %s: %s", where[0][0], exc)
                await self._refuse(*where[0])
            except Exception:
                if not where:
                    raise
                await self._failed(*where[0])
            break
        await self.run_after_commit()
        return True

    async def _act(self, desk: Desk, channel: str, address: str, inbound: Inbound) -> None:
        """What a delivery does, in the unit of work that marks it processed."""
        person = await desk.tx.roster.by_address(channel, address)
        if person is None:
            await self._stranger(desk, channel, address)
        else:
            with use_language(desk.lang(person)):
                await handle(desk, person, inbound)

    async def _failed(self, channel: str, delivery_id: str, address: str) -> None:
        """Handling a delivery failed and was rolled back: nothing half-done stays. Mark it
        processed anyway (a message that crashes the bot must not crash it forever), and
        apologise, in new transactions; only once, should another worker have taken the
        delivery again meanwhile (its mark waits for ours)."""
        log.exception("handling a message on %s failed", channel)
        async with self.db.transaction() as tx:
            marked = await tx.inbox.mark_processed(channel, delivery_id, self.clock.now())
        if marked:
            await self._apologise(channel, address)

    async def receive_from(
        self, person_id: str, inbound: Inbound, delivery_id: str | None = None
    ) -> None:
        """Handle a message from a roster person on their own channel (replay, console)."""
        async with self.db.transaction() as tx:
            person = await tx.roster.person(person_id)
        channel, address = _address(person)
        await self.receive(channel, address, inbound, delivery_id)

    async def say(self, person_id: str, text: str) -> None:
        """A roster person types `text` (as if on their own channel)."""
        await self.receive_from(person_id, Text(text))

    async def press(self, person_id: str, packed: str) -> None:
        """A roster person picks an option (a packed action), as a button or its number does."""
        await self.receive_from(person_id, Press(packed))

    async def health(self) -> tuple[str | None, int, datetime | None]:
        """Why writes fail now (None when they work), pending timers, the earliest due."""
        failing = await self.db.write_failure(self.clock.now())
        pending, first = await self.timer_stats()
        return failing, pending, first

    async def _stranger(self, desk: Desk, channel: str, address: str) -> None:
        """Someone not on the roster: one polite answer, not a conversation."""
        if not await desk.tx.once.first("stranger", f"{channel}:{address}", desk.now):
            return
        lang = for_channel(normalize_language(None, desk.agency.language), channel)
        text = tr(
            lang,
            "Hello! This number is not registered with {agency}. Please contact the "
            "agency to be added.",
            agency=desk.agency.name,
        )
        await desk.tx.outbox.enqueue(OutgoingMessage(desk.now, None, channel, address, text))

    async def _refuse(self, channel: str, delivery_id: str, address: str) -> None:
        async with open_desk(self.db, self.clock, self.agency_cache) as desk:
            await desk.tx.inbox.mark_processed(channel, delivery_id, desk.now)
            person = await desk.tx.roster.by_address(channel, address)
            if person is not None:
                with use_language(desk.lang(person)):
                    await desk.stale(person)

    async def _apologise(self, channel: str, address: str) -> None:
        try:
            async with open_desk(self.db, self.clock, self.agency_cache) as desk:
                person = await desk.tx.roster.by_address(channel, address)
                if person is not None:
                    await desk.tell(person, APOLOGY)
        except Exception:
            log.exception("could not even apologise on %s", channel)

    async def fire_due_timers(self, until: datetime, *, move_clock: bool = False) -> int:
        """Fire every timer due by `until`, in due order; returns how many fired.

        Timers fire in batches, one unit of work each; a batch that fails is redone one timer
        at a time. With `move_clock` (replay, demo) the virtual clock is moved to each due
        time and an effect's error is raised; live, a timer whose effect keeps failing is
        dropped with a log line rather than retried forever. A lost database (Unavailable)
        is raised, its timers left pending.
        """
        # On a virtual clock an effect may set a timer due before the rest of a batch, and
        # replays must keep strict due order: one timer per unit of work there.
        full = 1 if move_clock else TIMER_BATCH
        fired, batch = 0, full
        while True:
            self._firing = []
            try:
                done, more = await self._fire_batch(until, batch, move_clock)
            except Contention:
                # Another worker's unit of work crossed this batch: rolled back, fired again.
                log.info("a batch of timers met another worker's unit of work; again")
                continue
            except Unavailable:
                # The database went away under the batch (a lost connection, a session ended
                # past the idle bound, a full disk): rolled back, not the timers' fault. They
                # stay pending for the next turn; dropped, a timer would lose its effect.
                raise
            except Exception:
                if move_clock or batch == 1:
                    # Failed before taking a timer (no agency yet, a broken read): no timer's
                    # fault, and nothing to drop; trying again at once would spin for ever.
                    if move_clock or not self._firing:
                        raise
                    await self._drop_failing_timer(self._firing)
                    continue
                log.exception("a batch of timers failed; retrying them one by one")
                batch = 1
                continue
            fired += done
            batch = full if batch == 1 and done else batch
            if done:
                # What the timers queued goes now: a sender that found its outbox empty does
                # not look again until a commit wakes it or its poll comes round.
                await self.run_after_commit()
            if not more:
                return fired

    async def _fire_batch(self, until: datetime, size: int, move_clock: bool) -> tuple[int, bool]:
        """Fire up to `size` due timers in one unit of work; (fired, whether any were due)."""
        async with open_desk(self.db, self.clock, self.agency_cache) as desk:
            timers = await desk.tx.timers.due(until, size)
            self._firing = [t.id for t in timers]
            fired = 0
            for timer in timers:
                set_clock = getattr(self.clock, "set", None)
                if move_clock and set_clock is not None:
                    set_clock(timer.due_at)
                desk.now = self.clock.now()
                # How late timers fire, for /healthz and the benchmarks (a bounded window).
                self.timer_lateness.append((desk.now - timer.due_at).total_seconds())
                with use_language(desk.agency.language):
                    fired += int(await fire(desk, timer))
        return fired, bool(timers)

    async def _drop_failing_timer(self, failed: list[int]) -> None:
        """Claim the timer whose effect failed alone, without its effect (by id: another
        worker may be firing the next ones)."""
        log.exception("a timer's effect failed on its own; dropping that timer")
        async with self.db.transaction() as tx:
            for timer_id in failed:
                await tx.timers.claim(timer_id, self.clock.now())

    async def listen_for_work(self, wake: Callable[[str], None]) -> None:
        """Call `wake(kind)` ("timers", "outbox", "inbound") when another worker on this
        database adds work (PostgreSQL's LISTEN/NOTIFY; SQLite: never, polling finds it)."""
        await self.db.listen(wake)

    async def lag_and_leases(self, owner_prefix: str) -> tuple[dict[str, float], dict[str, int]]:
        """Seconds the oldest waiting work has waited, and the outbox leases per channel held
        by owners named `owner_prefix` (this worker), for /healthz."""
        async with self.db.read() as tx:
            return await tx.health.lag_and_leases(self.clock.now(), owner_prefix)

    async def timer_stats(self) -> tuple[int, datetime | None]:
        """Pending timers and the earliest due time."""
        async with self.db.read() as tx:
            return await tx.timers.stats()

    @property
    def timer_writes(self) -> int:
        """A counter that moves whenever this process adds timers."""
        return self.db.timer_writes

    async def next_due(self) -> datetime | None:
        """When the earliest pending timer falls due."""
        async with self.db.read() as tx:
            return await tx.timers.next_due()

    async def outbox_after(self, after_id: int) -> list[OutboxMessage]:
        """Messages queued after an id (what a step sent)."""
        async with self.db.transaction() as tx:
            return await tx.outbox.after(after_id)

    async def last_outbox_id(self) -> int:
        """The newest outbox id."""
        async with self.db.transaction() as tx:
            return await tx.outbox.last_id()

    async def person(self, person_id: str) -> Person:
        """A roster person by id."""
        async with self.db.transaction() as tx:
            return await tx.roster.person(person_id)


# How an adapter that makes its own databases (the replay runner, the demo) gets a Carebot
# from the composition root: a database (a SQLite path or a postgresql:// URL) and a clock in,
# an open Carebot out.
Opener = Callable[[str | Path, Clock], Awaitable["Carebot"]]


# What a person is told when handling their message failed on our side.
APOLOGY = N_('Sorry, something went wrong on our side. Please try again, or type "menu".')


def apology(lang: str) -> str:
    """The apology in a language."""
    return tr(lang, APOLOGY)


def _address(person: Person) -> tuple[str, str]:
    if person.channel == "telegram":
        return "telegram", str(person.telegram_id)
    return "sms", person.phone or ""
