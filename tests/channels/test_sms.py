"""The SMS channel end to end (issue §2-§7): a real `carebot run`, the fake Twilio on loopback,
and webhooks signed as Twilio signs them.

One `carebot run` serves the whole module (it starts in seconds, the tests in milliseconds);
each test speaks as different people of tests/transcripts/agency.toml, so none disturbs
another whatever the order.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from twilio.request_validator import RequestValidator

from bot.domain.agency import Member, Provider
from bot.handlers.sms_standin import new_message_sid
from bot.services.booking import send_request
from bot.services.desk import open_desk
from tests import peek
from tests.appointments import add_confirmed
from tests.conftest import AGENCY, ROOT
from tests.fakes.twilio import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    BOT_NUMBER,
    FakeMessage,
    FakeTwilio,
    inbound_form,
)
from tests.live import carebot_run, clean_env, free_port, import_agency, opened

BOB, DAVID, FANNY = "+447700900123", "+33611111111", "+447700900456"
MARIE, PAUL, SAM = "+33600000001", "+33600000002", "+33600000004"
STRANGER = "+447700900999"
T = TypeVar("T")


@dataclass
class LiveBot:
    """A running `carebot run` and the way to talk to it as Twilio."""

    url: str
    db: Path | str
    process: subprocess.Popen[bytes]
    http: httpx.Client

    def post(
        self,
        path: str,
        form: dict[str, str] | None = None,
        *,
        content: bytes | None = None,
        signature: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """Post a form; signed for `path` unless a signature (or raw content) is given."""
        if signature is None and form is not None:
            signature = RequestValidator(AUTH_TOKEN).compute_signature(self.url + path, form)
        return self.http.post(
            self.url + path,
            data=form if content is None else None,
            content=content,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                **({"X-Twilio-Signature": signature} if signature else {}),
                **(headers or {}),
            },
        )

    def sms(self, sender: str, text: str, sid: str | None = None) -> httpx.Response:
        """An inbound SMS, as Twilio posts it."""
        return self.post("/sms/inbound", inbound_form(sender, text, sid))

    def rows(self, sql: str, *args: object) -> list[tuple[Any, ...]]:
        """Read the bot's database (WAL: never blocks the bot)."""
        return [tuple(r.values()) for r in peek.rows(self.db, sql, args)]

    def inbound_count(self) -> int:
        """How many inbound SMS were recorded."""
        return int(self.rows("SELECT COUNT(*) FROM inbound WHERE channel = 'sms'")[0][0])


