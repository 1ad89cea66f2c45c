"""The SMS channel on Twilio: signed webhooks in, the outbox out through the REST API.

Inbound: Twilio posts each SMS to /sms/inbound; the signature is checked against
CAREBOT_PUBLIC_URL, the delivery is stored once per MessageSid and answered at once with an
empty TwiML; the inbound worker handles it and the replies go through the outbox. Twilio
posts delivery statuses to /sms/status; a failed SMS to a provider about a pending request
sends that request to staff. Outbound: a Sender drains the `sms` outbox through
TwilioTransport (AsyncTwilioHttpClient and create_async: nothing blocks the event loop).
Twilio documents no idempotency for message creation, so a send whose outcome is unknown
(timeout, cut connection, 5xx) is reconciled before it is retried: `lookup` lists Twilio's
messages to that number since the attempt and the message is resent only if it is not there.
While the database refuses writes (a lock held by another process, a full disk), an inbound
webhook holds its answer and tries again, within CAREBOT_SMS_STORE_SECONDS (Twilio waits
15 s), before it answers 503.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hmac
import logging
import re
import secrets
import sqlite3
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import aiohttp
import phonenumbers
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from bot.app import Carebot
from bot.flows.router import Inbound, Text
from bot.handlers.channels import Channel
from bot.handlers.delivery import LEASE_SECONDS, Delivery, Sender
from bot.handlers.inbound import InboundWorker
from bot.handlers.sms_text import render_sms
from bot.services.ports import OutboxMessage
from bot.services.sms_delivery import is_status
from bot.settings import ConfigError, Settings

log = logging.getLogger(__name__)

OFF_REASON = "CAREBOT_TWILIO_ACCOUNT_SID, CAREBOT_TWILIO_AUTH_TOKEN, CAREBOT_TWILIO_FROM not set"
INBOUND_PATH = "/sms/inbound"
STATUS_PATH = "/sms/status"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
# A Twilio webhook is about 1 kB of fields plus a Body of at most 1,600 characters: up to
# 19.2 kB once form-encoded when every character takes 4 bytes of UTF-8 (emoji), so 24 kB
# takes any real SMS; a longer Body is refused (413) after parsing, as bulky junk.
MAX_FORM_BYTES = 24 * 1024
MAX_BODY_CHARS = 1600
MAX_FORM_FIELDS = 64
MESSAGE_SID = re.compile(r"[A-Z]{2}[0-9a-fA-F]{32}")
OPTED_OUT = 21610  # Twilio: "Attempt to send to unsubscribed recipient"
# A status callback can overtake the commit that records the message's SID: wait this long.
UNKNOWN_SID_GRACE = 1.0
# A label on each create request (the fake Twilio records it). Twilio documents no
# deduplication on it for message creation: nothing here relies on it.
IDEMPOTENCY_HEADER = "I-Twilio-Idempotency-Token"
TWILIO_TIMEOUT = 10.0
# Twilio's clock and ours may differ: a message created this long before the attempt began
# still counts as that attempt's when reconciling.
CLOCK_SKEW = timedelta(minutes=2)
STORE_SECONDS = 12.0  # an inbound webhook waits this long for the database (Twilio: 15 s)
STORE_RETRY_GAP = 0.25

_http_log = logging.getLogger(f"{__name__}.twilio_http")
_http_log.setLevel(logging.WARNING)  # twilio logs every request at INFO


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


def mask(phone: str) -> str:
    """'+336******01': enough to tell numbers apart in a log, not to dial them."""
    if len(phone) < 7:
        return "***"
    return phone[:4] + "*" * (len(phone) - 6) + phone[-2:]


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


# --- outbound -----------------------------------------------------------------------------


@dataclass
class _Call:
    """One create_async call, as the HTTP client sees it (set per task, in a ContextVar)."""

    idempotency_key: str
    retry_after: float | None = None


_CURRENT_CALL: ContextVar[_Call | None] = ContextVar("carebot_twilio_call", default=None)


class ApiHttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]
    """Twilio's async HTTP client, pointed at another base URL (a fake, a sandbox) if asked,
    with the current call's label header and a timeout on every request."""

    def __init__(self, api_url: str | None, timeout: float) -> None:
        super().__init__(timeout=timeout, logger=_http_log)
        self.api_url = api_url.rstrip("/") if api_url else None

    def log_request(self, kwargs: dict[str, Any]) -> None:
        """Twilio's request dump, only when its logger is on (it formats ~10 lines first)."""
        if _http_log.isEnabledFor(logging.INFO):
            super().log_request(kwargs)

    def log_response(self, status_code: int, response: Any) -> None:
        """Twilio's response dump, only when its logger is on."""
        if _http_log.isEnabledFor(logging.INFO):
            super().log_response(status_code, response)

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - twilio's signature, overridden
        allow_redirects: bool = False,
    ) -> Any:
        """Send one request (twilio builds https://api.twilio.com/... URLs; keep the path)."""
        if self.api_url:
            parts = urlsplit(url)
            url = self.api_url + parts.path + (f"?{parts.query}" if parts.query else "")
        call = _CURRENT_CALL.get()
        headers = dict(headers or {})
        if call is not None:
            headers[IDEMPOTENCY_HEADER] = call.idempotency_key
        if auth is not None:  # as a header: aiohttp deprecates its `auth` argument
            pair = f"{auth[0]}:{auth[1]}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        if isinstance(data, dict):
            # Encoded here, once: aiohttp's FormData did the same work at twice the cost.
            data = urlencode(data, doseq=True).encode()  # type: ignore[assignment]
        # twilio passes timeout=None, which aiohttp reads as "wait forever".
        response = await super().request(
            method,
            url,
            params=params,
            data=data,
            headers=headers,
            auth=None,
            timeout=timeout if timeout is not None else self.timeout,
            allow_redirects=allow_redirects,
        )
        if call is not None and response.status_code == 429 and response.headers is not None:
            call.retry_after = _seconds(response.headers.get("Retry-After"))
        return response


