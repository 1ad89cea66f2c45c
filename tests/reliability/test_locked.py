"""A database locked past the busy timeout (issue 13, findings 4 and 5).

Another process holds SQLite's write lock longer than `carebot run` waits for it
(CAREBOT_DB_BUSY_MS, 500 ms here). Meanwhile /healthz must say the database fails (503), so
that a load balancer takes the worker out, and an inbound SMS webhook must hold its answer and
try again (within CAREBOT_SMS_STORE_SECONDS) rather than answer 500: Twilio retries a
webhook only when the connection fails, so an error answer most likely loses the SMS.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.fakes.twilio import FakeTwilio
from tests.reliability.support import LiveRun, Roster, sms_bot, sms_form, wait_until

pytestmark = pytest.mark.reliability

ROSTER = Roster.make(2)
HOLD = 2.5  # seconds the test holds the lock: five busy timeouts
ENV = {"CAREBOT_DB_BUSY_MS": "500", "CAREBOT_SMS_STORE_SECONDS": "6"}


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[LiveRun, FakeTwilio]]:
    """`carebot run` with SMS on the fake Twilio and a short busy timeout."""
    with sms_bot(tmp_path, ROSTER, ENV) as found:
        yield found


def _hold_lock(db: Path, taken: threading.Event, seconds: float) -> None:
    """Take the database's write lock, as another process's long transaction would."""
    conn = sqlite3.connect(db, timeout=10, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        taken.set()
        time.sleep(seconds)
        conn.execute("ROLLBACK")
    finally:
        conn.close()


def test_a_lock_held_past_the_busy_timeout_holds_the_webhook_and_fails_healthz(
    live: tuple[LiveRun, FakeTwilio],
) -> None:
    run, fake = live
    who = ROSTER.members[0]
    taken = threading.Event()
    locker = threading.Thread(target=_hold_lock, args=(run.db, taken, HOLD))
    locker.start()
    try:
        assert taken.wait(5)
        answers: dict[str, int] = {}

        def post() -> None:
            answers["sms"] = run.sms(sms_form(str(who.phone), "aide"))

        poster = threading.Thread(target=post)
        began = time.monotonic()
        poster.start()
        time.sleep(1.0)  # the webhook's first try has failed by now
        health = httpx.get(run.url + "/healthz", timeout=10)
        assert health.status_code == 503, health.text
        assert "locked" in health.json()["database"]
        poster.join(15)
        held = time.monotonic() - began
    finally:
        locker.join(10)
    assert answers == {"sms": 200}  # answered once it was stored, after the lock
    assert held >= HOLD - 1.2, held
    fake.wait_for(str(who.phone), 1, timeout=15)  # and handled
    wait_until(lambda: httpx.get(run.url + "/healthz").status_code == 200, 15)
    assert "sms intake: database is locked; trying again" in run.log.read_text(errors="replace")


def test_past_the_budget_the_webhook_answers_503(tmp_path: Path) -> None:
    """A lock held longer than the budget: 503 (not 500), within Twilio's 15 s."""
    env = {"CAREBOT_DB_BUSY_MS": "300", "CAREBOT_SMS_STORE_SECONDS": "1.5"}
    with sms_bot(tmp_path, ROSTER, env) as (run, _):
        taken = threading.Event()
        locker = threading.Thread(target=_hold_lock, args=(run.db, taken, 4.0))
        locker.start()
        assert taken.wait(5)
        began = time.monotonic()
        status = run.sms(sms_form(str(ROSTER.members[1].phone), "aide"))
        took = time.monotonic() - began
        locker.join(10)
        assert status == 503
        assert 1.0 <= took < 4.0, took
