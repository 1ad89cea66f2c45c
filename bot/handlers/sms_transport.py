"""Sending SMS with Twilio's REST API: the outbox's `sms` rows out, one create call each.

AsyncTwilioHttpClient and create_async: nothing blocks the event loop. Twilio documents no
idempotency for message creation, so a send whose outcome is unknown (timeout, cut
connection, 5xx) is reported as such, and `lookup` lets the sender reconcile it before a
retry: it lists Twilio's messages to that number since the attempt.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

import aiohttp
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from bot.handlers.delivery import Delivery, LeaseLost, check_fence
from bot.handlers.sms_text import render_sms
from bot.services.ports import OutboxMessage

if TYPE_CHECKING:
    from bot.handlers.sms import SmsConfig

log = logging.getLogger(__name__)

STATUS_PATH = "/sms/status"
OPTED_OUT = 21610  # Twilio: "Attempt to send to unsubscribed recipient"
# A label on each create request (the fake Twilio records it). Twilio documents no
# deduplication on it for message creation: nothing here relies on it.
IDEMPOTENCY_HEADER = "I-Twilio-Idempotency-Token"
TWILIO_TIMEOUT = 10.0
# Twilio's clock and ours may differ: a message created this long before the attempt began
# still counts as that attempt's when reconciling.
CLOCK_SKEW = timedelta(minutes=2)

_http_log = logging.getLogger(f"{__name__}.twilio_http")
_http_log.setLevel(logging.WARNING)  # twilio logs every request at INFO


def mask(phone: str) -> str:
    """'+336******01': enough to tell numbers apart in a log, not to dial them."""
    if len(phone) < 7:
        return "***"
    return phone[:4] + "*" * (len(phone) - 6) + phone[-2:]


@dataclass
class _Call:
    """One create_async call, as the HTTP client sees it (set per task, in a ContextVar)."""

    idempotency_key: str
    retry_after: float | None = None
    fenced: bool = False  # the fence stopped the request before any of its bytes left


_CURRENT_CALL: ContextVar[_Call | None] = ContextVar("carebot_twilio_call", default=None)


class ApiHttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]
    """Twilio's async HTTP client, pointed at another base URL (a fake, a sandbox) if asked,
    with the current call's label header and a timeout on every request."""

    def __init__(self, api_url: str | None, timeout: float) -> None:
        fence = aiohttp.TraceConfig()
        # Fired just before each chunk of a request body is written (aiohttp holds the headers
        # back until the first one), and the write follows with no other task run in between:
        # the later the sender's lease is checked, the narrower the window in which a worker
        # stopped past its lease (SIGSTOP, a paused VM, a wait for the pool) sends what
        # another took. A hook on the connection being ready left a turn of the event loop
        # between the check and the body (aiohttp writes it in a task of its own).
        fence.on_request_chunk_sent.append(_fence)
        super().__init__(timeout=timeout, logger=_http_log, trace_configs=[fence])
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


async def _fence(*_: object) -> None:
    """aiohttp's hook before a body chunk is written: refuse it when the sender's fence says the
    message is another worker's now (TwilioTransport.send then raises LeaseLost)."""
    call = _CURRENT_CALL.get()
    if call is None:
        return
    if call.fenced:  # once refused, refused for good: a retry of the request must not slip by
        raise LeaseLost("the message's lease went to another worker")
    try:
        await check_fence()
    except LeaseLost:
        call.fenced = True
        raise


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
            created = await self._create(call, message.address, body)
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

    async def _create(self, call: _Call, to: str, body: str) -> Any:
        """Twilio's create call; LeaseLost when the fence stopped it before its bytes left
        (aiohttp reports the hook's refusal as a broken connection)."""
        try:
            return await self.messages.create_async(
                to=to, body=body, status_callback=self.status_callback, **self.sender
            )
        except Exception:
            if call.fenced:
                raise LeaseLost("the message's lease went to another worker") from None
            raise

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