def eventually(check: Callable[[], T | None], timeout: float = 10.0) -> T:
    """Poll until `check` returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError("condition never held")
        time.sleep(0.02)


def option(message: FakeMessage, label: str) -> str:
    """The number of the option whose label contains `label`, read from the SMS text."""
    for line in message.body.splitlines():
        number, dot, rest = line.partition(". ")
        if dot and number.isdigit() and label in rest:
            return number
    raise AssertionError(f"no option {label!r} in {message.body!r}")


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeTwilio]:
    """The fake Twilio the bot sends through."""
    with FakeTwilio() as server:
        yield server


@pytest.fixture(scope="module")
def live(fake: FakeTwilio, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveBot]:
    """`carebot import` the test agency, then `carebot run` with the SMS channel on."""
    folder = tmp_path_factory.mktemp("sms")
    db, log = peek.scratch(folder), folder / "carebot-run.log"
    import_agency(AGENCY, db)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = clean_env(
        CAREBOT_DATABASE=str(db),
        CAREBOT_PUBLIC_URL=url,
        CAREBOT_TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        CAREBOT_TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        CAREBOT_TWILIO_FROM=BOT_NUMBER,
        CAREBOT_TWILIO_API_URL=fake.url,
        CAREBOT_SWEEP_SECONDS="1",
    )
    # The bot logs every SMS: to a file, not to a pipe that nobody reads until it is full.
    with carebot_run(port, env, log) as (process, health):
        channels = health["channels"]
        assert isinstance(channels, dict) and channels["sms"].startswith("on")
        with httpx.Client(timeout=10) as http:
            yield LiveBot(url, db, process, http)
        assert process.poll() is None, f"carebot run died: {log.read_text(errors='replace')}"


@pytest.fixture(autouse=True)
def _fresh_fake(fake: FakeTwilio) -> None:
    fake.reset()


# --- conversations ---------------------------------------------------------------------


def test_a_booking_made_entirely_by_sms(live: LiveBot, fake: FakeTwilio) -> None:
    assert live.sms(BOB, "Hello, I would like to book please").status_code == 200
    [services] = fake.wait_for(BOB)
    assert "\n1. Childcare\n2. Cleaning" in services.body
    live.sms(BOB, option(services, "Childcare"))
    fake.wait_for(BOB, 2)
    live.sms(BOB, "tomorrow 2pm to 6pm")
    providers = fake.wait_for(BOB, 3)[-1]
    assert "Paul Girard" in providers.body
    live.sms(BOB, option(providers, "Paul Girard"))
    summary = fake.wait_for(BOB, 4)[-1]
    assert "€" in summary.body
    live.sms(BOB, option(summary, "Confirm"))

    [request] = fake.wait_for(PAUL, where=lambda m: "Bob Smith" in m.body)
    assert "1. Yes, I confirm\n2. No, I decline" in request.body
    live.sms(PAUL, "yes")
    fake.wait_for(BOB, where=lambda m: "confirmed your booking" in m.body)
    [(status, provider)] = live.rows(
        "SELECT status, provider_id FROM requests WHERE member_id = 'bob'"
    )
    assert (status, provider) == ("confirmed", "paul")
    # Every SMS left once, with its own idempotency key, and fits in 2 segments.
    tokens = [r.idempotency_token for r in fake.requests()]
    assert len(tokens) == len(set(tokens)) == len(fake.messages())


async def _appointment_under_way(db: Path | str) -> int:
    """David's confirmed childcare with Paul, starting in 10 minutes: check-in is open."""
    async with opened(db) as bot:
        now = datetime.now(UTC)
        async with bot.db.transaction() as tx:
            start = now + timedelta(minutes=10)
            request = await add_confirmed(
                tx.requests, "david", "paul", start, now, fee=Decimal("0.00")
            )
        return request.id


def test_a_provider_runs_late_then_reports_the_client_absent(
    live: LiveBot, fake: FakeTwilio
) -> None:
    request_id = asyncio.run(_appointment_under_way(live.db))
    live.sms(PAUL, "late 15")
    [late] = fake.wait_for(DAVID, where=lambda m: "retard" in m.body)
    assert "Paul Girard" in late.body
    fake.wait_for(PAUL, where=lambda m: "David Petit" in m.body)

    live.sms(PAUL, "absent")
    [door] = fake.wait_for(DAVID, where=lambda m: "porte" in m.body)
    assert "Paul Girard" in door.body
    [(absent_at,)] = live.rows("SELECT absent_at FROM requests WHERE id = ?", request_id)
    assert absent_at is not None


def test_stop_then_start(live: LiveBot, fake: FakeTwilio) -> None:
    live.sms(FANNY, "STOP")
    eventually(lambda: live.rows("SELECT 1 FROM people WHERE id = 'fanny' AND opted_out = 1"))
    staff_told = live.rows(
        "SELECT person_id FROM outbox WHERE text LIKE '%Fanny Hall%STOP%' AND person_id "
        "IN ('sophie', 'karim')"
    )
    assert len(staff_told) == 2
    live.sms(FANNY, "balance")  # answered in the outbox as dropped, never sent
    eventually(
        lambda: live.rows("SELECT 1 FROM outbox WHERE person_id = 'fanny' AND state = 'dropped'")
    )
    # START, sent with the documented helper, opts back in and is answered.
    sent = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "sms-send",
            "--from",
            FANNY,
            "START",
            "--url",
            live.url,
            "--token",
            AUTH_TOKEN,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert sent.returncode == 0, sent.stderr
    assert sent.stdout.startswith("200 ") and "<Response/>" in sent.stdout
    [again] = fake.wait_for(FANNY)
    assert "again" in again.body
    assert [m.body for m in fake.messages(FANNY)] == [again.body]  # nothing while opted out
    assert not live.rows("SELECT 1 FROM people WHERE id = 'fanny' AND opted_out = 1")


