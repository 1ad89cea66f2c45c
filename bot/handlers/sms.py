"""The SMS channel on Twilio: signed webhooks in, the outbox out through the REST API.

Inbound: Twilio posts each SMS to /sms/inbound; the signature is checked against
CAREBOT_PUBLIC_URL, the delivery is stored once per MessageSid and answered at once with an
empty TwiML; the inbound worker handles it and the replies go through the outbox. Twilio
posts delivery statuses to /sms/status; a failed SMS to a provider about a pending request
sends that request to staff. Outbound: a Sender drains the `sms` outbox through
TwilioTransport (bot/handlers/sms_transport.py), which reconciles a send whose outcome is
unknown before it is retried. While the database refuses writes (a lock held by another
process, a full disk), an inbound webhook holds its answer and tries again, within
CAREBOT_SMS_STORE_SECONDS (Twilio waits 15 s), before it answers 503. A stand-in that posts
as Twilio does, for people and tests: bot/handlers/sms_standin.py.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import logging
import re
import sqlite3
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

import phonenumbers
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from twilio.request_validator import RequestValidator

from bot.app import Carebot
from bot.flows.router import Inbound, Text
from bot.handlers.channels import Channel, SendsFromOutbox
from bot.handlers.delivery import LEASE_SECONDS, Sender
from bot.handlers.inbound import InboundWorker
from bot.handlers.sms_transport import STATUS_PATH, TWILIO_TIMEOUT, TwilioTransport, mask
from bot.services.ports import OutboxMessage
from bot.services.sms_delivery import is_status
from bot.settings import ConfigError, Settings

log = logging.getLogger(__name__)

OFF_REASON = "CAREBOT_TWILIO_ACCOUNT_SID, CAREBOT_TWILIO_AUTH_TOKEN, CAREBOT_TWILIO_FROM not set"
INBOUND_PATH = "/sms/inbound"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
# A Twilio webhook is about 1 kB of fields plus a Body of at most 1,600 characters: up to
# 19.2 kB once form-encoded when every character takes 4 bytes of UTF-8 (emoji), so 24 kB
# takes any real SMS; a longer Body is refused (413) after parsing, as bulky junk.
MAX_FORM_BYTES = 24 * 1024
MAX_BODY_CHARS = 1600
MAX_FORM_FIELDS = 64
MESSAGE_SID = re.compile(r"[A-Z]{2}[0-9a-fA-F]{32}")
# A status callback can overtake the commit that records the message's SID: wait this long.
UNKNOWN_SID_GRACE = 1.0
STORE_SECONDS = 12.0  # an inbound webhook waits this long for the database (Twilio: 15 s)
STORE_RETRY_GAP = 0.25


@dataclass(frozen=True)
class SmsConfig:
    """What the SMS channel needs, all present."""

    account_sid: str
    auth_token: str
    sender: str  # a phone number, or a messaging service SID (MG...)
    public_url: str
    api_url: str | None = None
    timeout: float = TWILIO_TIMEOUT
    store_seconds: float = STORE_SECONDS
    lease_seconds: float = LEASE_SECONDS
    poll_seconds: float = 1.0  # the sender's look at the outbox when nothing woke it


def build(settings: Settings) -> Channel | None:
    """The SMS channel when configured, else None; ConfigError names a missing setting."""
    given = {
        "CAREBOT_TWILIO_ACCOUNT_SID": settings.twilio_account_sid,
        "CAREBOT_TWILIO_AUTH_TOKEN": settings.twilio_auth_token,
        "CAREBOT_TWILIO_FROM": settings.twilio_from,
    }
    if not any(given.values()):
        return None
    missing = [name for name, value in given.items() if not value]
    if not settings.public_url:
        missing.append("CAREBOT_PUBLIC_URL")  # the signature of every webhook depends on it
    if missing:
        raise ConfigError(f"the SMS channel is half configured: set {', '.join(missing)}")
    assert settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_from
    assert settings.public_url
    return SmsChannel(
        SmsConfig(
            account_sid=settings.twilio_account_sid,
            auth_token=settings.twilio_auth_token,
            sender=settings.twilio_from,
            public_url=settings.public_url.rstrip("/"),
            api_url=settings.twilio_api_url or None,
            timeout=settings.twilio_timeout,
            store_seconds=settings.sms_store_seconds,
            lease_seconds=settings.outbox_lease_seconds,
            poll_seconds=settings.outbox_poll_seconds,
        )
    )


@functools.lru_cache(maxsize=4096)  # members write again and again from the same number
def e164(raw: str) -> str | None:
    """A sender's number in E.164 ('+33612345678'), or None when it is not a phone number."""
    try:
        number = phonenumbers.parse(raw.strip(), None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


# --- inbound ------------------------------------------------------------------------------


@dataclass
class _Waiting:
    """One webhook waiting for its delivery to be stored."""

    address: str
    inbound: Inbound
    delivery_id: str
    future: asyncio.Future[bool]
    deadline: float  # loop time after which it stops waiting for the database


class Intake:
    """Group commit of inbound webhooks: deliveries that arrive while one transaction runs are
    stored together in the next, and each webhook answers once its own is committed.

    While the database refuses writes (locked past the busy timeout, disk full), the batch is
    tried again until each webhook's budget would run out: Twilio retries a webhook only when
    the connection fails, so an early error answer most likely loses the message."""

    def __init__(self, bot: Carebot, budget: float = STORE_SECONDS) -> None:
        self.bot = bot
        self.budget = budget
        self._pending: list[_Waiting] = []
        self._flushing = False
        self._tasks: set[asyncio.Task[None]] = set()  # strong references, see asyncio docs

    async def accept(self, address: str, inbound: Inbound, delivery_id: str) -> bool:
        """Store one delivery (with whatever else is waiting); False for one seen before."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        deadline = loop.time() + self.budget
        self._pending.append(_Waiting(address, inbound, delivery_id, future, deadline))
        if not self._flushing:
            self._flushing = True
            task = asyncio.create_task(self._flush(), name="sms-intake")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await future

    async def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                batch = [item for item in batch if not item.future.done()]  # callers gone
                began = loop.time()
                try:
                    fresh = await self.bot.accept_many(
                        "sms", [(i.address, i.inbound, i.delivery_id) for i in batch]
                    )
                except Exception as exc:
                    transient = isinstance(exc, sqlite3.OperationalError)
                    # One more try must fit in the budget: it may take as long as this one
                    # (a lock: the whole busy timeout; a full disk: a moment).
                    later = 2 * loop.time() - began + STORE_RETRY_GAP
                    again = [i for i in batch if transient and i.deadline >= later]
                    for item in batch:  # out of time: each such webhook answers 503
                        if item not in again and not item.future.done():
                            item.future.set_exception(exc)
                    if again:
                        log.warning("sms intake: %s; trying again", exc)
                        self._pending = again + self._pending
                        await asyncio.sleep(STORE_RETRY_GAP)
                    continue
                for item, new in zip(batch, fresh, strict=True):
                    if not item.future.done():  # the caller may have gone (client disconnected)
                        item.future.set_result(new)
        finally:
            self._flushing = False


@dataclass
class SmsChannel(SendsFromOutbox):
    """The SMS channel as `carebot run` drives it."""

    config: SmsConfig
    name: str = "sms"
    bot: Carebot | None = None
    inbound: InboundWorker | None = None
    sender: Sender | None = None
    transport: TwilioTransport | None = None
    intake: Intake | None = None
    validator: RequestValidator = field(init=False)

    def __post_init__(self) -> None:
        self.validator = RequestValidator(self.config.auth_token)

    def state(self) -> str:
        """One line for /healthz and the start-up log."""
        via = f" via {self.config.api_url}" if self.config.api_url else ""
        sender = self.config.sender
        shown = sender if sender.startswith("MG") else mask(sender)
        return f"on (Twilio{via}, from {shown}, webhooks {self.config.public_url}{INBOUND_PATH})"

    def routes(self) -> list[BaseRoute]:
        """POST /sms/inbound and POST /sms/status."""
        return [
            Route(INBOUND_PATH, self.receive, methods=["POST"]),
            Route(STATUS_PATH, self.status, methods=["POST"]),
        ]

    async def start(self, bot: Carebot, inbound: InboundWorker) -> None:
        """Start the outbox sender; the webhooks work from now on."""
        self.bot, self.inbound = bot, inbound
        self.intake = Intake(bot, self.config.store_seconds)
        self.transport = TwilioTransport(
            self.config, timeout=self.config.timeout, on_failed=self._failed
        )
        self.sender = Sender(
            bot,
            self.transport,
            lease_seconds=self.config.lease_seconds,
            poll_seconds=self.config.poll_seconds,
            on_opted_out=self._opted_out,
            on_gave_up=self._failed,
        )
        await self.sender.start()

    async def stop(self) -> None:
        """Stop sending and close the HTTP session (queued messages stay queued)."""
        if self.sender is not None:
            await self.sender.stop()
        if self.transport is not None:
            await self.transport.close()

    async def receive(self, request: Request) -> Response:
        """POST /sms/inbound: store the SMS once, answer empty TwiML at once, then handle it."""
        form = await self._signed_form(request, INBOUND_PATH)
        if isinstance(form, Response):
            return form
        sid, sender, body = form.get("MessageSid"), form.get("From"), form.get("Body")
        if not sid or not MESSAGE_SID.fullmatch(sid) or not sender or body is None:
            return PlainTextResponse("MessageSid, From and Body are required", 400)
        if len(body) > MAX_BODY_CHARS:
            return PlainTextResponse("Body over 1,600 characters", 413)
        address = e164(sender)
        if address is None:
            return PlainTextResponse("From is not a phone number", 400)
        if self.intake is None or self.inbound is None:
            return PlainTextResponse("starting", 503)
        try:
            fresh = await self.intake.accept(address, Text(body), sid)
        except sqlite3.OperationalError as exc:  # still failing at the end of the budget
            log.error("sms %s from %s not stored: %s", sid, mask(address), exc)
            return PlainTextResponse("database unavailable", 503, headers={"Retry-After": "5"})
        if fresh:
            self.inbound.wake()
        return Response(EMPTY_TWIML, media_type="text/xml")

    async def status(self, request: Request) -> Response:
        """POST /sms/status: a delivery status of a message we sent (late, repeated, any order)."""
        form = await self._signed_form(request, STATUS_PATH)
        if isinstance(form, Response):
            return form
        sid, status = form.get("MessageSid"), (form.get("MessageStatus") or "").lower()
        if not sid or not status:
            return PlainTextResponse("MessageSid and MessageStatus are required", 400)
        if self.bot is None:
            return PlainTextResponse("starting", 503)
        if not is_status(status):
            log.info("status %r for %s ignored (unknown status)", status[:20], sid[:40])
            return Response(status_code=204)
        loop = asyncio.get_running_loop()
        give_up = loop.time() + UNKNOWN_SID_GRACE
        while True:
            update = await self.bot.sms_status(sid, status)
            if update.known or loop.time() >= give_up:
                break
            await asyncio.sleep(0.1)
        if not update.known:
            log.info("status %s for unknown message %s ignored", status, sid[:40])
        elif status in ("failed", "undelivered"):
            log.warning("sms %s %s (error %s)", sid, status, form.get("ErrorCode", "-"))
        if update.escalated:
            await self._committed()
        return Response(status_code=204)

    async def _signed_form(self, request: Request, path: str) -> dict[str, str] | Response:
        """The posted form when it is well formed and signed by Twilio, else the error answer."""
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            return PlainTextResponse("expected application/x-www-form-urlencoded", 415)
        declared = request.headers.get("content-length", "0")
        if not declared.isdigit() or int(declared) > MAX_FORM_BYTES:
            return PlainTextResponse("form too large", 413)
        raw = bytearray()
        try:
            async for chunk in request.stream():
                raw += chunk
                if len(raw) > MAX_FORM_BYTES:
                    return PlainTextResponse("form too large", 413)
        except ClientDisconnect:
            return PlainTextResponse("incomplete request", 400)
        try:
            pairs = parse_qsl(
                raw.decode("utf-8"),
                keep_blank_values=True,
                errors="strict",
                max_num_fields=MAX_FORM_FIELDS,
            )
        except ValueError:  # UnicodeDecodeError included: bytes or %-escapes not UTF-8
            return PlainTextResponse("malformed form", 400)
        form = dict(pairs)
        query = request.url.query
        url = self.config.public_url + path + (f"?{query}" if query else "")
        signature = request.headers.get("x-twilio-signature", "")
        if not signature or not self._signed_by_twilio(url, form, signature):
            log.warning("%s: bad or missing X-Twilio-Signature, ignored", path)
            return PlainTextResponse("invalid signature", 403)
        return form

    def _signed_by_twilio(self, url: str, form: dict[str, str], signature: str) -> bool:
        """Whether Twilio signed this form for this URL (with or without an explicit port)."""
        # The URL as configured is the one Twilio signs: one HMAC settles the usual case, where
        # validate() always computes two (the URL with and without its port).
        expected = self.validator.compute_signature(url, form)
        if hmac.compare_digest(expected.encode(), signature.encode()):
            return True
        return bool(self.validator.validate(url, form, signature))

    async def _failed(self, message: OutboxMessage) -> None:
        """Twilio refused a message for good, or kept failing until the sender gave up: what
        it asked a provider goes to staff."""
        assert self.bot is not None
        escalated = await self.bot.sms_unreachable(message)
        if escalated:
            await self._committed()

    async def _opted_out(self, message: OutboxMessage) -> None:
        """Twilio says the number opted out (21610): record it, tell staff."""
        assert self.bot is not None
        person = await self.bot.sms_opted_out(message)
        log.warning(
            "sms to %s refused: the number opted out (%s)",
            mask(message.address),
            person.id if person else "not on the roster",
        )
        await self._committed()

    async def _committed(self) -> None:
        """Something was committed outside the inbound worker: wake the senders and timers."""
        assert self.bot is not None
        await self.bot.run_after_commit()
