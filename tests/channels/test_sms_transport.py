"""The Twilio transport against the fake Twilio: idempotency, errors, settings (issue §3)."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.http_writer import StreamWriter

from bot.app import Carebot
from bot.handlers.delivery import FENCE, LeaseLost, Sender, idempotency_key
from bot.handlers.sms import SmsChannel, SmsConfig, build, e164
from bot.handlers.sms_transport import TwilioTransport
from bot.services.ports import OutboxMessage, OutgoingMessage
from bot.settings import ConfigError, Settings
from tests.fakes.twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio
from tests.leases import count_holds, skew

PAUL = "+33600000002"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeTwilio]:
    """One fake Twilio for the module, emptied before each test."""
    with FakeTwilio() as server:
        yield server


@pytest.fixture(autouse=True)
def _clean(fake: FakeTwilio) -> None:
    fake.reset()


def _config(fake: FakeTwilio, sender: str = "+15005550006", token: str = AUTH_TOKEN) -> SmsConfig:
    return SmsConfig(ACCOUNT_SID, token, sender, "https://carebot.example", fake.url)


def _message(
    message_id: int = 7, text: str = "Can you take it?", address: str = PAUL
) -> OutboxMessage:
    return OutboxMessage(
        id=message_id,
        created_at=datetime.now(UTC),
        person_id="paul",
        channel="sms",
        address=address,
        text=text,
        options=(("Yes, I confirm", "oa:1:y"), ("No, I decline", "oa:1:n")),
        state="queued",
    )


async def test_a_message_goes_out_numbered_with_its_status_callback(fake: FakeTwilio) -> None:
    transport = TwilioTransport(_config(fake))
    try:
        result = await transport.send(_message(), "carebot-outbox-7")
    finally:
        await transport.close()
    assert result.outcome == "sent"
    [sent] = fake.messages(PAUL)
    assert result.external_id == sent.sid and sent.sid.startswith("SM")
    assert sent.body == "Can you take it?\n1. Yes, I confirm\n2. No, I decline"
    assert sent.from_ == "+15005550006" and sent.messaging_service_sid is None
    assert sent.status_callback == "https://carebot.example/sms/status"
    assert sent.idempotency_token == "carebot-outbox-7"


async def test_a_messaging_service_sid_is_sent_as_such(fake: FakeTwilio) -> None:
    service = "MG" + "1" * 32
    transport = TwilioTransport(_config(fake, sender=service))
    try:
        assert (await transport.send(_message(), "k1")).outcome == "sent"
    finally:
        await transport.close()
    [sent] = fake.messages(PAUL)
    assert sent.messaging_service_sid == service and sent.from_ is None


async def test_the_fake_like_twilio_deduplicates_nothing(fake: FakeTwilio) -> None:
    """Twilio documents no idempotency for message creation: the same call twice, two SMS."""
    message = _message()
    transport = TwilioTransport(_config(fake))
    try:
        first = await transport.send(message, idempotency_key(message))
        again = await transport.send(message, idempotency_key(message))
    finally:
        await transport.close()
    assert first.outcome == again.outcome == "sent"
    assert first.external_id != again.external_id
    assert len(fake.messages(PAUL)) == 2


async def test_a_send_whose_fence_says_the_lease_is_lost_never_reaches_twilio(
    fake: FakeTwilio,
) -> None:
    """The sender's last check runs just before the request's bytes are written: a worker
    that lost its lease meanwhile writes nothing (docs/storage.md)."""
    asked: list[bool] = []

    async def lost() -> bool:
        asked.append(True)
        return False

    transport = TwilioTransport(_config(fake))
    token = FENCE.set(lost)
    try:
        with pytest.raises(LeaseLost):
            await transport.send(_message(), "carebot-outbox-7")
        FENCE.reset(token)
        assert (await transport.send(_message(), "carebot-outbox-7")).outcome == "sent"
    finally:
        await transport.close()
    assert asked == [True]
    assert len(fake.requests()) == 1  # the first request was never written


async def test_no_other_task_runs_between_the_fence_and_the_request_bytes(
    fake: FakeTwilio, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker stopped (SIGSTOP) after its last check sends what another worker may have
    taken: so nothing comes between the fence's answer and the request's bytes, not even a
    turn of the event loop, in which a frozen worker's other tasks run and it is stopped."""
    order: list[str] = []
    loop = asyncio.get_running_loop()

    async def fresh() -> bool:
        order.append("fence")
        loop.call_soon(order.append, "another task")
        return True

    def recorded(original: Any) -> Any:
        def write(self: StreamWriter, data: Any) -> None:
            order.append("bytes")
            original(self, data)

        return write

    # aiohttp's two ways onto the socket (http_writer.StreamWriter).
    for name in ("_write", "_writelines"):
        monkeypatch.setattr(StreamWriter, name, recorded(getattr(StreamWriter, name)))
    transport = TwilioTransport(_config(fake))
    token = FENCE.set(fresh)
    try:
        assert (await transport.send(_message(), "carebot-outbox-7")).outcome == "sent"
    finally:
        FENCE.reset(token)
        await transport.close()
    assert order[:3] == ["fence", "bytes", "another task"]