def test_a_stranger_gets_one_polite_answer_and_a_retried_delivery_is_ignored(
    live: LiveBot, fake: FakeTwilio
) -> None:
    before = live.inbound_count()
    sid = new_message_sid()
    first = live.sms(STRANGER, "Hi, is this the agency?", sid)
    replayed = live.sms(STRANGER, "Hi, is this the agency?", sid)
    for answer in (first, replayed):
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/xml")
        assert "<Response/>" in answer.text
    [polite] = fake.wait_for(STRANGER)
    assert "pas enregistré" in polite.body  # in the agency's language
    live.sms(STRANGER, "Hello??")
    eventually(lambda: live.inbound_count() == before + 2)
    time.sleep(0.3)  # the second message is handled, and answered by nothing
    assert len(fake.messages(STRANGER)) == 1
    assert live.rows(
        "SELECT COUNT(*) FROM inbound WHERE external_id = ? AND processed_at IS NOT NULL", sid
    ) == [(1,)]


# --- what never reaches the flows ----------------------------------------------------------


def test_a_forged_signature_is_refused_and_nothing_is_recorded(
    live: LiveBot, fake: FakeTwilio
) -> None:
    before = live.inbound_count()
    form = {"MessageSid": new_message_sid(), "From": SAM, "To": BOT_NUMBER, "Body": "HELP"}
    signer = RequestValidator("not-the-auth-token")
    forged = [
        live.post("/sms/inbound", form, signature=signer.compute_signature(live.url, form)),
        live.post("/sms/inbound", form, signature="bm90IGEgc2lnbmF0dXJl"),
        live.post("/sms/inbound", content=b"MessageSid=SM1&From=%2B33600000004&Body=HELP"),
        # Signed for another URL, or with one field changed after signing.
        live.post(
            "/sms/inbound",
            form,
            signature=RequestValidator(AUTH_TOKEN).compute_signature(
                "https://elsewhere.example/sms/inbound", form
            ),
        ),
        live.post(
            "/sms/inbound",
            {**form, "Body": "STOP"},
            signature=RequestValidator(AUTH_TOKEN).compute_signature(
                live.url + "/sms/inbound", form
            ),
        ),
        live.post(
            "/sms/status",
            {"MessageSid": "SM" + "0" * 32, "MessageStatus": "failed"},
            signature="x",
        ),
    ]
    assert [r.status_code for r in forged] == [403] * len(forged)
    assert live.inbound_count() == before
    time.sleep(0.2)
    assert fake.messages(SAM) == []


def test_malformed_requests_are_refused_before_the_flows(live: LiveBot) -> None:
    before = live.inbound_count()
    sid = new_message_sid()
    answers = {
        "no From": live.post("/sms/inbound", {"MessageSid": sid, "Body": "hi"}).status_code,
        "no Body": live.post("/sms/inbound", {"MessageSid": sid, "From": SAM}).status_code,
        "no MessageSid": live.post("/sms/inbound", {"From": SAM, "Body": "hi"}).status_code,
        "bad MessageSid": live.post(
            "/sms/inbound", {"MessageSid": "x", "From": SAM, "Body": "hi"}
        ).status_code,
        "From not a number": live.post(
            "/sms/inbound", {"MessageSid": sid, "From": "Carebot", "Body": "hi"}
        ).status_code,
        "no status": live.post("/sms/status", {"MessageSid": sid}).status_code,
        "10 kB body": live.post(
            "/sms/inbound", {"MessageSid": sid, "From": SAM, "Body": "x" * 10_000}
        ).status_code,
        "invalid UTF-8": live.post(
            "/sms/inbound", content=b"MessageSid=" + sid.encode() + b"&From=%2B336&Body=\xff\xfe"
        ).status_code,
        "invalid UTF-8 escape": live.post(
            "/sms/inbound", content=b"MessageSid=" + sid.encode() + b"&Body=%C3%28"
        ).status_code,
        "JSON": live.http.post(live.url + "/sms/inbound", json={"Body": "hi"}).status_code,
        "GET": live.http.get(live.url + "/sms/inbound").status_code,
    }
    assert answers == {
        "no From": 400,
        "no Body": 400,
        "no MessageSid": 400,
        "bad MessageSid": 400,
        "From not a number": 400,
        "no status": 400,
        "10 kB body": 413,
        "invalid UTF-8": 400,
        "invalid UTF-8 escape": 400,
        "JSON": 415,
        "GET": 405,
    }
    assert live.inbound_count() == before
    assert live.http.get(live.url + "/healthz").status_code == 200


# --- sending through Twilio's failures ---------------------------------------------------


