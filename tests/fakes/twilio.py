"""A fake Twilio REST API on 127.0.0.1, for the tests and for trying `carebot run` by hand.

It speaks enough of Twilio for the real `twilio` client, as Twilio's Message resource page
describes it (https://www.twilio.com/docs/messaging/api/message-resource): POST
/2010-04-01/Accounts/{AccountSid}/Messages.json (form-encoded, basic auth) creates a
Twilio-shaped message ("SM..." sid) every time: like Twilio, which documents no idempotency
for message creation, it deduplicates nothing (a request header I-Twilio-Idempotency-Token is
only recorded, for the tests to tell rows apart). GET on the same URL lists messages, newest
first, filtered by To, From and DateSent / DateSent< / DateSent> (a GMT date YYYY-MM-DD:
day granularity, as documented; anything else is refused), in Twilio's pages (PageSize,
default 50, at most 1000; Page and PageToken; next_page_uri). The fake hands a message to the
carrier at once: its date_sent is its creation time. It can post signed status callbacks.
Failures are scripted: the next N requests answer 500 or 429, a number refuses like an
unsubscribed recipient (HTTP 400, code 21610), answers come late (the message is created
first: a client that times out does not know whether it exists).

From a test: `with FakeTwilio() as fake: ...` (a uvicorn server in a thread).
From a shell: `python -m tests.fakes.twilio --port 8099`; `GET /_log` lists what it received
(`GET /_log?format=text`: each message's recipient and text),
`POST /_script` (JSON) scripts failures: {"fail_next": {"count": 1, "status": 500}},
{"refuse": "+33600000002"}, {"delay_next": {"count": 1, "seconds": 5}},
{"deliver": {"to": "+33600000002", "status": "undelivered"}}, {"callbacks": true},
{"reset": true}; for a period rather than a count, {"fail_for": {"seconds": 20, "status": 500}}
(or 429, 503) and {"stall_for": {"seconds": 20, "hold": 12}} (each request is held `hold`
seconds, longer than the client's timeout, then answered 503; nothing is created); these two
fail the list too.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "fake-auth-token-0123456789abcdef"
BOT_NUMBER = "+15005550006"  # one of Twilio's magic test numbers


def inbound_form(sender: str, text: str, sid: str | None = None) -> dict[str, str]:
    """The form Twilio posts to the bot's webhook for an inbound SMS (twilio.com/docs/usage/
    webhooks/messaging-webhooks, "Request parameters")."""
    sid = sid or "SM" + secrets.token_hex(16)
    return {
        "MessageSid": sid,
        "SmsSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": sender,
        "To": BOT_NUMBER,
        "Body": text,
        "NumMedia": "0",
    }


API_VERSION = "2010-04-01"
ERRORS = {
    20001: (400, "Invalid parameter"),
    20003: (401, "Authenticate"),
    20429: (429, "Too Many Requests"),
    20500: (500, "Internal Server Error"),
    21211: (400, "The 'To' number is not a valid phone number."),
    21602: (400, "Message body is required."),
    21603: (400, "A 'From' phone number is required."),
    21604: (400, "A 'To' phone number is required."),
    21610: (400, "Attempt to send to unsubscribed recipient"),
}


@dataclass
class FakeMessage:
    """A message the fake accepted."""

    sid: str
    to: str
    from_: str | None
    messaging_service_sid: str | None
    body: str
    status_callback: str | None
    idempotency_token: str | None
    received_at: float
    status: str = "queued"


@dataclass
class FakeRequest:
    """Any POST to Messages.json, with what the fake answered."""

    to: str | None
    idempotency_token: str | None
    status: int
    code: int | None
    received_at: float


@dataclass
class _Script:
    failures: list[int] = field(default_factory=list)  # HTTP statuses for the next requests
    delays: list[float] = field(default_factory=list)  # seconds before the next answers
    refused: dict[str, int] = field(default_factory=dict)  # number -> Twilio error code
    deliver: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # to -> final
    callbacks: bool = False
    fail_until: float = 0.0  # time.time() before which every request answers fail_status
    fail_status: int = 500
    stall_until: float = 0.0  # time.time() before which every request is held, then 503
    stall_hold: float = 0.0
    hold_at_most: float = 0.0  # while set, creates are answered at release, or this late


class FakeTwilio:
    """The fake server; thread-safe, so a test can script and read it while a bot calls it."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        account_sid: str = ACCOUNT_SID,
        auth_token: str = AUTH_TOKEN,
        callbacks: bool = False,
        callback_delay: float = 0.05,
    ) -> None:
        self.host, self.port = host, port
        self.account_sid, self.auth_token = account_sid, auth_token
        self.callback_delay = callback_delay
        self._lock = threading.Lock()
        self._messages: list[FakeMessage] = []
        self._requests: list[FakeRequest] = []
        self._callbacks_sent: list[dict[str, str]] = []
        self._script = _Script(callbacks=callbacks)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.app = Starlette(
            routes=[
                Route(
                    f"/{API_VERSION}/Accounts/{{sid}}/Messages.json",
                    self._create,
                    methods=["POST"],
                ),
                Route(
                    f"/{API_VERSION}/Accounts/{{sid}}/Messages.json",
                    self._list,
                    methods=["GET"],
                ),
                Route("/_log", self._log, methods=["GET"]),
                Route("/_script", self._script_endpoint, methods=["POST"]),
                Route("/_health", lambda _: JSONResponse({"ok": True})),
            ]
        )

    # --- running -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The base URL to give CAREBOT_TWILIO_API_URL."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> FakeTwilio:
        """Serve in a background thread until stop()."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = int(sock.getsockname()[1])
        config = uvicorn.Config(
            self.app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True, name="fake-twilio"
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the fake Twilio did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stop serving."""
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(10)

    def __enter__(self) -> FakeTwilio:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    # --- scripting -----------------------------------------------------------------------

    def fail_next(self, count: int = 1, status: int = 500) -> None:
        """The next `count` requests answer `status` (500, 503, 429...) and create nothing."""
        with self._lock:
            self._script.failures.extend([status] * count)

    def fail_for(self, seconds: float, status: int = 500) -> None:
        """For the next `seconds`, every request answers `status` (500, 503, 429...)."""
        with self._lock:
            self._script.fail_until = time.time() + seconds
            self._script.fail_status = status

    def stall_for(self, seconds: float, hold: float) -> None:
        """For the next `seconds`, every request is held `hold` seconds (past the client's
        timeout), then answered 503; no message is created."""
        with self._lock:
            self._script.stall_until = time.time() + seconds
            self._script.stall_hold = hold

    def refuse(self, number: str, code: int = 21610) -> None:
        """Every message to `number` is refused with a Twilio error (21610: unsubscribed)."""
        with self._lock:
            self._script.refused[number] = code

    def delay_next(self, count: int, seconds: float) -> None:
        """The next `count` messages are created at once but answered `seconds` later."""
        with self._lock:
            self._script.delays.extend([seconds] * count)

    def hold_answers(self, at_most: float) -> None:
        """From now on messages are created at once but answered only at release_answers(),
        or `at_most` seconds after they were created: a slow Twilio whose end the test picks
        (however slow the machine), unlike delay_next's fixed delay."""
        with self._lock:
            self._script.hold_at_most = at_most

    def release_answers(self) -> None:
        """Answer every held create now, and hold no more."""
        with self._lock:
            self._script.hold_at_most = 0.0

    def deliver(
        self, number: str, status: str = "delivered", error_code: str | None = None
    ) -> None:
        """Messages to `number` end with this status callback ('undelivered', 'failed'...)."""
        with self._lock:
            self._script.deliver[number] = (status, error_code)

    def callbacks(self, on: bool = True) -> None:
        """Post status callbacks (sent, then delivered) for every message."""
        with self._lock:
            self._script.callbacks = on

    def reset(self) -> None:
        """Forget messages, requests and scripts."""
        with self._lock:
            callbacks = self._script.callbacks
            self._messages.clear()
            self._requests.clear()
            self._callbacks_sent.clear()
            self._script = _Script(callbacks=callbacks)

    # --- reading -------------------------------------------------------------------------

    def messages(self, to: str | None = None) -> list[FakeMessage]:
        """Messages created, oldest first (to one number, or all)."""
        with self._lock:
            return [m for m in self._messages if to is None or m.to == to]

    def requests(self) -> list[FakeRequest]:
        """Every POST to Messages.json, refused ones included."""
        with self._lock:
            return list(self._requests)

    def callbacks_sent(self) -> list[dict[str, str]]:
        """Status callbacks posted, with the bot's answer."""
        with self._lock:
            return list(self._callbacks_sent)

    def wait_for(
        self,
        to: str,
        count: int = 1,
        timeout: float = 10.0,
        where: Callable[[FakeMessage], bool] = lambda _: True,
    ) -> list[FakeMessage]:
        """Wait until `count` messages (matching `where`) were sent to a number; returns them."""
        deadline = time.monotonic() + timeout
        while True:
            found = [m for m in self.messages(to) if where(m)]
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{len(found)} of {count} messages to {to} within {timeout}s; "
                    f"got {[m.body for m in self.messages(to)]}"
                )
            time.sleep(0.02)

    # --- the API -------------------------------------------------------------------------

    async def _create(self, request: Request) -> Response:
        now = time.time()
        token = request.headers.get("i-twilio-idempotency-token")
        form = dict(parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True))
        to = form.get("To")

        def answer(status: int, code: int | None, payload: dict[str, Any]) -> Response:
            with self._lock:
                self._requests.append(FakeRequest(to, token, status, code, now))
            headers = {"Retry-After": "1"} if status == 429 else {}
            return JSONResponse(payload, status_code=status, headers=headers)

        if request.path_params["sid"] != self.account_sid or not self._authorised(request):
            return answer(401, 20003, _error(20003))
        with self._lock:
            failure = self._script.failures.pop(0) if self._script.failures else None
            if failure is None and now < self._script.fail_until:
                failure = self._script.fail_status
            hold = self._script.stall_hold if now < self._script.stall_until else 0.0
        if hold:
            await asyncio.sleep(hold)
            return answer(503, 20500, {**_error(20500), "status": 503})
        if failure is not None:
            code = {429: 20429}.get(failure, 20500)
            return answer(failure, code, {**_error(code), "status": failure})
        for code, missing in (
            (21604, not to),
            (21602, not form.get("Body")),
            (21603, not form.get("From") and not form.get("MessagingServiceSid")),
            (21211, bool(to) and not str(to).startswith("+")),
        ):
            if missing:
                return answer(400, code, _error(code))
        assert to is not None
        with self._lock:
            refused = self._script.refused.get(to)
        if refused is not None:
            return answer(400, refused, _error(refused))
        message = FakeMessage(
            sid="SM" + secrets.token_hex(16),
            to=to,
            from_=form.get("From"),
            messaging_service_sid=form.get("MessagingServiceSid"),
            body=form.get("Body", ""),
            status_callback=form.get("StatusCallback"),
            idempotency_token=token,
            received_at=now,
        )
        with self._lock:
            self._messages.append(message)
            delay = self._script.delays.pop(0) if self._script.delays else 0.0
            held = self._script.hold_at_most
            final = self._script.deliver.get(to)
            post_callbacks = self._script.callbacks or final is not None
        if message.status_callback and post_callbacks:
            task = asyncio.create_task(self._report(message, final or ("delivered", None)))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        if delay:
            await asyncio.sleep(delay)
        # Released from the test's thread, not this loop's: a polled flag, not an Event.
        while held and self._script.hold_at_most and time.time() < now + held:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        return answer(201, None, self._resource(message))

    async def _list(self, request: Request) -> Response:
        """GET Messages.json: Twilio's list, newest first, in pages (an outage scripted for a
        period fails lists too; fail_next counts creates only)."""
        if request.path_params["sid"] != self.account_sid or not self._authorised(request):
            return JSONResponse(_error(20003), status_code=401)
        now = time.time()
        with self._lock:
            failure = self._script.fail_status if now < self._script.fail_until else None
            hold = self._script.stall_hold if now < self._script.stall_until else 0.0
        if hold:
            await asyncio.sleep(hold)
            failure = 503
        if failure is not None:
            code = {429: 20429}.get(failure, 20500)
            headers = {"Retry-After": "1"} if failure == 429 else {}
            return JSONResponse({**_error(code), "status": failure}, failure, headers=headers)
        query = request.query_params
        try:
            size = min(1000, max(1, int(query.get("PageSize", "50"))))
            page = max(0, int(query.get("Page", "0")))
            days = {
                op: _gmt_date(query[key])
                for op, key in (("=", "DateSent"), ("<", "DateSent<"), (">", "DateSent>"))
                if key in query
            }
        except ValueError:
            return JSONResponse(_error(20001), status_code=400)
        with self._lock:
            found = [
                m
                for m in reversed(self._messages)
                if query.get("To") in (None, m.to)
                and query.get("From") in (None, m.from_)
                and _on_days(m.received_at, days)
            ]
        chunk = found[page * size : (page + 1) * size]
        base = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages.json"
        kept = [(k, v) for k, v in query.multi_items() if k not in ("Page", "PageToken")]

        def uri(number: int) -> str:
            extra = [("Page", str(number)), ("PageSize", str(size))]
            if number:
                extra.append(("PageToken", f"PA{number:032x}"))
            return base + "?" + urlencode([*[kv for kv in kept if kv[0] != "PageSize"], *extra])

        more = (page + 1) * size < len(found)
        return JSONResponse(
            {
                "messages": [self._resource(m) for m in chunk],
                "end": page * size + max(0, len(chunk) - 1),
                "first_page_uri": uri(0),
                "next_page_uri": uri(page + 1) if more else None,
                "previous_page_uri": uri(page - 1) if page else None,
                "page": page,
                "page_size": size,
                "start": page * size,
                "uri": uri(page),
            }
        )

    def _authorised(self, request: Request) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return request.headers.get("authorization", "") == f"Basic {expected}"

    def _resource(self, message: FakeMessage) -> dict[str, Any]:
        date = formatdate(message.received_at, usegmt=True)
        return {
            "sid": message.sid,
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": message.body,
            "date_created": date,
            "date_updated": date,
            "date_sent": date,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": message.from_,
            "messaging_service_sid": message.messaging_service_sid,
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "status": "accepted" if message.messaging_service_sid else "queued",
            "subresource_uris": {
                "media": f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{message.sid}"
                "/Media.json"
            },
            "to": message.to,
            "uri": f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{message.sid}.json",
        }

    async def _report(self, message: FakeMessage, final: tuple[str, str | None]) -> None:
        """Post 'sent' then the final status to the message's callback, signed like Twilio."""
        assert message.status_callback is not None
        async with httpx.AsyncClient(timeout=10) as client:
            for status, error in (("sent", None), final):
                await asyncio.sleep(self.callback_delay)
                form = {
                    "MessageSid": message.sid,
                    "SmsSid": message.sid,
                    "AccountSid": self.account_sid,
                    "From": message.from_ or "",
                    "To": message.to,
                    "MessageStatus": status,
                    "SmsStatus": status,
                    "ApiVersion": API_VERSION,
                }
                if error:
                    form["ErrorCode"] = error
                signature = RequestValidator(self.auth_token).compute_signature(
                    message.status_callback, form
                )
                try:
                    answer = await client.post(
                        message.status_callback,
                        data=form,
                        headers={"X-Twilio-Signature": signature},
                    )
                    outcome = str(answer.status_code)
                except httpx.HTTPError as exc:
                    outcome = type(exc).__name__
                with self._lock:
                    message.status = status
                    self._callbacks_sent.append({**form, "answer": outcome})

    async def _log(self, request: Request) -> Response:
        if request.query_params.get("format") == "text":  # for people: who got what
            blocks = [f"to {m.to}:\n{m.body}\n" for m in self.messages()]
            return PlainTextResponse("\n".join(blocks))
        with self._lock:
            return JSONResponse(
                {
                    "messages": [asdict(m) for m in self._messages],
                    "requests": [asdict(r) for r in self._requests],
                    "callbacks": list(self._callbacks_sent),
                }
            )

    async def _script_endpoint(self, request: Request) -> Response:
        try:
            script = json.loads(await request.body())
            if not isinstance(script, dict):
                raise TypeError("a JSON object")
            if script.get("reset"):
                self.reset()
            if "fail_next" in script:
                self.fail_next(
                    int(script["fail_next"]["count"]), int(script["fail_next"]["status"])
                )
            if "refuse" in script:
                self.refuse(str(script["refuse"]))
            if "delay_next" in script:
                item = script["delay_next"]
                self.delay_next(int(item["count"]), float(item["seconds"]))
            if "deliver" in script:
                item = script["deliver"]
                self.deliver(str(item["to"]), str(item["status"]), item.get("error_code"))
            if "callbacks" in script:
                self.callbacks(bool(script["callbacks"]))
            if "fail_for" in script:
                item = script["fail_for"]
                self.fail_for(float(item["seconds"]), int(item.get("status", 500)))
            if "stall_for" in script:
                item = script["stall_for"]
                self.stall_for(float(item["seconds"]), float(item["hold"]))
        except (ValueError, TypeError, KeyError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"ok": True})