async def test_a_slow_send_asks_the_database_once_not_twice(
    fake: FakeTwilio, bot: Carebot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A send held at the pace past a third of its lease: the sender's check renews the
    lease, so Twilio's fence, a moment later, lets the request go without asking again."""
    holds = count_holds(bot, monkeypatch)
    transport = TwilioTransport(_config(fake))
    sender = Sender(bot, transport, poll_seconds=5.0)
    clock = skew(monkeypatch)
    paced = asyncio.Event()

    async def slow_pace(address: str) -> None:
        # The worker's own clock moves on half a lease while it waits here.
        clock.ahead = sender.lease.total_seconds() / 2
        paced.set()

    monkeypatch.setattr(sender.pace, "wait", slow_pace)
    async with bot.db.transaction() as tx:
        await tx.outbox.enqueue(OutgoingMessage(bot.clock.now(), None, "sms", PAUL, "Late"))
    await sender.start()
    try:
        for _ in range(500):
            if sender.sent:
                break
            await asyncio.sleep(0.01)
    finally:
        await sender.stop()
        await transport.close()
    assert paced.is_set() and sender.sent == 1
    assert [m.body for m in fake.messages(PAUL)] == ["Late"]
    assert len(holds) == 1


async def test_a_timeout_after_twilio_created_the_message_is_found_by_the_lookup(
    fake: FakeTwilio,
) -> None:
    fake.delay_next(1, 2.0)  # created at once, answered too late
    message = _message()
    other = _message(8, "Something else")
    transport = TwilioTransport(_config(fake), timeout=0.3)
    try:
        since = datetime.now(UTC)
        late = await transport.send(message, idempotency_key(message))
        assert (await transport.send(other, idempotency_key(other))).outcome == "sent"
        found = await transport.lookup(message, since)
    finally:
        await transport.close()
    assert late.outcome == "retry" and "Timeout" in late.error and late.unknown
    [created, _] = fake.messages(PAUL)
    assert found == [created.sid]  # the same number's other message is not taken for it


async def test_a_503_that_created_nothing_is_not_found(fake: FakeTwilio) -> None:
    fake.fail_next(1, 503)
    message = _message()
    transport = TwilioTransport(_config(fake))
    try:
        since = datetime.now(UTC)
        failed = await transport.send(message, idempotency_key(message))
        found = await transport.lookup(message, since)
    finally:
        await transport.close()
    assert failed.outcome == "retry" and failed.unknown  # Twilio does not say it created none
    assert found == []


async def test_the_lookup_reads_every_page_and_only_since_the_attempt(fake: FakeTwilio) -> None:
    message = _message()
    transport = TwilioTransport(_config(fake))
    try:
        for _ in range(120):  # more than one page of 100
            assert (await transport.send(message, "k")).outcome == "sent"
        later = datetime.now(UTC) + timedelta(minutes=5)
        assert len(await transport.lookup(message, datetime.now(UTC))) == 120
        assert await transport.lookup(message, later) == []  # filtered here, not by the date
    finally:
        await transport.close()


@pytest.mark.parametrize(
    ("script", "outcome"),
    [
        ("500", "retry"),
        ("503", "retry"),
        ("429", "retry"),
        ("21610", "opted_out"),
        ("invalid number", "failed"),
        ("wrong token", "retry"),
    ],
)
async def test_twilio_errors_map_to_what_the_sender_does(
    fake: FakeTwilio, script: str, outcome: str
) -> None:
    failed: list[OutboxMessage] = []

    async def on_failed(message: OutboxMessage) -> None:
        failed.append(message)

    address, token = PAUL, AUTH_TOKEN
    if script.isdigit() and int(script) < 600:
        fake.fail_next(1, int(script))
    elif script == "21610":
        fake.refuse(PAUL)
    elif script == "invalid number":
        address = "0600000002"
    else:
        token = "not-the-token"
    transport = TwilioTransport(_config(fake, token=token), on_failed=on_failed)
    try:
        result = await transport.send(_message(address=address), "k")
    finally:
        await transport.close()
    assert result.outcome == outcome, result
    assert fake.messages() == []
    if script == "429":
        assert result.retry_after == 1.0  # the Retry-After header
    if script == "21610":
        assert "21610" in result.error
    assert [m.id for m in failed] == ([7] if outcome == "failed" else [])


async def test_no_twilio_at_all_is_a_retry(fake: FakeTwilio) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    config = SmsConfig(ACCOUNT_SID, AUTH_TOKEN, "+15005550006", "https://c.example", closed)
    transport = TwilioTransport(config)
    try:
        result = await transport.send(_message(), "k")
    finally:
        await transport.close()
    assert result.outcome == "retry"


def test_the_channel_is_off_without_settings_and_refuses_half_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in [n for n in os.environ if n.startswith("CAREBOT_")]:
        monkeypatch.delenv(name)  # the settings come from the environment only (no .env file)
    assert build(Settings()) is None
    with pytest.raises(ConfigError, match="CAREBOT_TWILIO_AUTH_TOKEN"):
        build(Settings(twilio_account_sid=ACCOUNT_SID, twilio_from="+15005550006"))
    with pytest.raises(ConfigError, match="CAREBOT_PUBLIC_URL"):
        build(
            Settings(
                twilio_account_sid=ACCOUNT_SID,
                twilio_auth_token=AUTH_TOKEN,
                twilio_from="+15005550006",
            )
        )
    channel = build(
        Settings(
            twilio_account_sid=ACCOUNT_SID,
            twilio_auth_token=AUTH_TOKEN,
            twilio_from="+15005550006",
            public_url="https://carebot.example/",
        )
    )
    assert isinstance(channel, SmsChannel)
    assert channel.config.public_url == "https://carebot.example"
    assert "+15005550006" not in channel.state()  # numbers are masked in logs


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+33 6 12 34 56 78", "+33612345678"),
        ("+447700900123", "+447700900123"),
        ("+1 (415) 555-2671", "+14155552671"),
        ("0612345678", None),
        ("+33", None),
        ("Carebot", None),
    ],
)
def test_senders_are_read_as_e164(raw: str, expected: str | None) -> None:
    assert e164(raw) == expected
