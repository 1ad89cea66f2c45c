"""Telegram with several workers on one database (issue 12): they behave as one bot.

Exactly one worker polls getUpdates, the holder of the poller lease (a second poller would get
Telegram's 409 Conflict); when it dies, another takes over once the lease has expired, and
/healthz of each says who polls. The staff group's pace is one budget for all the workers:
Telegram counts 20 messages a minute per group per bot, and the fake answers 429 past it as
Telegram does, so two workers each pacing themselves would be refused. A button pressed while
the worker that sent its message has not recorded it yet (Telegram's answer still on its way)
reaches the other worker: it waits for the record rather than calling the button stale.
The daily rounds across workers are tests/reliability/test_daily_rounds.py's.

The limits and the lease are scaled down so that the tests take seconds (see ENV).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.handlers.telegram_press import STALE
from bot.i18n import tr
from bot.services.desk import open_desk
from bot.services.notices import Notice
from tests.fakes.telegram_api import ANSWER_DEADLINE, FakeTelegram, Limits, SentMessage
from tests.live import opened
from tests.reliability import support
from tests.reliability.support import GROUP, SECRET, LiveRun, Roster, wait_until

pytestmark = pytest.mark.reliability

ROSTER = Roster.make(4)
LEASE = 3  # seconds: the poller lease, renewed every second (0.5 s was too tight under load)
ENV = {"CAREBOT_TELEGRAM_POLLER_LEASE_SECONDS": str(LEASE)}
# Telegram's group limit, sped up: one message in any 1.2 s (20 a minute in life). The
# workers pace the group at 40 a minute (one every 1.5 s), under it, as they pace 19 a minute
# under 20. One a second per chat would pace the group's rows too (they are addressed to a
# staff member): lifted, so that only the group's budget paces them. The workers look at the
# outbox every 50 ms, so that one takes over the other's rows at once.
LIMITS = Limits(overall=(30, 1.0), group=(1, 1.2))
PACED = {
    "CAREBOT_TELEGRAM_GROUP_PER_MINUTE": "40",
    "CAREBOT_TELEGRAM_PER_CHAT": "0",
    "CAREBOT_OUTBOX_POLL_SECONDS": "0.05",
    # Should a stopping worker fail to hand its rows back, they come back after 3 s, not 60.
    "CAREBOT_OUTBOX_LEASE_SECONDS": "3",
}
TESS = ROSTER.telegram_members[0]
SOPHIE = ROSTER.staff[0]  # the staff group receives the rows addressed to her


@contextmanager
def two_workers(
    tmp_path: Path,
    fake: FakeTelegram,
    *,
    webhook: bool = False,
    env: dict[str, str] | None = None,
) -> Iterator[tuple[LiveRun, LiveRun]]:
    """Two `carebot run` on one database (started), with the fake Telegram."""
    with support.two_workers(
        tmp_path, ROSTER, telegram=fake, webhook=webhook, env=ENV | (env or {})
    ) as runs:
        yield runs


def _telegram_state(run: LiveRun) -> str:
    """The telegram line of a worker's /healthz."""
    return str(httpx.get(run.url + "/healthz", timeout=5).json()["channels"]["telegram"])


def _conflicts(fake: FakeTelegram) -> int:
    """getUpdates answered 409: two pollers at once."""
    return sum(1 for call in fake.calls_of("getUpdates") if call.status == 409)


def _answered(fake: FakeTelegram, count: int) -> None:
    """Wait until Tess has `count` answers (and not more)."""
    assert TESS.telegram_id is not None
    wait_until(lambda: len(fake.messages_to(TESS.telegram_id or 0)) >= count, 20)


def test_one_worker_polls_and_another_takes_over_once_its_lease_expired(tmp_path: Path) -> None:
    assert TESS.telegram_id is not None
    with FakeTelegram() as fake, two_workers(tmp_path, fake) as (a, b):
        wait_until(
            lambda: (
                sorted("this worker polls" in _telegram_state(r) for r in (a, b)) == [False, True]
            ),
            10,
            lambda: [_telegram_state(r) for r in (a, b)],
        )
        leader, other = (a, b) if "this worker polls" in _telegram_state(a) else (b, a)
        assert "standing by" in _telegram_state(other), _telegram_state(other)
        for _ in range(4):
            fake.send_text(TESS.telegram_id, "solde")
        _answered(fake, 4)
        assert _conflicts(fake) == 0, "two workers polled getUpdates at once"

        leader.kill()
        fake.send_text(TESS.telegram_id, "solde")
        _answered(fake, 5)  # by the other worker, once the lease expired
        assert "this worker polls" in _telegram_state(other), _telegram_state(other)
        # At most the dead worker's abandoned long poll, ended by the new poller's.
        assert _conflicts(fake) <= 1
        assert len(fake.messages_to(TESS.telegram_id)) == 5  # each answered once


def test_a_poller_that_stops_hands_over_at_once(tmp_path: Path) -> None:
    """A rolling restart: the stopping poller resigns its lease; the next polls at once, not
    after the lease (20 s here)."""
    assert TESS.telegram_id is not None
    env = {"CAREBOT_TELEGRAM_POLLER_LEASE_SECONDS": "20"}
    with FakeTelegram() as fake, two_workers(tmp_path, fake, env=env) as (a, b):
        wait_until(lambda: "this worker polls" in _telegram_state(a), 10)
        a.stop()
        wait_until(
            lambda: "this worker polls" in _telegram_state(b), 8, lambda: _telegram_state(b)
        )
        fake.send_text(TESS.telegram_id, "solde")
        _answered(fake, 1)


