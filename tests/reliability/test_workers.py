"""Two `carebot run` workers on one database: no message is sent twice (issue 13, finding 1).

Worker A has 30 SMS in flight (created at the fake Twilio, which holds its answers) when worker
B starts on the same database: B must not take rows A holds. Then A is SIGKILLed with sends
in flight: B takes its rows back once A's pid is gone, asks Twilio whether they went out
(they did) and sends none of them again.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.fakes.twilio import FakeTwilio
from tests.reliability.support import LiveRun, Roster, sms_form, wait_until

pytestmark = pytest.mark.reliability

ROSTER = Roster.make(30)
# How long A's sends may be held at the fake while B starts, however slow the machine; the
# Twilio timeout outlasts it, so that the hold never turns into an unknown outcome.
HOLD = 60.0
# A short lease, so that B looks for dead workers every second (default: every 20 s).
ENV = {"CAREBOT_OUTBOX_LEASE_SECONDS": "3", "CAREBOT_TWILIO_TIMEOUT": str(HOLD + 30)}


@pytest.fixture
def twin(tmp_path: Path) -> Iterator[tuple[LiveRun, LiveRun, FakeTwilio]]:
    """Workers A and B on one database and the fake Twilio; B is not started."""
    with FakeTwilio() as fake:
        first = LiveRun(tmp_path / "a", _agency(tmp_path), twilio=fake, env=ENV)
        second = LiveRun(
            tmp_path / "b", _agency(tmp_path), twilio=fake, database=first.db, env=ENV
        )
        try:
            yield first, second, fake
        finally:
            second.stop()
            first.stop()


def _agency(tmp_path: Path) -> Path:
    for home in (tmp_path / "a", tmp_path / "b"):
        home.mkdir(exist_ok=True)
    return ROSTER.write(tmp_path)


def _help_from_everyone(run: LiveRun) -> None:
    """Each member asks for help once (each answer is one SMS)."""
    for who in ROSTER.members:
        assert run.sms(sms_form(str(who.phone), "aide")) == 200


def _check_once(run: LiveRun, fake: FakeTwilio) -> None:
    """Every row sent, each exactly once at Twilio, under the SID Twilio gave it."""
    rows = run.outbox("sms")
    assert {r["state"] for r in rows} == {"sent"}, run.backlog()
    per_token = Counter(m.idempotency_token for m in fake.messages())
    assert per_token == Counter(f"carebot-outbox-{r['id']}" for r in rows), per_token
    by_sid = {m.sid: m for m in fake.messages()}
    assert all(r["external_id"] in by_sid for r in rows)


def test_a_second_worker_never_takes_what_the_first_is_sending(
    twin: tuple[LiveRun, LiveRun, FakeTwilio],
) -> None:
    first, second, fake = twin
    first.start()
    # A's sends stay in flight until the test lets Twilio answer: B's start may take seconds
    # on a busy machine (a fixed delay ran out before B was up, and A held nothing then).
    fake.hold_answers(HOLD)
    _help_from_everyone(first)
    wait_until(lambda: len(fake.messages()) == len(ROSTER.members), 30, first.backlog)
    second.start()  # while A's 30 sends wait for Twilio's answers
    time.sleep(1.5)  # B claims at start and every second
    assert len(fake.messages()) == len(ROSTER.members), "B sent A's messages again"
    # Each worker's /healthz says what it holds: A all 30, still in flight, B nothing.
    held_a = httpx.get(first.url + "/healthz", timeout=10).json()["worker"]
    held_b = httpx.get(second.url + "/healthz", timeout=10).json()["worker"]
    fake.release_answers()
    assert held_a["leases"] == {"sms": len(ROSTER.members)}, held_a
    assert held_b["leases"] == {}, held_b
    assert held_a["id"] != held_b["id"]
    wait_until(first.settled, 30, first.backlog)
    # B works too: what arrives through it goes out, once.
    for who in ROSTER.members[:5]:
        assert second.sms(sms_form(str(who.phone), "solde")) == 200
    wait_until(second.settled, 30, second.backlog)
    time.sleep(1.5)  # a duplicate would have time to arrive
    _check_once(first, fake)
    assert len(fake.messages()) == len(ROSTER.members) + 5


def test_a_crashed_workers_sends_come_back_to_the_live_one_and_are_not_repeated(
    twin: tuple[LiveRun, LiveRun, FakeTwilio],
) -> None:
    first, second, fake = twin
    first.start()
    second.start()
    fake.hold_answers(HOLD)
    _help_from_everyone(first)  # A takes them (B may take some: both are workers)
    wait_until(lambda: len(fake.messages()) == len(ROSTER.members), 30, first.backlog)
    held = first.value("SELECT COUNT(*) FROM outbox WHERE in_flight = 1")
    first.kill()  # A's answers never come: its rows stay leased to a dead pid
    fake.release_answers()  # (B's, if it took some, do)
    assert held == len(ROSTER.members)
    wait_until(second.settled, 30, second.backlog)
    time.sleep(1.5)
    _check_once(second, fake)
    assert len(fake.messages()) == len(ROSTER.members)
    log = second.log.read_text(errors="replace")
    assert "in flight in a process that died" in log, second.log_tail()
    assert "had gone out as SM" in log
