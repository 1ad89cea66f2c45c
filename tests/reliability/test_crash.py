"""Crash: `carebot run` SIGKILLed in the middle of a load of inbound SMS and due timers.

A stream of signed webhooks (members and providers writing "aide", "solde", "help") is posted
while a few hundred arrival prompts fall due; the bot is killed once part of both is done,
then restarted. Twilio's retries are played too: every webhook that did not get its 200 is
posted again (same MessageSid), and some that did get it as well. In the end every message
is processed exactly once (one answer each), every timer fired once (one prompt each), and
every outbox row reached the fake Twilio exactly once, and is `sent`: the SMS the kill cut
off (created at Twilio, answer not yet recorded) are found in Twilio's list at the restart,
not sent again. With RELIABILITY_FULL=1 the load is five times bigger and the bot is killed a
second time while it recovers.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from bot.services.appointments import CHECKIN
from tests.appointments import add_confirmed
from tests.fakes.twilio import FakeTwilio
from tests.live import opened
from tests.reliability.support import FULL, LiveRun, Roster, bounded, sms_form, wait_until

pytestmark = pytest.mark.reliability

POSTS = 1000 if FULL else 200  # inbound SMS
TIMERS = 1500 if FULL else 300  # arrival prompts
POST_SECONDS = 8.0 if FULL else 5.0  # the stream of webhooks lasts this long (past the kill)
TIMER_SECONDS = 10.0 if FULL else 4.0  # the prompts fall due over this long
HELD = 5  # SMS created at the fake Twilio whose answer the kill cuts off
CHECKINS = "SELECT COUNT(*) FROM timers WHERE kind = ?"
WORDS = {"fr": ["aide", "solde"], "en": ["help", "balance"]}


@dataclass
class Post:
    """One inbound SMS of the load and what its webhook answered (0: no answer)."""

    sender: str
    form: dict[str, str]
    status: int = 0


@pytest.fixture
def crashed(tmp_path: Path) -> Iterator[tuple[LiveRun, FakeTwilio, Roster]]:
    """A `carebot run` of SMS members and providers on the fake Twilio (stopped at the end)."""
    roster = Roster.make(60)
    with FakeTwilio() as fake:
        run = LiveRun(tmp_path, roster.write(tmp_path), twilio=fake)
        try:
            yield run, fake, roster
        finally:
            run.stop()


async def _prompts_due_soon(
    db: Path | str, roster: Roster, count: int, within: float
) -> list[int]:
    """`count` confirmed appointments (none overlapping for a provider) whose arrival prompts
    fall due over the next `within` seconds; their request ids."""
    async with opened(db) as bot:
        now = datetime.now(UTC)
        first_start = now.replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
        ids = []
        async with bot.db.transaction() as tx:
            for n in range(count):
                provider = roster.providers[n % len(roster.providers)]
                member = roster.members[n % len(roster.members)]
                start = first_start + timedelta(hours=3 * (n // len(roster.providers)))
                request = await add_confirmed(
                    tx.requests, member.id, provider.id, start, now, fee=Decimal("5.00")
                )
                due = now + timedelta(seconds=1 + within * n / count)
                await tx.timers.add(CHECKIN, due, request.id)
                ids.append(request.id)
        return ids


def _load(roster: Roster) -> list[Post]:
    """The inbound SMS: from 40 members and every SMS provider, each answered by one SMS."""
    rng = random.Random(7)
    people = roster.members[:40] + roster.providers
    posts = []
    for _ in range(POSTS):
        who = rng.choice(people)
        assert who.phone is not None
        posts.append(Post(who.phone, sms_form(who.phone, rng.choice(WORDS[who.lang]))))
    return posts


async def _stream(run: LiveRun, posts: list[Post], seconds: float) -> None:
    """Post the webhooks at a steady rate over `seconds`, 16 at a time at most."""
    limit = asyncio.Semaphore(16)
    began = time.monotonic()

    async def one(index: int, post: Post, client: httpx.AsyncClient) -> None:
        await asyncio.sleep(max(0.0, began + seconds * index / len(posts) - time.monotonic()))
        async with limit:
            post.status = await run.post_sms(client, post.form)

    async with httpx.AsyncClient(timeout=10) as client:
        await asyncio.gather(*(one(i, p, client) for i, p in enumerate(posts)))


def _progress(run: LiveRun) -> dict[str, int]:
    """How far the bot got: timers fired, inbound processed, SMS sent."""
    return {
        "fired": run.value(CHECKINS + " AND state = 'fired'", CHECKIN),
        "pending": run.value(CHECKINS + " AND state = 'pending'", CHECKIN),
        "accepted": run.value("SELECT COUNT(*) FROM inbound WHERE channel = 'sms'"),
        "processed": run.value(
            "SELECT COUNT(*) FROM inbound WHERE channel = 'sms' AND processed_at IS NOT NULL"
        ),
        "sent": run.value("SELECT COUNT(*) FROM outbox WHERE state = 'sent'"),
        "in_flight": run.value("SELECT COUNT(*) FROM outbox WHERE in_flight = 1"),
    }


async def _kill_midway(
    run: LiveRun, fake: FakeTwilio, timers: int, accepted: int
) -> tuple[dict[str, int], list[str]]:
    """SIGKILL the bot once a third of the timers fired and `accepted` webhooks were stored,
    while a few SMS are created at the fake but not yet answered (so not yet marked sent);
    the progress at the kill, and the tokens (row labels) of those SMS."""

    def midway() -> bool:
        progress = _progress(run)
        return progress["fired"] >= timers // 3 and progress["accepted"] >= accepted

    await asyncio.to_thread(wait_until, midway, 30, lambda: _progress(run))
    created = len(fake.messages())
    fake.delay_next(HELD, 3.0)
    await asyncio.to_thread(wait_until, lambda: len(fake.messages()) >= created + HELD, 10)
    await asyncio.to_thread(run.kill)
    held = [str(m.idempotency_token) for m in fake.messages()[created : created + HELD]]
    return await asyncio.to_thread(_progress, run), held


async def test_sigkill_under_load_loses_nothing_and_repeats_nothing(
    crashed: tuple[LiveRun, FakeTwilio, Roster],
) -> None:
    run, fake, roster = crashed
    run.start()
    requests = await _prompts_due_soon(run.db, roster, TIMERS, TIMER_SECONDS)
    posts = _load(roster)
    stream = asyncio.create_task(_stream(run, posts, POST_SECONDS))
    at_kill, held = await _kill_midway(run, fake, TIMERS, POSTS // 3)
    print(f"\nat the kill: {at_kill}")
    await stream  # what was posted after the kill got no answer
    # The kill fell in the middle of both: timers left to fire, webhooks left unanswered.
    assert 0 < at_kill["pending"] < TIMERS, at_kill
    refused = [p for p in posts if p.status != 200]
    assert refused and all(p.status == 0 for p in refused), Counter(p.status for p in posts)

    rng = random.Random(11)
    for round_ in range(2 if FULL else 1):
        run.start()
        # Twilio retries what got no answer (same MessageSid), and, as after a lost answer,
        # some that did get one; each one more than once, concurrently.
        again = refused + rng.sample([p for p in posts if p.status == 200], 30)
        async with httpx.AsyncClient(timeout=10) as client:
            statuses = await bounded(run.post_sms(client, p.form) for p in again for _ in range(2))
        answered = dict(zip((id(p) for p in again for _ in range(2)), statuses, strict=True))
        for post in refused:
            post.status = answered[id(post)]
        if FULL and round_ == 0:  # killed again while it works through the backlog
            await asyncio.sleep(0.5)
            run.kill()
            refused = [p for p in posts if p.status != 200]
    assert all(p.status == 200 for p in posts)

    def done() -> bool:
        return run.settled() and _progress(run)["pending"] == 0

    wait_until(done, 120 if FULL else 60, run.backlog)
    _check_inbound(run, posts)
    _check_timers(run, requests)
    _check_outbox(run, fake, held)
    assert run.alive(), run.log_tail()


def _check_inbound(run: LiveRun, posts: list[Post]) -> None:
    """Each message stored once, processed once, and answered by exactly one SMS."""
    stored = dict(run.rows("SELECT external_id, processed_at FROM inbound WHERE channel = 'sms'"))
    assert {p.form["MessageSid"] for p in posts} == set(stored)
    assert all(stored.values())
    sent_by = Counter(p.sender for p in posts)
    answers = Counter(
        address
        for address, options in run.rows("SELECT address, options_json FROM outbox")
        if options is None  # help and balance have no options; arrival prompts have
    )
    assert answers == sent_by


def _check_timers(run: LiveRun, requests: list[int]) -> None:
    """Every timer fired, and each appointment got exactly one arrival prompt."""
    assert run.rows(
        "SELECT state, COUNT(*) FROM timers WHERE kind = ? GROUP BY state", CHECKIN
    ) == [("fired", len(requests))]
    prompts = Counter(
        int(options.split('"in:')[1].split(":")[0])
        for (options,) in run.rows(
            "SELECT options_json FROM outbox WHERE options_json LIKE ?", '%"in:%:arr"%'
        )
    )
    assert prompts == Counter(requests)


def _check_outbox(run: LiveRun, fake: FakeTwilio, held: list[str]) -> None:
    """Every row `sent`, and reached the fake once (its token tells the rows apart); the rows
    whose answer the kill cut off (`held`) were found in Twilio's list, not created again."""
    rows = run.outbox("sms")
    per_row = Counter(m.idempotency_token for m in fake.messages())
    print(
        f"\ncrash run: {len(rows)} rows, {len(fake.messages())} SMS created, "
        f"{sum(1 for r in rows if r['state'] != 'sent')} not sent, "
        f"{sum(n - 1 for n in per_row.values())} duplicated"
    )
    assert {r["state"] for r in rows} == {"sent"}
    assert not any(r["in_flight"] for r in rows)
    messages = fake.messages()
    by_token = {m.idempotency_token: m for m in messages}
    assert len(by_token) == len(messages) == len(rows)
    for row in rows:
        message = by_token[f"carebot-outbox-{row['id']}"]
        assert message.sid == row["external_id"]
        assert message.to == row["address"]
    tries = Counter(r.idempotency_token for r in fake.requests() if r.status == 201)
    assert len(held) == HELD
    assert all(tries[token] == 1 for token in held), {t: tries[t] for t in held}
    assert "had gone out as SM" in run.log.read_text(errors="replace")