async def _tell_staff(db: Path | str, count: int, every: float) -> None:
    """`count` staff notifications, one every `every` seconds, from outside the workers."""
    async with opened(db) as bot:
        for i in range(count):
            async with open_desk(bot.db, bot.clock, bot.agency_cache) as desk:
                await desk.notify_staff(Notice("Note {n}", {"n": i}))
            await asyncio.sleep(every)


def test_the_staff_group_is_paced_for_all_workers_together(tmp_path: Path) -> None:
    """A staff member's messages leave in order, so one worker at a time sends the group's
    notes; when it stops (a rolling restart), the other takes over at once and must not send
    the next note sooner than the pace allows: the pace is one budget, not one per worker."""
    notes = 5
    with (
        FakeTelegram(limits=LIMITS) as fake,
        two_workers(tmp_path, fake, webhook=True, env=PACED) as (a, b),
    ):
        asyncio.run(_tell_staff(a.db, notes, 0))
        fake.wait_for(lambda: fake.messages_to(GROUP), 20)
        # The worker that sent the first note holds the second, waiting for its slot: it stops
        # (and hands its rows back). (It claims the second once the first is settled: on a
        # busy machine that is a moment after the first reaches Telegram, so wait for it.)

        def holders() -> set[str]:
            return {
                str(row["lease_owner"])
                for row in a.outbox("telegram")
                if row["in_flight"] and row["address"] == str(SOPHIE.telegram_id)
            }

        wait_until(lambda: bool(holders()), 10, a.backlog)
        [owner] = holders()
        sender = next(r for r in (a, b) if r.process and f":{r.process.pid}:" in owner)
        sender.stop()
        wait_until(lambda: len(fake.messages_to(GROUP)) >= notes, 30, a.backlog)
        refused = [
            call
            for call in fake.calls_of("sendMessage")
            if int(call.params["chat_id"]) == GROUP and call.status == 429
        ]
        assert refused == [], f"{len(refused)} staff group sends over Telegram's limit"
        assert sorted(m.text for m in fake.messages_to(GROUP)) == [
            f"Note {i}" for i in range(notes)
        ]


# How long Telegram's answer to the menu's sendMessage takes to come back: the menu is on
# Tess's screen, and pressed, that long before its sender can record which message it is.
SLOW_ANSWER = 2.5


def _sender_of(runs: tuple[LiveRun, LiveRun], address: int) -> LiveRun:
    """The worker holding the lease of the row being sent to `address` right now."""

    def holders() -> set[str]:
        return {
            str(row["lease_owner"])
            for row in runs[0].outbox("telegram")
            if row["in_flight"] and row["address"] == str(address)
        }

    wait_until(lambda: bool(holders()), 10, runs[0].backlog)
    [owner] = holders()
    return next(r for r in runs if r.process and f":{r.process.pid}:" in owner)


async def _deliver(run: LiveRun, updates: list[dict[str, Any]]) -> list[int]:
    """Telegram delivers these updates at once to `run`'s webhook; the HTTP statuses."""
    async with httpx.AsyncClient(timeout=ANSWER_DEADLINE + 5) as client:
        return await asyncio.gather(*(run.post_update(client, u, SECRET) for u in updates))


def test_a_press_on_a_message_another_worker_is_still_recording_waits_for_it(
    tmp_path: Path,
) -> None:
    """Issue 12: the workers behave as one bot. One worker sends the menu; Telegram shows it
    to Tess at once, but its answer (the message id the sender records) is slow. Tess presses
    a button meanwhile, and the press reaches the other worker, which finds no record yet: it
    waits for the sender to record it, then takes the press as any other (answered silently,
    its keyboard replaced by the choice, the balance sent), within the answer's deadline. A
    press on a message that was never ours is still refused, and before the deadline even
    while a send to Tess is under way."""
    assert TESS.telegram_id is not None
    tess = TESS.telegram_id
    with FakeTelegram() as fake, two_workers(tmp_path, fake, webhook=True) as runs:
        fake.slow_send_answers(SLOW_ANSWER)
        fake.send_text(tess, "/menu")
        menu = fake.wait_message(tess, timeout=20)
        sender = _sender_of(runs, tess)
        other = runs[1] if sender is runs[0] else runs[0]
        balance = next(data for _, data in menu.buttons() if data == "mn:balance")
        never_ours = SentMessage(tess, 999_999, "", "", {"inline_keyboard": []}, time.time())
        pressed, query = fake.press_update(tess, menu, balance)
        forged, stale = fake.press_update(tess, never_ours, balance)
        started = time.monotonic()
        assert asyncio.run(_deliver(other, [pressed, forged])) == [200, 200]
        fake.slow_send_answers(0)
        answer = fake.answer_to(query)
        assert answer.get("text") is None, f"the press was refused: {answer}"
        assert fake.answer_to(stale)["text"] == tr(TESS.lang, STALE)
        assert time.monotonic() - started < ANSWER_DEADLINE
        fake.wait_for(lambda: menu.edits and not menu.buttons(), 10)
        fake.wait_for(lambda: len(fake.messages_to(tess)) >= 2, 20)
