"""Sends whose outcome is unknown are reconciled, not repeated (issue 13, finding 2).

Twilio documents no idempotency for message creation. When it creates a message but the
answer never comes back in time, the bot must find that message in Twilio's list before it
sends again; when nothing was created, it must send (once). `carebot run` runs with a 3 s
Twilio timeout (CAREBOT_TWILIO_TIMEOUT) so that the fake's hangs stay short: shorter, an
ordinary create on a loaded machine outlasts it and is looked up too.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.twilio import FakeTwilio
from tests.reliability.support import LiveRun, Roster, sms_bot, sms_form, wait_until

pytestmark = pytest.mark.reliability

ROSTER = Roster.make(10)
TIMEOUT = 3.0
ENV = {"CAREBOT_TWILIO_TIMEOUT": str(TIMEOUT)}


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[LiveRun, FakeTwilio]]:
    """`carebot run` with SMS only, on the fake Twilio, a short Twilio timeout."""
    with sms_bot(tmp_path, ROSTER, ENV) as found:
        yield found


def _ask_everyone(run: LiveRun) -> None:
    for who in ROSTER.members:
        assert run.sms(sms_form(str(who.phone), "aide")) == 200


def _sent_once(run: LiveRun, fake: FakeTwilio) -> list[dict[str, object]]:
    """Every row sent, one message at Twilio each, recorded under that message's SID."""
    wait_until(run.settled, 30, run.backlog)
    time.sleep(1.0)  # a duplicate would have time to arrive
    rows = run.outbox("sms")
    assert {r["state"] for r in rows} == {"sent"}, run.backlog()
    per_row = Counter(m.idempotency_token for m in fake.messages())
    assert per_row == Counter(f"carebot-outbox-{r['id']}" for r in rows), per_row
    sids = {m.idempotency_token: m.sid for m in fake.messages()}
    assert all(sids[f"carebot-outbox-{r['id']}"] == r["external_id"] for r in rows)
    return rows


def test_created_then_timed_out_is_found_and_not_sent_again(
    live: tuple[LiveRun, FakeTwilio],
) -> None:
    run, fake = live
    fake.delay_next(len(ROSTER.members), TIMEOUT + 2)  # created at once, answered too late
    _ask_everyone(run)
    rows = _sent_once(run, fake)
    assert len(rows) == len(ROSTER.members)
    log = run.log.read_text(errors="replace")
    assert log.count("had gone out as SM") == len(rows), run.log_tail()
    # Found through Twilio's list, and sent once: one create per row, no second try.
    assert Counter(r.status for r in fake.requests()) == {201: len(rows)}


def test_never_created_then_timed_out_is_sent_again_once(
    live: tuple[LiveRun, FakeTwilio],
) -> None:
    run, fake = live
    # What comes within the timeout is held past it, then answered 503, none created; the
    # look-ups, which come a timeout after, are answered.
    fake.stall_for(TIMEOUT, hold=TIMEOUT + 0.5)
    _ask_everyone(run)
    rows = _sent_once(run, fake)
    assert len(rows) == len(ROSTER.members)
    log = run.log.read_text(errors="replace")
    assert "had not gone out; sending it" in log, run.log_tail()
    assert "had gone out as SM" not in log
