"""Several `carebot run` workers on one database behave as one bot (issue 12, point 5).

All four tests start real workers (`LiveRun`) on one database, on SQLite files or, on the
PostgreSQL pass (CAREBOT_TEST_DATABASE), on a schema of the server; each worker runs two
inbound processors and a 3 s outbox lease, and sends to one fake Twilio.

- Two, then three workers behind a round-robin client, as behind a load balancer: each of
  30 members asks for help, then posts a burst of 5 (8 with RELIABILITY_FULL=1) help and
  balance messages 5 ms apart, a fifth of them delivered to two workers at once (Twilio
  retrying while the first delivery is still answered). Each message is processed once and
  answered by one SMS, per person in the order it was accepted, whichever worker took it;
  every outbox row reaches the fake once.
- Three workers fire 1,000 arrival prompts due over 8 s (10,000 over 60 s on PostgreSQL or
  with RELIABILITY_FULL=1): each fires once, its SMS goes out, and the workers share them.
- The same load on three workers, the fake holding Twilio's answers once a third of the
  messages are in: the worker holding the most sends in flight is SIGKILLed. What got no 200
  is posted again to the next worker; nothing is lost, nothing is sent twice, and the
  survivors take over the dead worker's leases.
- PostgreSQL only: a worker frozen (SIGSTOP) between two statements of a transaction that
  holds inbound rows gives them back when the server ends its idle transaction
  (CAREBOT_DB_IDLE_TRANSACTION_SECONDS=3); the survivor answers everyone once and in order,
  and the thawed worker answers nothing twice and is healthy again. On SQLite a frozen writer
  holds the file's only write lock, so the test skips.

A worker started while another has sends in flight is `test_workers.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from bot.services.appointments import CHECKIN
from storage.postgres import application_name, is_url
from tests.conftest import TEST_DATABASE
from tests.fakes.twilio import FakeTwilio
from tests.reliability.support import FULL, LiveRun, Roster, bounded, sms_form, wait_until
from tests.reliability.test_crash import _check_timers, _prompts_due_soon

pytestmark = pytest.mark.reliability

ROSTER = Roster.make(30)
WORDS = {"fr": ("aide", "solde"), "en": ("help", "balance")}
BURST = 8 if FULL else 5  # messages per person after the first, posted back to back
# Issue 12's figure, 10,000 timers due within a minute, on PostgreSQL (the engine of several
# workers) in CI too; on SQLite 1,000 in CI (see the test's docstring).
TIMERS = 10_000 if FULL or TEST_DATABASE else 1_000
TIMER_SECONDS = 60.0 if TIMERS == 10_000 else 8.0
# A short outbox lease, so that a dead worker's rows come back within seconds (default 60 s);
# two inbound processors per worker, so that each worker too takes several people at once.
ENV = {"CAREBOT_OUTBOX_LEASE_SECONDS": "3", "CAREBOT_INBOUND_PROCESSORS": "2"}


@dataclass
class Message:
    """One inbound SMS of the load: who, which word (0: help, 1: balance), its form."""

    sender: str
    kind: int
    form: dict[str, str]
    status: int = 0


class RoundRobin:
    """A load balancer in front of the workers: each post to the next live worker; a worker
    whose connection fails is skipped and the post goes to the next one."""

    def __init__(self, workers: list[LiveRun]) -> None:
        self.workers = workers
        self.turn = 0

    async def post(self, client: httpx.AsyncClient, form: dict[str, str]) -> int:
        """Post to the next worker; on a refused connection, to the one after (at most all)."""
        status = 0
        for _ in range(len(self.workers)):
            worker = self.workers[self.turn % len(self.workers)]
            self.turn += 1
            status = await worker.post_sms(client, form)
            if status != 0:
                return status
        return status

    async def post_twice(self, client: httpx.AsyncClient, form: dict[str, str]) -> int:
        """The same delivery to two workers at once (as a retry while the first is answered)."""
        first, second = (
            self.workers[self.turn % len(self.workers)],
            self.workers[(self.turn + 1) % len(self.workers)],
        )
        self.turn += 1
        statuses = await asyncio.gather(
            first.post_sms(client, form), second.post_sms(client, form)
        )
        return max(statuses)


@contextlib.contextmanager
def _workers(
    tmp_path: Path, names: str, env: dict[str, str]
) -> Iterator[tuple[list[LiveRun], FakeTwilio]]:
    """Workers on one database (not started), one per letter of `names`, and the fake Twilio."""
    agency = ROSTER.write(tmp_path)
    with FakeTwilio() as fake:
        runs: list[LiveRun] = []
        for name in names:
            (tmp_path / name).mkdir()
            database = runs[0].db if runs else None
            runs.append(LiveRun(tmp_path / name, agency, twilio=fake, database=database, env=env))
        try:
            yield runs, fake
        finally:
            for run in runs:
                run.stop()


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[tuple[list[LiveRun], FakeTwilio]]:
    """Three workers on one database (not started) and the fake Twilio."""
    with _workers(tmp_path, "abc", ENV) as found:
        yield found


def _messages(rng: random.Random) -> tuple[list[Message], list[list[Message]]]:
    """Each member's first message (help, to learn what its answer looks like), then a burst
    of help and balance in a random order."""
    first, bursts = [], []
    for who in ROSTER.members:
        assert who.phone is not None
        words = WORDS[who.lang]
        first.append(Message(who.phone, 0, sms_form(who.phone, words[0])))
        kinds = [rng.randrange(2) for _ in range(BURST)]
        bursts.append([Message(who.phone, k, sms_form(who.phone, words[k])) for k in kinds])
    return first, bursts


async def _post_bursts(
    balancer: RoundRobin, bursts: list[list[Message]], rng: random.Random
) -> None:
    """Every person's burst at once, their messages 5 ms apart without waiting for answers
    (Twilio posts each message as it comes, so a person's webhooks overlap); a fifth of them
    delivered to two workers at once. Their order is the order they were accepted in."""

    async def one(message: Message, delay: float, client: httpx.AsyncClient) -> None:
        await asyncio.sleep(delay)
        if rng.random() < 0.2:
            message.status = await balancer.post_twice(client, message.form)
        else:
            message.status = await balancer.post(client, message.form)

    async def person(messages: list[Message], client: httpx.AsyncClient) -> None:
        await asyncio.gather(*(one(m, 0.005 * i, client) for i, m in enumerate(messages)))

    async with httpx.AsyncClient(timeout=15) as client:
        await asyncio.gather(*(person(m, client) for m in bursts))


def _check_answered_once_in_order(run: LiveRun, messages: list[Message]) -> None:
    """Each message processed once and answered by one SMS; per person, the answers come in
    the order the messages were accepted (a help answer where a help was asked)."""
    stored = dict(run.rows("SELECT external_id, processed_at FROM inbound WHERE channel = 'sms'"))
    assert {m.form["MessageSid"] for m in messages} == set(stored)
    assert all(stored.values())
    accepted: dict[str, list[int]] = defaultdict(list)
    kind_of = {m.form["MessageSid"]: m.kind for m in messages}
    for sid, address in run.rows(
        "SELECT external_id, address FROM inbound WHERE channel = 'sms' ORDER BY seq"
    ):
        accepted[address].append(kind_of[sid])
    answers: dict[str, list[str]] = defaultdict(list)
    for address, body in run.rows("SELECT address, text FROM outbox ORDER BY id"):
        answers[address].append(body)
    assert Counter({a: len(b) for a, b in answers.items()}) == Counter(
        m.sender for m in messages
    ), "not one answer per message"
    disordered = []
    for address, kinds in accepted.items():
        help_body = answers[address][0]  # the first message, alone, was a help
        got = [0 if body == help_body else 1 for body in answers[address]]
        if got != kinds:
            disordered.append((address, kinds, got))
    assert not disordered, f"answers out of order for {len(disordered)}: {disordered[:3]}"


def _check_sent_once(run: LiveRun, fake: FakeTwilio) -> None:
    """Every outbox row `sent`, and created at the fake Twilio exactly once."""
    rows = run.outbox("sms")
    assert {r["state"] for r in rows} == {"sent"}, run.backlog()
    per_row = Counter(m.idempotency_token for m in fake.messages())
    assert per_row == Counter(f"carebot-outbox-{r['id']}" for r in rows), [
        t for t, n in per_row.items() if n > 1
    ]


@pytest.mark.parametrize("count", [2, 3])
async def test_messages_split_over_workers_are_answered_once_and_in_order(
    workers: tuple[list[LiveRun], FakeTwilio], count: int
) -> None:
    runs, fake = workers
    runs = runs[:count]
    for run in runs:
        await asyncio.to_thread(run.start)
    balancer = RoundRobin(runs)
    rng = random.Random(count)
    first, bursts = _messages(rng)
    async with httpx.AsyncClient(timeout=15) as client:
        for message in first:
            message.status = await balancer.post(client, message.form)
    await asyncio.to_thread(wait_until, runs[0].settled, 30, runs[0].backlog)
    await _post_bursts(balancer, bursts, rng)
    everything = first + [m for burst in bursts for m in burst]
    assert all(m.status == 200 for m in everything), Counter(m.status for m in everything)
    await asyncio.to_thread(wait_until, runs[0].settled, 60, runs[0].backlog)
    await asyncio.sleep(1.5)  # a duplicate answer would have time to appear
    _check_answered_once_in_order(runs[0], everything)
    _check_sent_once(runs[0], fake)
    for run in runs:
        assert run.alive(), run.log_tail()


async def test_every_timer_fires_once_across_three_workers(
    workers: tuple[list[LiveRun], FakeTwilio],
) -> None:
    """Every arrival prompt fires once and its SMS is sent, all within the due time + 120 s.

    10,000 over 60 s take ~65 s on a quiet 2-core machine against ~12 s for 1,000 over 8 s, on
    either engine. CI runs the 10,000 on PostgreSQL (+~52 s: the minute is the issue's figure)
    and 1,000 on SQLite, where 10,000 would add as much again and .ci/run would outgrow its
    20 minutes; RELIABILITY_FULL=1 runs 10,000 on both. All go to 6 providers, ~1,700 each,
    which the outbox sends one after the other per recipient: on PostgreSQL its claim was once
    quadratic in that (storage/repos/outbox.py), and this is the test that found it.
    """
    runs, _ = workers
    for run in runs:
        await asyncio.to_thread(run.start)
    began = time.monotonic()
    requests = await _prompts_due_soon(runs[0].db, ROSTER, TIMERS, TIMER_SECONDS)
    stored = time.monotonic()
    pending = f"SELECT COUNT(*) FROM timers WHERE kind = '{CHECKIN}' AND state = 'pending'"
    times: dict[str, float] = {}

    def done() -> bool:
        if "fired" not in times and runs[0].value(pending) == 0:
            times["fired"] = time.monotonic() - stored
        return "fired" in times and runs[0].settled()

    await asyncio.to_thread(wait_until, done, TIMER_SECONDS + 120, runs[0].backlog)
    print(
        f"\n{TIMERS} timers stored in {stored - began:.1f}s, all fired "
        f"{times['fired']:.1f}s and all sent {time.monotonic() - stored:.1f}s after"
    )
    _check_timers(runs[0], requests)
    fired = []
    async with httpx.AsyncClient(timeout=10) as client:
        for run in runs:
            health = (await client.get(run.url + "/healthz")).json()
            fired.append(health["timers"]["fired_since_start"])
    print(f"\n{TIMERS} timers, fired per worker: {fired}")
    assert sum(fired) >= TIMERS  # (the daily rounds may add a few)
    assert sum(1 for n in fired if n > 0) >= 2, fired  # the workers shared the work


async def test_a_worker_killed_mid_load_loses_nothing_and_repeats_nothing(
    workers: tuple[list[LiveRun], FakeTwilio],
) -> None:
    runs, fake = workers
    for run in runs:
        await asyncio.to_thread(run.start)
    balancer = RoundRobin(runs)
    rng = random.Random(5)
    first, bursts = _messages(rng)
    everything = first + [m for burst in bursts for m in burst]
    killed: list[LiveRun] = []

    def leases(run: LiveRun) -> int:
        """How many sends a worker holds, as its /healthz says."""
        health = httpx.get(run.url + "/healthz", timeout=10).json()
        return int(health["worker"]["leases"].get("sms", 0))

    async def kill_midway() -> None:
        def midway() -> bool:
            return int(runs[0].value("SELECT COUNT(*) FROM inbound")) >= len(everything) // 3

        await asyncio.to_thread(wait_until, midway, 30, runs[0].backlog)
        # Sends in flight at the kill (created, answer not yet back): Twilio holds every
        # answer until the kill (8 s at most, under the client's 10 s timeout), and the worker
        # killed is one that holds some. Which worker takes a recipient's next message is a
        # race (a fixed victim held nothing at times on a busy machine); with the answers
        # held, what a worker took stays in flight until the kill.
        fake.hold_answers(8.0)
        holding: dict[int, int] = {}

        def someone_holds() -> bool:
            holding.update({i: leases(run) for i, run in enumerate(runs)})
            return any(holding.values())

        await asyncio.to_thread(wait_until, someone_holds, 30, runs[0].backlog)
        victim = runs[max(holding, key=lambda i: holding[i])]
        killed.append(victim)
        await asyncio.to_thread(victim.kill)
        fake.release_answers()

    killer = asyncio.create_task(kill_midway())
    async with httpx.AsyncClient(timeout=15) as client:
        statuses = await bounded(balancer.post(client, m.form) for m in first)
    for message, status in zip(first, statuses, strict=True):
        message.status = status
    await _post_bursts(balancer, bursts, rng)
    await killer
    [victim] = killed
    assert not victim.alive()
    # What the killed worker was answering when it died got no 200: the balancer's retry.
    async with httpx.AsyncClient(timeout=15) as client:
        for message in everything:
            if message.status != 200:
                message.status = await balancer.post(client, message.form)
    assert all(m.status == 200 for m in everything)
    await asyncio.to_thread(wait_until, runs[0].settled, 120, runs[0].backlog)
    await asyncio.sleep(1.5)
    counts = Counter(m.sender for m in everything)
    answers = Counter(a for (a,) in runs[0].rows("SELECT address FROM outbox"))
    assert answers == counts
    _check_sent_once(runs[0], fake)
    # The victim's sends were taken over by the survivors.
    survivors = "".join(r.log.read_text(errors="replace") for r in runs if r is not victim)
    assert "in flight in a process that died" in survivors


# The frozen worker's transaction is ended after this long (a hung worker's bound).
IDLE_BOUND = 3


async def test_a_worker_frozen_mid_transaction_gives_back_what_it_held(
    tmp_path: Path,
) -> None:
    with _workers(tmp_path, "ab", ENV | {"CAREBOT_DB_IDLE_TRANSACTION_SECONDS": "3"}) as found:
        runs, fake = found
        if not is_url(runs[0].db):
            pytest.skip(
                "a frozen SQLite writer holds the file's only write lock: the bound on a "
                "hung worker's transaction is PostgreSQL's (CAREBOT_TEST_DATABASE)"
            )
        for run in runs:
            await asyncio.to_thread(run.start)
        survivor, victim = runs
        rng = random.Random(7)
        first, bursts = _messages(rng)
        async with httpx.AsyncClient(timeout=15) as client:
            for message in first:
                message.status = await survivor.post_sms(client, message.form)
        await asyncio.to_thread(wait_until, survivor.settled, 30, survivor.backlog)
        assert victim.process is not None
        name = application_name(victim.process.pid)

        def holding(relation: str, state: str = "%") -> int:
            """How many of the victim's sessions (in this state) hold rows of `relation`."""
            return int(
                survivor.value(
                    "SELECT COUNT(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                    "WHERE a.application_name = ? AND l.relation = to_regclass(?) "
                    "AND a.state LIKE ?",
                    name,
                    relation,
                    state,
                )
            )

        def stopped_where() -> tuple[object, ...]:
            """In one look: how many of the victim's sessions hold inbound rows idle in a
            transaction, how many are active, and when its sessions last changed state. A
            frozen worker's statement ends in milliseconds, unless it stopped between a
            statement's Parse and its Execute (asyncpg sends them apart the first time a
            connection runs it): the server then waits for the rest, active, where no idle
            bound applies (docs/storage.md)."""
            [row] = survivor.rows(
                "SELECT (SELECT COUNT(*) FROM pg_locks l JOIN pg_stat_activity a "
                "ON a.pid = l.pid WHERE a.application_name = ? "
                "AND l.relation = to_regclass('inbound') AND a.state = 'idle in transaction') "
                "AS idle, (SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = ? "
                "AND state = 'active') AS active, (SELECT MAX(state_change) FROM "
                "pg_stat_activity WHERE application_name = ?) AS changed",
                name,
                name,
                name,
            )
            return tuple(row)

        def frozen_in_a_transaction() -> bool:
            """Freeze the victim; keep it frozen only if it is processing a message, between
            two statements, with none of its sessions waiting for the rest of a statement."""
            victim.freeze()
            # What the victim wrote just before it stopped may still be on its way to the
            # server: only a state that holds still for a moment is where the victim stopped.
            time.sleep(0.02)
            first = stopped_where()
            if first[0] and not first[1]:
                time.sleep(0.2)
                if stopped_where() == first:
                    return True
            victim.thaw()
            time.sleep(0.002)
            return False

        # Every burst to the survivor; the victim takes its share of the processing (woken by
        # NOTIFY) until it is frozen holding something.
        poster = asyncio.create_task(_post_bursts(RoundRobin([survivor]), bursts, rng))
        await asyncio.to_thread(wait_until, frozen_in_a_transaction, 30, victim.backlog)
        frozen_at = time.monotonic()
        await poster
        everything = first + [m for burst in bursts for m in burst]
        assert all(m.status == 200 for m in everything)

        def let_go() -> bool:
            return holding("inbound") == 0

        # The server ends the frozen worker's transaction: what it held comes back.
        def sessions() -> object:
            return survivor.rows(
                "SELECT a.state, a.query, l.mode FROM pg_stat_activity a LEFT JOIN pg_locks l "
                "ON l.pid = a.pid AND l.relation = to_regclass('inbound') "
                "WHERE a.application_name = ?",
                name,
            )

        await asyncio.to_thread(wait_until, let_go, IDLE_BOUND + 10, sessions)
        await asyncio.to_thread(wait_until, survivor.settled, 60, survivor.backlog)
        took = time.monotonic() - frozen_at
        victim.thaw()
        await asyncio.sleep(2)  # what the victim does on waking must not answer twice
        await asyncio.to_thread(wait_until, survivor.settled, 30, survivor.backlog)
        _check_answered_once_in_order(survivor, everything)
        _check_sent_once(survivor, fake)
        print(f"\nsettled {took:.1f}s after the victim froze in a transaction")
        assert victim.alive(), victim.log_tail()

        def healthy() -> bool:
            return httpx.get(victim.url + "/healthz", timeout=10).status_code == 200

        # (503 for a few seconds: its writes failed lately, when its session was ended.)
        await asyncio.to_thread(wait_until, healthy, 30, victim.log_tail)