def _seconds(value: object) -> float | None:
    try:
        return max(0.0, float(str(value)))
    except ValueError:
        return None


class TwilioTransport:
    """Sends outbox rows of the `sms` channel with Twilio's REST API."""

    channel = "sms"

    def __init__(
        self,
        config: SmsConfig,
        *,
        timeout: float = TWILIO_TIMEOUT,
        on_failed: Callable[[OutboxMessage], Awaitable[None]] | None = None,
    ) -> None:
        self.config = config
        self.on_failed = on_failed
        self.http = ApiHttpClient(config.api_url, timeout)
        self.client = Client(config.account_sid, config.auth_token, http_client=self.http)
        # Twilio imports the Messages API on first use: do it now, not in the event loop.
        self.messages = self.client.messages
        self.sender: dict[str, str] = (
            {"messaging_service_sid": config.sender}
            if config.sender.startswith("MG")
            else {"from_": config.sender}
        )
        self.status_callback = config.public_url + STATUS_PATH

    async def send(self, message: OutboxMessage, idempotency_key: str) -> Delivery:
        """Send one row; a service's error comes back as a Delivery, never raised."""
        body = render_sms(message.text, [label for label, _ in message.options])
        call = _Call(idempotency_key)
        token = _CURRENT_CALL.set(call)
        try:
            created = await self.messages.create_async(
                to=message.address,
                body=body,
                status_callback=self.status_callback,
                **self.sender,
            )
        except TwilioRestException as exc:
            result = self._refused(exc.status, exc.code, str(exc.msg), call)
        except TwilioServiceException as exc:
            result = self._refused(exc.status, exc.code, str(exc.title), call)
        except aiohttp.ClientConnectorError as exc:  # no connection: nothing was sent
            result = Delivery("retry", error=f"{type(exc).__name__}: {exc}"[:300])
        except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as exc:
            # A timeout, a cut connection, a garbled answer: Twilio may have created it.
            result = Delivery("retry", error=f"{type(exc).__name__}: {exc}"[:300], unknown=True)
        else:
            sid = getattr(created, "sid", None)
            if not sid:
                return Delivery("retry", error="Twilio answered without a SID", unknown=True)
            log.info("sms %s to %s sent as %s", message.id, mask(message.address), sid)
            return Delivery("sent", external_id=str(sid))
        finally:
            _CURRENT_CALL.reset(token)
        if result.outcome == "failed" and self.on_failed is not None:
            try:
                await self.on_failed(message)
            except Exception:  # the message's own fate must still be settled
                log.exception("handling the failure of sms %s failed", message.id)
        return result

    def _refused(self, status: int, code: int | None, text: str, call: _Call) -> Delivery:
        """Map Twilio's HTTP status and error code to what the sender does next."""
        error = f"twilio {status} {code}: {text}"[:300]
        if code == OPTED_OUT:
            return Delivery("opted_out", error=error)
        if status == 429:
            return Delivery("retry", retry_after=call.retry_after, error=error)
        if status >= 500:  # Twilio does not say that a 5xx created nothing
            return Delivery("retry", error=error, unknown=True)
        if status == 401:
            # Wrong credentials fail every message alike: retry (loudly) rather than fail all.
            log.error("Twilio refused our credentials (%s): check CAREBOT_TWILIO_*", code)
            return Delivery("retry", error=error)
        return Delivery("failed", error=error)

    async def lookup(self, message: OutboxMessage, since: datetime) -> list[str]:
        """SIDs of messages with this body sent to this number from our sender since `since`.

        Twilio's list filters by `DateSent>=YYYY-MM-DD` (a GMT date, not a time), so the rest
        is filtered here; a message still queued at Twilio has no date_sent yet and the
        date filter may leave it out: the sender only asks after a backoff of seconds.
        """
        body = render_sms(message.text, [label for label, _ in message.options])
        earliest = since - CLOCK_SKEW
        found = await self.messages.list_async(
            to=message.address,
            date_sent_after=earliest.astimezone(UTC).date().isoformat(),
            page_size=100,
            limit=1000,
        )
        return [
            str(m.sid)
            for m in found
            if m.body == body
            and str(m.direction or "").startswith("outbound")
            and self.config.sender in (m.from_, m.messaging_service_sid)
            and (m.date_created is None or m.date_created >= earliest)
        ]

    async def close(self) -> None:
        """Close the HTTP session."""
        await self.http.close()


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
class SmsChannel:
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

    def wake(self) -> None:
        """Messages were committed: send them now."""
        if self.sender is not None:
            self.sender.wake()

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
        for hook in self.bot.after_commit:
            await hook()


