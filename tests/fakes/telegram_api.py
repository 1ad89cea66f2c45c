"""A fake Telegram Bot API on 127.0.0.1, for the tests and for trying `carebot run` by hand.

It speaks enough of the Bot API for python-telegram-bot: POST (or GET) /bot<token>/<method>
with a JSON or form body (PTB sends forms, nested values as JSON text), for getMe,
getUpdates (long polling with `timeout`; the offset confirms), setWebhook, deleteWebhook,
getWebhookInfo, setMyCommands, getMyCommands, sendMessage, editMessageText,
editMessageReplyMarkup and answerCallbackQuery, answering Bot-API-shaped JSON. It checks what
Telegram checks and a test cares about: HTML that does not parse (a bare "<" or "&"), texts
over 4096 characters, callback data over 64 bytes, a second answer to one callback query or
one past its deadline (`ANSWER_DEADLINE` after the press: Telegram's clients stop waiting and
answer "query is too old"), an edit that changes nothing.

Updates are injected (`send_text`, `send_contact`, `press`, `push`, `redeliver`); getUpdates
hands them out, or, once setWebhook was called, a thread POSTs them in order to the
registered URL with the X-Telegram-Bot-Api-Secret-Token header (retrying until a 2xx).
It enforces Telegram's per-bot limits as Telegram does (`Limits`: about 30 messages a second
overall and 20 a minute to one group, by default): a sendMessage over them answers 429 with
parameters.retry_after and sends nothing, however many processes the bot runs. A second
getUpdates while one is open ends the first with 409 Conflict ("terminated by other getUpdates
request"), as when two instances of a bot poll.
Every call is recorded; `fail_next_sends(n, retry_after)` makes the next n sendMessage calls
answer 429 with parameters.retry_after, and `fail_sends_for(seconds, status)` makes every
sendMessage of a period answer 500 or 429, or (`hold`) time out, sending nothing;
`slow_send_answers(seconds)` holds each sendMessage's answer after the message is shown (the
answer in transit while the person already sees the message and may press its buttons).

From a test: `with FakeTelegram() as fake: ...` (a threaded HTTP server).
From a shell: `python -m tests.fakes.telegram_api --port 8098`, then point
CAREBOT_TELEGRAM_API_URL at http://127.0.0.1:8098 and type `help` at its prompt.
"""

from __future__ import annotations

import argparse
import contextlib
import html
import itertools
import json
import math
import re
import shlex
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

FAKE_TOKEN = "123456:TEST-fake-telegram-token"
BOT_USER: dict[str, Any] = {
    "id": 123456,
    "is_bot": True,
    "first_name": "Carebot",
    "username": "carebot_test_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
MAX_TEXT = 4096
MAX_CALLBACK_DATA = 64
# Seconds after a press within which answerCallbackQuery is taken. Telegram does not publish the
# figure; clients give up after some seconds and a late answer gets "query is too old": ten
# seconds is on the generous side, so a bot that passes here is not relying on a longer one.
ANSWER_DEADLINE = 10.0
# Parameters that stay strings in a form body (everything else is JSON text when nested).
STRING_FIELDS = frozenset(
    {
        "text",
        "caption",
        "url",
        "secret_token",
        "callback_query_id",
        "language_code",
        "parse_mode",
        "description",
        "ip_address",
    }
)
ALLOWED_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "a",
        "tg-emoji",
        "code",
        "pre",
        "blockquote",
    }
)
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z-]*)(\s[^<>]*)?>")
_ENTITY = re.compile(r"&(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_COMMAND = re.compile(r"^[a-z0-9_]{1,32}$")
_PATH = re.compile(r"^/bot(?P<token>[^/]+)/(?P<method>[A-Za-z]+)$")
T = TypeVar("T")


@dataclass(frozen=True)
class Limits:
    """Telegram's limits per bot (https://core.telegram.org/bots/faq, "My bot is hitting
    limits"): (messages, seconds) in any sliding window, overall and to one group; None lifts
    one. Tests that want them fast scale both numbers down."""

    overall: tuple[int, float] | None = (30, 1.0)
    group: tuple[int, float] | None = (20, 60.0)


TELEGRAM_LIMITS = Limits()
NO_LIMITS = Limits(None, None)  # the bench, to measure what the process itself can do
CONFLICT = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance "
    "is running"
)