def test_a_500_then_success_delivers_the_message_once(live: LiveBot, fake: FakeTwilio) -> None:
    fake.fail_next(1, 500)
    live.sms(MARIE, "aide")
    [help_text] = fake.wait_for(MARIE, timeout=15)
    assert "OUI" in help_text.body  # her help, in French
    assert [(r.to, r.status) for r in fake.requests()] == [(MARIE, 500), (MARIE, 201)]
    assert len({r.idempotency_token for r in fake.requests()}) == 1  # the same row, retried
    time.sleep(0.3)
    assert len(fake.messages(MARIE)) == 1
    [(state, external_id, attempts)] = live.rows(
        "SELECT state, external_id, attempts FROM outbox WHERE person_id = 'marie' "
        "AND channel = 'sms' ORDER BY id DESC LIMIT 1"
    )
    assert (state, external_id, attempts) == ("sent", help_text.sid, 2)


def test_twilio_21610_marks_the_number_opted_out(live: LiveBot, fake: FakeTwilio) -> None:
    fake.refuse(SAM)  # Sam replied STOP to our number at the carrier
    live.sms(SAM, "help")
    eventually(lambda: live.rows("SELECT 1 FROM people WHERE id = 'sam' AND opted_out = 1"))
    assert fake.messages(SAM) == []
    assert [(r.status, r.code) for r in fake.requests()] == [(400, 21610)]
    [(state,)] = live.rows("SELECT state FROM outbox WHERE person_id = 'sam' AND channel = 'sms'")
    assert state == "dropped"
    assert len(live.rows("SELECT 1 FROM outbox WHERE text LIKE '%Samir Benali%STOP%'")) == 2


# --- delivery status callbacks -------------------------------------------------------------


def test_status_callbacks_late_and_out_of_order(live: LiveBot, fake: FakeTwilio) -> None:
    live.sms(DAVID, "aide")
    [sent] = fake.wait_for(DAVID)
    eventually(lambda: live.rows("SELECT 1 FROM outbox WHERE external_id = ?", sent.sid))

    def callback(status: str) -> int:
        form = {"MessageSid": sent.sid, "AccountSid": ACCOUNT_SID, "MessageStatus": status}
        return live.post("/sms/status", form).status_code

    assert [callback(s) for s in ("delivered", "sent", "queued", "delivered")] == [204] * 4
    assert live.rows("SELECT delivery FROM outbox WHERE external_id = ?", sent.sid) == [
        ("delivered",)
    ]
    unknown = {"MessageSid": "SM" + "f" * 32, "MessageStatus": "delivered"}
    assert live.post("/sms/status", unknown).status_code == 204


async def _request_to_marie(db: Path | str) -> int:
    """Fanny's cleaning request put to Marie (by the bot's own services, in its database)."""
    async with opened(db) as bot:
        async with open_desk(bot.db, bot.clock) as desk:
            member, provider = (
                await desk.tx.roster.person("fanny"),
                await desk.tx.roster.person("marie"),
            )
            assert isinstance(member, Member) and isinstance(provider, Provider)
            start = (desk.now + timedelta(days=3)).replace(hour=9, minute=0, second=0)
            request = await send_request(
                desk,
                member,
                desk.services["cleaning"],
                start,
                start + timedelta(hours=2),
                provider,
            )
        return request.id


def test_an_undelivered_request_to_a_provider_goes_to_staff(
    live: LiveBot, fake: FakeTwilio
) -> None:
    fake.deliver(MARIE, "undelivered", "30003")  # her phone is off: Twilio reports it
    request_id = asyncio.run(_request_to_marie(live.db))
    fake.wait_for(MARIE, where=lambda m: "Fanny Hall" in m.body)
    eventually(
        lambda: live.rows(
            "SELECT 1 FROM requests WHERE id = ? AND status = 'escalated'", request_id
        )
    )
    assert live.rows("SELECT reason, about FROM escalations WHERE request_id = ?", request_id) == [
        ("sms_failed", "marie")
    ]
    [told] = fake.wait_for(FANNY, where=lambda m: "not available" in m.body)
    assert "Marie Dupont" in told.body
    callbacks = fake.callbacks_sent()
    assert [(c["MessageStatus"], c["answer"]) for c in callbacks if c["To"] == MARIE][-2:] == [
        ("sent", "204"),
        ("undelivered", "204"),
    ]