# --- a Twilio stand-in for people and tests: sign and post like Twilio -----------------------


def new_message_sid() -> str:
    """A fresh SMS SID, shaped like Twilio's ('SM' + 32 hex digits)."""
    return "SM" + secrets.token_hex(16)


def signed_post(
    url: str, params: Mapping[str, str], auth_token: str, signed_url: str | None = None
) -> tuple[dict[str, str], bytes]:
    """The headers and body of a form post signed as Twilio signs it (for `signed_url`)."""
    signature = RequestValidator(auth_token).compute_signature(signed_url or url, dict(params))
    headers = {
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
        "X-Twilio-Signature": signature,
    }
    return headers, urlencode(params).encode("utf-8")


def send_as_twilio(
    base_url: str,
    auth_token: str,
    sender: str,
    text: str,
    *,
    to: str,
    account_sid: str,
    public_url: str | None = None,
    message_sid: str | None = None,
    timeout: float = 10.0,
) -> tuple[int, str]:
    """Post one inbound SMS to a running carebot as Twilio would; returns (status, body)."""
    params = {
        "MessageSid": message_sid or new_message_sid(),
        "SmsSid": "",
        "AccountSid": account_sid,
        "From": sender,
        "To": to,
        "Body": text,
        "NumMedia": "0",
        "NumSegments": "1",
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
    }
    params["SmsSid"] = params["MessageSid"]
    url = base_url.rstrip("/") + INBOUND_PATH
    signed_url = (public_url or base_url).rstrip("/") + INBOUND_PATH
    headers, body = signed_post(url, params, auth_token, signed_url)
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return int(answer.status), answer.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read().decode("utf-8", "replace")