class ApiError(Exception):
    """A Bot API error answer: {"ok": false, "error_code", "description", "parameters"}."""

    def __init__(
        self, status: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


@dataclass
class Call:
    """One request the fake received, with the status it answered."""

    method: str
    params: dict[str, Any]
    at: float
    status: int = 200


@dataclass
class SentMessage:
    """A message the bot sent, as it stands now (edits applied), with its history."""

    chat_id: int
    message_id: int
    html: str  # as sent (the parse_mode's source)
    text: str  # as Telegram shows it: tags gone, entities decoded
    reply_markup: dict[str, Any] | None
    at: float
    parse_mode: str | None = None
    edits: list[dict[str, Any]] = field(default_factory=list)

    def buttons(self) -> list[tuple[str, str]]:
        """(label, callback_data) of its inline keyboard, row after row."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [(b["text"], b.get("callback_data", "")) for row in rows for b in row]

    def button(self, pattern: str) -> str:
        """The callback data of the one button whose label matches `pattern` (a regex)."""
        hits = [data for label, data in self.buttons() if re.search(pattern, label, re.I)]
        if len(hits) != 1:
            raise AssertionError(f"{pattern!r} matches {len(hits)} of {self.buttons()}")
        return hits[0]

    def as_api(self) -> dict[str, Any]:
        """The Bot API Message object."""
        message: dict[str, Any] = {
            "message_id": self.message_id,
            "date": int(self.at),
            "chat": _chat(self.chat_id),
            "from": BOT_USER,
            "text": self.text,
        }
        if self.edits:
            message["edit_date"] = int(self.edits[-1]["at"])
        if self.reply_markup and "inline_keyboard" in self.reply_markup:
            message["reply_markup"] = self.reply_markup
        return message


def _chat(chat_id: int) -> dict[str, Any]:
    if chat_id < 0:
        return {"id": chat_id, "type": "supergroup", "title": "Agency staff"}
    return {"id": chat_id, "type": "private", "first_name": f"User {chat_id}"}


def parse_html(source: str) -> str:
    """The text Telegram shows for an HTML message; ApiError where Telegram would refuse."""
    out: list[str] = []
    stack: list[str] = []
    pos = 0
    while pos < len(source):
        char = source[pos]
        if char == "<":
            tag = _TAG.match(source, pos)
            if tag is None or tag.group(2).lower() not in ALLOWED_TAGS:
                raise ApiError(
                    400, f"Bad Request: can't parse entities: unsupported start tag at {pos}"
                )
            name = tag.group(2).lower()
            if tag.group(1):
                if not stack or stack.pop() != name:
                    raise ApiError(
                        400, f"Bad Request: can't parse entities: unexpected end tag at {pos}"
                    )
            else:
                stack.append(name)
            pos = tag.end()
        elif char == "&":
            entity = _ENTITY.match(source, pos)
            if entity is None:
                raise ApiError(
                    400, f"Bad Request: can't parse entities: unescaped '&' at byte offset {pos}"
                )
            out.append(html.unescape(entity.group(0)))
            pos = entity.end()
        else:
            out.append(char)
            pos += 1
    if stack:
        raise ApiError(400, f"Bad Request: can't parse entities: unclosed <{stack[-1]}>")
    return "".join(out)


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _check_markup(markup: Any) -> dict[str, Any] | None:
    """A reply_markup as Telegram validates it (inline keyboards: callback data ≤ 64 bytes)."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        for row in markup["inline_keyboard"]:
            for button in row:
                if not button.get("text"):
                    raise ApiError(400, "Bad Request: text buttons are unallowed in the keyboard")
                data = button.get("callback_data")
                if data is not None and not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
    elif "keyboard" in markup:
        for row in markup["keyboard"]:
            for button in row:
                text = button if isinstance(button, str) else button.get("text")
                if not text:
                    raise ApiError(400, "Bad Request: keyboard button text is empty")
    elif not markup.get("remove_keyboard") and not markup.get("force_reply"):
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    return markup


def decode_params(content_type: str, body: bytes, query: str) -> dict[str, Any]:
    """The parameters of a request: JSON body, form body (nested values as JSON), or query."""
    params: dict[str, Any] = dict(parse_qsl(query))
    if not body:
        return params
    if content_type.startswith("application/json"):
        params.update(json.loads(body))
        return params
    if content_type.startswith("application/x-www-form-urlencoded"):
        for key, value in parse_qsl(body.decode("utf-8"), keep_blank_values=True):
            params[key] = value
        for key, value in list(params.items()):
            if key in STRING_FIELDS or not isinstance(value, str):
                continue
            with contextlib.suppress(ValueError):  # else a plain string: "@channel", "HTML"
                params[key] = json.loads(value)
        return params
    raise ApiError(400, f"Bad Request: unsupported content type {content_type!r}")


@dataclass
class _Pending:
    update: dict[str, Any]
    sticky: bool = False  # a redelivery: handed out once even below the confirmed offset
    handed: bool = False


class FakeTelegram:
    """The fake Bot API server and the test's handle on it."""

    def __init__(
        self,
        token: str = FAKE_TOKEN,
        port: int = 0,
        *,
        echo: bool = False,
        limits: Limits = TELEGRAM_LIMITS,
    ) -> None:
        self.token = token
        self.echo = echo  # print what the bot does (the command line)
        self.limits = limits
        self._sent_at: list[tuple[float, int]] = []  # (time.monotonic(), chat id) of sends
        self._poll_turn = 0  # bumped by each getUpdates: an older one still open ends in 409
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
        self._server.daemon_threads = True
        self._server.fake = self  # type: ignore[attr-defined]
        self.port = int(self._server.server_address[1])
        self._cond = threading.Condition()
        self._pending: list[_Pending] = []
        self._update_ids = itertools.count(1)
        self._query_ids = itertools.count(1)
        self._chat_counters: dict[int, itertools.count[int]] = {}
        self._closing = False
        self._threads: list[threading.Thread] = []
        self.calls: list[Call] = []
        self.messages: dict[tuple[int, int], SentMessage] = {}
        self.sent: list[SentMessage] = []
        self.queries: dict[str, dict[str, Any]] = {}  # id -> the callback query
        self.answers: dict[str, dict[str, Any]] = {}  # id -> answerCallbackQuery's params
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.webhook: dict[str, Any] | None = None
        self.webhook_posts: list[tuple[int, int]] = []  # (update_id, HTTP status)
        self.injected: list[dict[str, Any]] = []  # every update pushed, oldest first
        self.deliveries: dict[int, int] = {}  # update_id -> times handed out or POSTed (2xx)
        self.forbidden: set[int] = set()  # chats that blocked the bot (403)
        self._fail_sends = 0
        self._retry_after = 1
        self._fail_until = 0.0  # time.time() before which every sendMessage fails
        self._fail_status = 500
        self._fail_hold = 0.0
        self._answer_delay = 0.0  # seconds each sendMessage's answer is held once shown
        self._pressed_at: dict[str, float] = {}  # query id -> time.monotonic() of the press

    # --- life --------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The base URL for CAREBOT_TELEGRAM_API_URL (the Bot API's https://api.telegram.org)."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeTelegram:
        """Serve in background threads."""
        for target in (self._server.serve_forever, self._deliver_webhooks):
            thread = threading.Thread(target=target, daemon=True, name=f"fake-tg-{target}")
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        """Stop serving (long polls in progress return at once)."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeTelegram:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- scripting -----------------------------------------------------------------------

    def fail_next_sends(self, count: int, retry_after: int = 1) -> None:
        """The next `count` sendMessage calls answer 429 with parameters.retry_after."""
        with self._cond:
            self._fail_sends = count
            self._retry_after = retry_after

    def fail_sends_for(
        self, seconds: float, status: int = 500, *, retry_after: int = 1, hold: float = 0.0
    ) -> None:
        """For the next `seconds`, every sendMessage answers `status` (429: with retry_after),
        after holding the request `hold` seconds when given (longer than the client's read
        timeout, it is a timeout); nothing is sent."""
        with self._cond:
            self._fail_until = time.time() + seconds
            self._fail_status = status
            self._retry_after = retry_after
            self._fail_hold = hold

    def slow_send_answers(self, seconds: float) -> None:
        """From now on each sendMessage shows its message at once but answers `seconds` later
        (0: at once again), as when the answer is slow to come back over the network."""
        with self._cond:
            self._answer_delay = seconds

    # --- injecting updates -------------------------------------------------------------

    def user(self, user_id: int, *, language_code: str | None = "fr") -> dict[str, Any]:
        """A Bot API User for a person."""
        found: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}
        if language_code:
            found["language_code"] = language_code
        return found

    def push(self, update: dict[str, Any]) -> int:
        """Queue a raw update (an update_id is given when it has none); returns its id."""
        with self._cond:
            if "update_id" not in update:
                update = {"update_id": next(self._update_ids), **update}
            self.injected.append(update)
            self._pending.append(_Pending(update))
            self._cond.notify_all()
            return int(update["update_id"])

    def redeliver(self, update_id: int) -> None:
        """Deliver an update again with the same update_id (as after a lost answer)."""
        with self._cond:
            original = next(u for u in self.injected if u["update_id"] == update_id)
            self._pending.append(_Pending(original, sticky=True))
            self._cond.notify_all()

    def _message(
        self, user_id: int, chat_id: int | None, language_code: str | None, **content: Any
    ) -> int:
        chat = chat_id if chat_id is not None else user_id
        message = {
            "message_id": self._next_message_id(chat),
            "date": int(time.time()),
            "chat": _chat(chat),
            "from": self.user(user_id, language_code=language_code),
            **content,
        }
        return self._inject({"message": message})

    def send_text(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        language_code: str | None = "fr",
    ) -> int:
        """A person types a message (in their private chat, or in `chat_id`)."""
        entities = []
        if text.startswith("/"):
            entities = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        return self._message(user_id, chat_id, language_code, text=text, entities=entities)

    def send_contact(
        self,
        user_id: int,
        phone: str,
        *,
        contact_user_id: int | None = -1,
        language_code: str | None = "fr",
    ) -> int:
        """A person shares a contact card: their own (the default), another's, or one
        without a Telegram account (contact_user_id=None)."""
        contact: dict[str, Any] = {"phone_number": phone, "first_name": f"User{user_id}"}
        owner = user_id if contact_user_id == -1 else contact_user_id
        if owner is not None:
            contact["user_id"] = owner
        return self._message(user_id, None, language_code, contact=contact)

    def press(
        self,
        user_id: int,
        message: SentMessage,
        data: str,
        *,
        language_code: str | None = "fr",
    ) -> tuple[int, str]:
        """A person taps a button (any callback data: a forged one too); (update_id, query id)."""
        update, query_id = self.press_update(user_id, message, data, language_code=language_code)
        return self.push(update), query_id

    def press_update(
        self,
        user_id: int,
        message: SentMessage,
        data: str,
        *,
        language_code: str | None = "fr",
    ) -> tuple[dict[str, Any], str]:
        """A press that the test delivers itself (to the webhook of a worker of its choice):
        the update, with an update_id, and its query id; its answer deadline runs from now."""
        with self._cond:
            query_id = f"q{next(self._query_ids)}"
            query = {
                "id": query_id,
                "from": self.user(user_id, language_code=language_code),
                "message": message.as_api(),
                "chat_instance": f"ci{message.chat_id}",
                "data": data,
            }
            self.queries[query_id] = query
            self._pressed_at[query_id] = time.monotonic()
            update = {"update_id": next(self._update_ids), "callback_query": query}
        return update, query_id

    def _inject(self, content: dict[str, Any]) -> int:
        return self.push(content)

    def _next_message_id(self, chat_id: int) -> int:
        with self._cond:
            counter = self._chat_counters.setdefault(chat_id, itertools.count(1))
            return next(counter)

    # --- looking at what the bot did -----------------------------------------------------

    def calls_of(self, method: str) -> list[Call]:
        """The calls of one method (any case), in order."""
        with self._cond:
            return [c for c in self.calls if c.method.lower() == method.lower()]

    def messages_to(self, chat_id: int) -> list[SentMessage]:
        """What the bot sent to a chat, in order (edits applied)."""
        with self._cond:
            return [m for m in self.sent if m.chat_id == chat_id]

    def wait_for(self, predicate: Callable[[], T | None], timeout: float = 10.0) -> T:
        """Wait until `predicate()` returns something truthy, and return it."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = predicate()
                if found:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    recent = [(c.method, c.status) for c in self.calls[-15:]]
                    raise AssertionError(f"timed out after {timeout}s; recent calls: {recent}")
                self._cond.wait(min(left, 0.05))

    def wait_message(
        self, chat_id: int, pattern: str = "", *, after: int = 0, timeout: float = 10.0
    ) -> SentMessage:
        """The first message to `chat_id`, among those after the first `after`, whose text or
        a button label matches `pattern` (a case-insensitive regex)."""

        def found() -> SentMessage | None:
            for message in self.messages_to(chat_id)[after:]:
                labels = [label for label, _ in message.buttons()]
                if any(re.search(pattern, text, re.I) for text in [message.text, *labels]):
                    return message
            return None

        try:
            return self.wait_for(found, timeout)
        except AssertionError:
            texts = [m.text for m in self.messages_to(chat_id)]
            raise AssertionError(
                f"no message to {chat_id} matching {pattern!r}: {texts}"
            ) from None

    def answer_to(self, query_id: str, timeout: float = 10.0) -> dict[str, Any]:
        """The answerCallbackQuery for a press (waits for it)."""
        return self.wait_for(lambda: self.answers.get(query_id), timeout)

    # --- the Bot API -------------------------------------------------------------------

    def api(self, token: str, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Answer one Bot API request: (HTTP status, JSON body)."""
        call = Call(method, params, time.time())
        with self._cond:
            self.calls.append(call)
            self._cond.notify_all()
        try:
            if token != self.token:
                raise ApiError(401, "Unauthorized")
            handler: Callable[[dict[str, Any]], Any] | None = getattr(
                self, f"_m_{method.lower()}", None
            )
            if handler is None:
                raise ApiError(404, "Not Found")
            result = handler(params)
            answer: dict[str, Any] = {"ok": True, "result": result}
        except ApiError as exc:
            call.status = exc.status
            answer = {"ok": False, "error_code": exc.status, "description": exc.description}
            if exc.parameters:
                answer["parameters"] = exc.parameters
        with self._cond:
            self._cond.notify_all()
        return call.status, answer

    def _m_getme(self, _: dict[str, Any]) -> dict[str, Any]:
        return BOT_USER

    def _m_getupdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        timeout = float(params.get("timeout") or 0)
        deadline = time.monotonic() + timeout
        with self._cond:
            if self.webhook is not None:
                raise ApiError(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; use "
                    "deleteWebhook to delete the webhook first",
                )
            self._poll_turn += 1
            turn = self._poll_turn
            self._cond.notify_all()
            while True:
                if self._poll_turn != turn:
                    raise ApiError(409, CONFLICT)
                if offset:
                    self._pending = [
                        p
                        for p in self._pending
                        if p.update["update_id"] >= offset or (p.sticky and not p.handed)
                    ]
                ready = [p for p in self._pending if not (p.sticky and p.handed)][:limit]
                if ready or self._closing:
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            for pending in ready:
                pending.handed = True
                update_id = int(pending.update["update_id"])
                self.deliveries[update_id] = self.deliveries.get(update_id, 0) + 1
            return [p.update for p in ready]

    def _m_setwebhook(self, params: dict[str, Any]) -> bool:
        secret = params.get("secret_token")
        if secret is not None and not _SECRET.match(str(secret)):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        if not params.get("url"):
            return self._m_deletewebhook(params)
        with self._cond:
            if params.get("drop_pending_updates"):
                self._pending.clear()
            self.webhook = {
                "url": params["url"],
                "secret_token": secret,
                "allowed_updates": params.get("allowed_updates"),
            }
            self._cond.notify_all()
        return True

    def _m_deletewebhook(self, params: dict[str, Any]) -> bool:
        with self._cond:
            self.webhook = None
            if params.get("drop_pending_updates"):
                self._pending.clear()
        return True

    def _m_getwebhookinfo(self, _: dict[str, Any]) -> dict[str, Any]:
        with self._cond:
            return {
                "url": (self.webhook or {}).get("url", ""),
                "has_custom_certificate": False,
                "pending_update_count": len(self._pending),
            }

    def _m_setmycommands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise ApiError(400, "Bad Request: commands must be a list of at most 100")
        for command in commands:
            if not _COMMAND.match(str(command.get("command", ""))):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        key = self._commands_key(params)
        with self._cond:
            self.commands[key] = commands
        return True

    def _m_getmycommands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        with self._cond:
            return self.commands.get(self._commands_key(params), [])

    @staticmethod
    def _commands_key(params: dict[str, Any]) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    def _m_sendmessage(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._cond:
            failing = time.time() < self._fail_until
            status, hold, retry = self._fail_status, self._fail_hold, self._retry_after
        if failing:
            time.sleep(hold)  # a handler thread of its own: only this request waits
            if status == 429:
                raise ApiError(
                    429, f"Too Many Requests: retry after {retry}", {"retry_after": retry}
                )
            raise ApiError(status, "Internal Server Error")
        with self._cond:
            if self._fail_sends > 0:
                self._fail_sends -= 1
                retry = self._retry_after
                raise ApiError(
                    429, f"Too Many Requests: retry after {retry}", {"retry_after": retry}
                )
        chat_id = int(params["chat_id"])
        if chat_id in self.forbidden:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        source, text = self._text(params)
        markup = _check_markup(params.get("reply_markup"))
        self._within_limits(chat_id)
        message = SentMessage(
            chat_id=chat_id,
            message_id=self._next_message_id(chat_id),
            html=source,
            text=text,
            reply_markup=markup,
            at=time.time(),
            parse_mode=params.get("parse_mode"),
        )
        with self._cond:
            self.messages[(chat_id, message.message_id)] = message
            self.sent.append(message)
            self._cond.notify_all()
            delay = self._answer_delay
        time.sleep(delay)  # shown, but its answer still on the way back
        if self.echo:
            print(f"\n[send] to {chat_id} #{message.message_id}: {text}")
            for number, (label, data) in enumerate(message.buttons(), start=1):
                print(f"    [{number}] {label}   ({data})")
        return message.as_api()

    def _within_limits(self, chat_id: int) -> None:
        """Count one send against the limits, or refuse it with 429 and retry_after."""
        now = time.monotonic()
        windows = [limit[1] for limit in (self.limits.overall, self.limits.group) if limit]
        if not windows:
            return
        with self._cond:
            longest = max(windows)
            self._sent_at = [(at, chat) for at, chat in self._sent_at if at > now - longest]
            checks = [(self.limits.overall, self._sent_at)]
            if chat_id < 0:
                checks.append((self.limits.group, [s for s in self._sent_at if s[1] == chat_id]))
            for limit, sends in checks:
                if limit is None:
                    continue
                count, window = limit
                recent = [at for at, _ in sends if at > now - window]
                if len(recent) >= count:
                    retry = max(1, math.ceil(recent[0] + window - now))
                    raise ApiError(
                        429, f"Too Many Requests: retry after {retry}", {"retry_after": retry}
                    )
            self._sent_at.append((now, chat_id))

    def _text(self, params: dict[str, Any]) -> tuple[str, str]:
        source = str(params.get("text") or "")
        if not source.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        mode = str(params.get("parse_mode") or "").upper()
        text = parse_html(source) if mode == "HTML" else source
        if _utf16(text) > MAX_TEXT:
            raise ApiError(400, "Bad Request: message is too long")
        return source, text

    def _edited(self, params: dict[str, Any]) -> SentMessage:
        key = (int(params["chat_id"]), int(params["message_id"]))
        found = self.messages.get(key)
        if found is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        return found

    def _m_editmessagetext(self, params: dict[str, Any]) -> dict[str, Any]:
        source, text = self._text(params)
        markup = _check_markup(params.get("reply_markup"))
        with self._cond:
            message = self._edited(params)
            if source == message.html and markup == message.reply_markup:
                raise ApiError(
                    400,
                    "Bad Request: message is not modified: specified new message content and "
                    "reply markup are exactly the same as a current content and reply markup "
                    "of the message",
                )
            message.edits.append(
                {"at": time.time(), "old_text": message.text, "old_markup": message.reply_markup}
            )
            message.html, message.text, message.reply_markup = source, text, markup
            self._cond.notify_all()
        if self.echo:
            print(f"\n[edit] {message.chat_id} #{message.message_id}: {text}")
        return message.as_api()

    def _m_editmessagereplymarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        markup = _check_markup(params.get("reply_markup"))
        with self._cond:
            message = self._edited(params)
            if markup == message.reply_markup:
                raise ApiError(400, "Bad Request: message is not modified")
            message.edits.append(
                {"at": time.time(), "old_text": message.text, "old_markup": message.reply_markup}
            )
            message.reply_markup = markup
            self._cond.notify_all()
        return message.as_api()

    def _m_answercallbackquery(self, params: dict[str, Any]) -> bool:
        query_id = str(params.get("callback_query_id"))
        with self._cond:
            pressed = self._pressed_at.get(query_id, -math.inf)
            late = time.monotonic() - pressed > ANSWER_DEADLINE
            if query_id not in self.queries or query_id in self.answers or late:
                raise ApiError(
                    400,
                    "Bad Request: query is too old and response timeout expired or query ID "
                    "is invalid",
                )
            self.answers[query_id] = {**params, "at": time.time()}
            self._cond.notify_all()
        if self.echo and params.get("text"):
            alert = " (alert)" if params.get("show_alert") else ""
            print(f"\n[answer{alert}] {params.get('text')}")
        return True

    # --- webhook delivery ------------------------------------------------------------------

    def _deliver_webhooks(self) -> None:
        """POST pending updates in order to the registered webhook; a non-2xx is retried."""
        while True:
            with self._cond:
                while not self._closing and (self.webhook is None or not self._pending):
                    self._cond.wait(0.5)
                if self._closing:
                    return
                assert self.webhook is not None
                hook = dict(self.webhook)
                pending = self._pending[0]
            status = self._post(hook, pending.update)
            with self._cond:
                self.webhook_posts.append((int(pending.update["update_id"]), status))
                if 200 <= status < 300:
                    update_id = int(pending.update["update_id"])
                    self.deliveries[update_id] = self.deliveries.get(update_id, 0) + 1
                    if self._pending and self._pending[0] is pending:
                        self._pending.pop(0)
                self._cond.notify_all()
            if not 200 <= status < 300:
                time.sleep(0.2)

    @staticmethod
    def _post(hook: dict[str, Any], update: dict[str, Any]) -> int:
        headers = {"Content-Type": "application/json"}
        if hook.get("secret_token"):
            headers["X-Telegram-Bot-Api-Secret-Token"] = str(hook["secret_token"])
        request = urllib.request.Request(
            hook["url"], data=json.dumps(update).encode(), headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return int(answer.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)
        except OSError:
            return 599


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as python-telegram-bot's httpx expects
    disable_nagle_algorithm = True  # headers and body leave in two writes: no 40 ms stall

    def do_POST(self) -> None:
        """Any Bot API method."""
        self._dispatch()

    def do_GET(self) -> None:
        """Any Bot API method (parameters in the query string)."""
        self._dispatch()

    def _dispatch(self) -> None:
        fake: FakeTelegram = self.server.fake  # type: ignore[attr-defined]
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        match = _PATH.match(parts.path)
        if match is None:
            status, answer = 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        else:
            try:
                params = decode_params(self.headers.get("Content-Type", ""), body, parts.query)
            except (ApiError, ValueError) as exc:
                status = 400
                answer = {"ok": False, "error_code": 400, "description": f"Bad Request: {exc}"}
            else:
                status, answer = fake.api(match["token"], match["method"], params)
        payload = json.dumps(answer).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (a stopped bot)
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the fake records calls instead."""


# --- the command line ----------------------------------------------------------------------

HELP = """commands:
  say USER TEXT...          USER (a Telegram id) types TEXT in their private chat
  group GROUP USER TEXT...  USER types TEXT in the group GROUP (a negative id)
  contact USER PHONE        USER shares their own contact card
  press USER CHAT MSG N     USER taps button N of message MSG in chat CHAT
  429 N [SECONDS]           the next N sendMessage calls answer 429
  calls                     what the bot called so far
  quit"""


def _repl(fake: FakeTelegram) -> None:
    print(HELP)
    for line in sys.stdin:
        try:
            words = shlex.split(line)
        except ValueError as exc:
            print(exc)
            continue
        if not words:
            continue
        verb, args = words[0], words[1:]
        try:
            if verb == "say":
                fake.send_text(int(args[0]), " ".join(args[1:]))
            elif verb == "group":
                fake.send_text(int(args[1]), " ".join(args[2:]), chat_id=int(args[0]))
            elif verb == "contact":
                fake.send_contact(int(args[0]), args[1])
            elif verb == "press":
                message = fake.messages[(int(args[1]), int(args[2]))]
                fake.press(int(args[0]), message, message.buttons()[int(args[3]) - 1][1])
            elif verb == "429":
                fake.fail_next_sends(int(args[0]), int(args[1]) if len(args) > 1 else 1)
            elif verb == "calls":
                for call in fake.calls:
                    print(f"{call.status} {call.method} {json.dumps(call.params)[:120]}")
            elif verb == "quit":
                return
            else:
                print(HELP)
        except (IndexError, KeyError, ValueError) as exc:
            print(f"? {exc!r}")


def main(argv: list[str] | None = None) -> int:
    """Serve the fake until `quit` (or end of input)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=8098)
    parser.add_argument("--token", default=FAKE_TOKEN)
    args = parser.parse_args(argv)
    with FakeTelegram(args.token, args.port, echo=True) as fake:
        print(f"fake Telegram Bot API on {fake.url}")
        print(f"  CAREBOT_TELEGRAM_API_URL={fake.url} CAREBOT_TELEGRAM_TOKEN={args.token}")
        _repl(fake)
    return 0


if __name__ == "__main__":
    sys.exit(main())