def _gmt_date(text: str) -> date:
    """A DateSent filter's value: Twilio documents a GMT date, YYYY-MM-DD, nothing finer."""
    if len(text) != 10:
        raise ValueError(text)
    return date.fromisoformat(text)


def _on_days(at: float, days: dict[str, date]) -> bool:
    """Whether a message sent at `at` passes DateSent filters (=, <= and >= on GMT dates)."""
    day = datetime.fromtimestamp(at, UTC).date()
    return (
        ("=" not in days or day == days["="])
        and ("<" not in days or day <= days["<"])
        and (">" not in days or day >= days[">"])
    )


def _error(code: int) -> dict[str, Any]:
    """Twilio's error body (legacy shape, which the twilio client turns into a RestException)."""
    status, message = ERRORS[code]
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


@contextlib.contextmanager
def running(**kwargs: Any) -> Iterator[FakeTwilio]:
    """A started fake, stopped on exit."""
    fake = FakeTwilio(**kwargs).start()
    try:
        yield fake
    finally:
        fake.stop()


def main(argv: list[str] | None = None) -> int:
    """python -m tests.fakes.twilio [--port 8099] [--callbacks]"""
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.twilio", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--account-sid", default=ACCOUNT_SID)
    parser.add_argument("--auth-token", default=AUTH_TOKEN)
    parser.add_argument("--callbacks", action="store_true", help="post sent/delivered callbacks")
    args = parser.parse_args(argv)
    fake = FakeTwilio(
        args.host,
        args.port,
        account_sid=args.account_sid,
        auth_token=args.auth_token,
        callbacks=args.callbacks,
    )
    print(
        f"fake Twilio on {fake.url} (account {args.account_sid}, token {args.auth_token}); "
        f"GET {fake.url}/_log lists what it received",
        flush=True,
    )
    uvicorn.run(fake.app, host=args.host, port=args.port, log_level="warning", lifespan="off")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
