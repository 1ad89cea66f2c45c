"""The Telegram channel on python-telegram-bot, used as a transport only.

Updates arrive by polling (getUpdates in a loop, after deleteWebhook) or, with
CAREBOT_PUBLIC_URL and CAREBOT_TELEGRAM_WEBHOOK_SECRET, on POST /telegram/webhook (the
secret header checked, setWebhook at start). Each update is stored under its update_id
before it is answered (`Carebot.accept`: a redelivered update is ignored), then the inbound
worker runs the flows, whose replies leave through the outbox: a Sender paced to Telegram's
limits, which honours a 429's retry_after by sending the row again later.

Three things happen here rather than in the flows, because they are Telegram's own:
- linking: a user we do not know is asked for their phone number (the contact button);
- presses: checked against the message they were pressed on (stale, foreign, already used),
  answered, and the keyboard replaced by the choice;
- the staff group (CAREBOT_STAFF_CHAT_ID): a staff notification goes there once, and only
  linked staff may press its buttons.

Its settings are checked in telegram_config, presses judged in telegram_press, rows sent by
telegram_transport (at a pace all the workers share), getUpdates polled by telegram_poll (by
one worker for all); markup and commands are written by telegram_render.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable, Coroutine
from functools import partial
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from telegram import (
    Bot,
    BotCommandScopeChat,
    CallbackQuery,
    LinkPreviewOptions,
    Message,
    Update,
    User,
)
from telegram.constants import ChatType, ParseMode
from telegram.error import (
    BadRequest,
    RetryAfter,
    TelegramError,
)
from telegram.request import HTTPXRequest

from bot.app import Carebot
from bot.domain.agency import Person, Provider, Staff
from bot.flows.router import Press, Text
from bot.handlers.channels import Channel, SendsFromOutbox
from bot.handlers.delivery import Sender
from bot.handlers.inbound import InboundWorker
from bot.handlers.telegram_config import WEBHOOK_PATH, TelegramConfig, configure
from bot.handlers.telegram_poll import ALLOWED_UPDATES, Poller
from bot.handlers.telegram_press import (
    ALERTS,
    STALE,
    USED,
    command_text,
    judge_press,
)
from bot.handlers.telegram_render import (
    MEMBER_COMMANDS,
    PROVIDER_COMMANDS,
    STAFF_COMMANDS,
    bot_commands,
    chosen_line,
    html_text,
)
from bot.handlers.telegram_transport import (
    TelegramTransport,
    backoff,
    retry_seconds,
)
from bot.i18n import normalize_language, tr
from bot.services.linking import (
    telegram_language,
)
from bot.services.ports import OutboxMessage
from bot.settings import Settings

log = logging.getLogger(__name__)

OFF_REASON = "CAREBOT_TELEGRAM_TOKEN not set"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# An update is a few kB (a message of at most 4,096 characters and its entities); 1 MiB is
# far above any real one and bounds what a webhook reads into memory.
MAX_UPDATE_BYTES = 1024 * 1024
POOL = 64  # connections to the Bot API for sending
# How long a press waits for the record of the message it was made on, and how often it
# looks. Telegram does not say how long a press may go unanswered; clients give up after
# some seconds, and the wait must end well before.
SETTLE_SECONDS = 5.0
SETTLE_POLL = 0.05


def build(settings: Settings) -> Channel | None:
    """The Telegram channel when configured, else None."""
    config = configure(settings)
    return None if config is None else TelegramChannel(config, settings)


class TelegramChannel(SendsFromOutbox):
    """Receives updates (polling or webhook), hands them to the flows, drains the outbox."""

    name = "telegram"

    def __init__(self, config: TelegramConfig, settings: Settings) -> None:
        self.config = config
        # The pace (CAREBOT_TELEGRAM_PER_*, shared by all the workers) and the leases.
        self.settings = settings
        # httpx logs every request at INFO, and a Bot API URL carries the bot's token.
        logging.getLogger("httpx").setLevel(logging.WARNING)
        self.api = Bot(
            config.token,
            base_url=f"{config.api_url}/bot",
            base_file_url=f"{config.api_url}/file/bot",
            request=HTTPXRequest(connection_pool_size=POOL, pool_timeout=10.0),
            get_updates_request=HTTPXRequest(connection_pool_size=2, read_timeout=10.0),
        )
        self._bot: Carebot | None = None
        self._inbound: InboundWorker | None = None
        self._transport: TelegramTransport | None = None
        self.sender: Sender | None = None
        self._poller: Poller | None = None
        self._main: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # --- the Channel protocol ----------------------------------------------------------

    def state(self) -> str:
        """One line for /healthz: the mode (polling: which worker polls) and the staff group."""
        if self.config.webhook_url is not None:
            how = f"webhook {self.config.webhook_url}"
        elif self._poller is not None:
            how = self._poller.state()
        else:
            how = "polling"
        group = self.config.staff_chat_id
        return f"on ({how}, staff group {group})" if group is not None else f"on ({how})"

    def routes(self) -> list[BaseRoute]:
        """POST /telegram/webhook in webhook mode; nothing when polling."""
        if self.config.webhook_url is None:
            return []
        return [Route(WEBHOOK_PATH, self._webhook, methods=["POST"])]

    async def start(self, bot: Carebot, inbound: InboundWorker) -> None:
        """Connect in the background (Telegram may be unreachable for a while), then poll."""
        self._bot = bot
        self._inbound = inbound
        transport = TelegramTransport(
            self.api,
            bot,
            self.config.staff_chat_id,
            per_second=self.settings.telegram_per_second,
            group_per_minute=self.settings.telegram_group_per_minute,
        )
        self._transport = transport
        self.sender = Sender(
            bot,
            transport,
            per_second=None,  # the transport's budget, shared with the other workers
            per_recipient=self.settings.telegram_per_chat,
            window=POOL,  # as many sends in flight as the HTTP pool has connections
            lease_seconds=self.settings.outbox_lease_seconds,
            poll_seconds=self.settings.outbox_poll_seconds,
        )
        self._main = asyncio.create_task(self._run(), name="telegram")

    async def stop(self) -> None:
        """Stop polling and sending; what is queued stays queued, unanswered updates too."""
        if self._poller is not None:
            await self._poller.resign()
        tasks = [t for t in (self._main, *self._tasks) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.sender is not None:
            await self.sender.stop()
        with contextlib.suppress(Exception):
            await self.api.shutdown()

    # --- start-up ------------------------------------------------------------------------

    async def _run(self) -> None:
        await self._connect()
        assert self.sender is not None
        await self.sender.start()
        self._spawn(self._register_commands())
        if self.config.webhook_url is None:
            self._poller = Poller(
                self.api,
                self._require_bot(),
                self.handle_update,
                lease_seconds=self.settings.telegram_poller_lease_seconds,
            )
            await self._poller.run()

    async def _connect(self) -> None:
        """getMe, then set or delete the webhook; retried until Telegram answers."""
        failures = 0
        while True:
            try:
                await self.api.initialize()
                if self.config.webhook_url is not None:
                    await self.api.set_webhook(
                        self.config.webhook_url,
                        secret_token=self.config.secret,
                        allowed_updates=ALLOWED_UPDATES,
                    )
                else:
                    await self.api.delete_webhook()
            except TelegramError as exc:
                failures += 1
                await backoff(failures, 60.0, "cannot connect", exc)
                continue
            log.info("telegram: connected as @%s (%s)", self.api.username, self.config.mode)
            return

    async def _register_commands(self) -> None:
        """setMyCommands: everyone's in English and French; role commands per linked chat."""
        bot = self._require_bot()
        for lang, code in (("en", None), ("fr", "fr")):
            everyone = bot_commands(lang, MEMBER_COMMANDS)
            await self._call(
                "setMyCommands", partial(self.api.set_my_commands, everyone, language_code=code)
            )
            if self.config.staff_chat_id is not None:
                group = BotCommandScopeChat(self.config.staff_chat_id)
                staff = bot_commands(lang, STAFF_COMMANDS)
                await self._call(
                    "setMyCommands",
                    partial(self.api.set_my_commands, staff, scope=group, language_code=code),
                )
        agency, people = await bot.commands_audience()
        for person in people:
            await self._commands_for(person, agency.language)

    async def _commands_for(self, person: Person, agency_language: str) -> None:
        """A provider's or staff member's own command list, in their chat with the bot."""
        if person.telegram_id is None or not isinstance(person, Provider | Staff):
            return
        extra = PROVIDER_COMMANDS if isinstance(person, Provider) else STAFF_COMMANDS
        lang = normalize_language(person.language, agency_language)
        scope = BotCommandScopeChat(person.telegram_id)
        commands = bot_commands(lang, (*MEMBER_COMMANDS, *extra))
        await self._call("setMyCommands", partial(self.api.set_my_commands, commands, scope=scope))

    # --- receiving -----------------------------------------------------------------------

    async def _webhook(self, request: Request) -> Response:
        """POST /telegram/webhook: 403 without the secret; 200 once the update is stored."""
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, (self.config.secret or "").encode()):
            log.warning("telegram webhook: wrong or missing secret token from %s", request.client)
            return PlainTextResponse("forbidden", status_code=403)
        if self._bot is None:
            return PlainTextResponse("starting", status_code=503)
        body = await _capped_body(request, MAX_UPDATE_BYTES)
        if body is None:
            return PlainTextResponse("update too large", status_code=413)
        try:
            # RecursionError: JSON nested deeper than Python's stack (100,000 "[").
            update = Update.de_json(json.loads(body), self.api)
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
            return PlainTextResponse("not an update", status_code=400)
        try:
            await self.handle_update(update)
        except Exception:  # Telegram delivers it again later; the update_id keeps it once
            log.exception("telegram webhook: update %s failed", update.update_id)
            return PlainTextResponse("error", status_code=500)
        return Response(status_code=200)

    async def handle_update(self, update: Update) -> None:
        """Store one update (once per update_id) and answer it; the flows run in the worker."""
        if update.callback_query is not None:
            await self._on_press(update.update_id, update.callback_query)
        elif update.message is not None:
            await self._on_message(update.update_id, update.message)

    async def _on_message(self, update_id: int, message: Message) -> None:
        user = message.from_user
        if user is None or user.is_bot:
            return
        if message.chat.type != ChatType.PRIVATE:
            await self._on_group_message(update_id, message, user)
            return
        if message.contact is not None:
            await self._on_contact(update_id, message, user)
            return
        bot, inbound = self._require_bot(), self._require_inbound()
        address = str(user.id)
        person = await bot.known_sender(user.id, user.language_code)
        if person is None:
            await self._greet(update_id, user)
            return
        text = command_text(message.text or message.caption or "")
        if await bot.accept("telegram", address, Text(text), str(update_id)):
            inbound.wake()

    async def _on_group_message(self, update_id: int, message: Message, user: User) -> None:
        """In the staff group, a linked staff member's /command; the answer comes privately."""
        if message.chat.id != self.config.staff_chat_id:
            return
        text = command_text(message.text or "")
        if not text.startswith("/"):
            return
        bot, inbound = self._require_bot(), self._require_inbound()
        _, person = await bot.agency_and_person("telegram", str(user.id))
        if isinstance(person, Staff) and await bot.accept(
            "telegram", str(user.id), Text(text), str(update_id)
        ):
            inbound.wake()

    async def _greet(self, update_id: int, user: User) -> None:
        """Someone we do not know: ask for their phone number (the update is recorded once)."""
        bot = self._require_bot()
        await bot.greet(update_id, user.id, user.language_code)
        self.wake()

    async def _on_contact(self, update_id: int, message: Message, user: User) -> None:
        """A shared contact: link the account when it is the sender's own number."""
        assert message.contact is not None
        bot = self._require_bot()
        contact = message.contact
        person, agency_language = await bot.link_contact(
            update_id,
            telegram_id=user.id,
            contact_user_id=contact.user_id,
            phone=contact.phone_number,
            language_code=user.language_code,
        )
        self.wake()
        if person is not None:
            self._spawn(self._commands_for(person, agency_language))

    async def _on_press(self, update_id: int, query: CallbackQuery) -> None:
        """A button: checked, stored once per keyboard, answered, and its keyboard replaced."""
        bot, inbound = self._require_bot(), self._require_inbound()
        user = query.from_user
        message = query.message
        if message is None:  # a button on an inline-mode message: none of ours
            self._spawn(self._answer(query, tr("en", STALE)))
            return
        chat_id, message_id = message.chat.id, message.message_id
        in_group = chat_id == self.config.staff_chat_id
        agency, person = await bot.agency_and_person("telegram", str(user.id))
        row = await self._pressed_row(chat_id, message_id, in_group=in_group)
        if person is not None:
            lang = normalize_language(person.language, agency.language)
        else:
            lang = telegram_language(user.language_code) or agency.language
        verdict = judge_press(row, person, query.data or "", in_group=in_group)
        if verdict.refusal is not None or row is None or person is None:
            refusal = verdict.refusal or STALE
            self._spawn(self._answer(query, tr(lang, refusal), alert=refusal in ALERTS))
            return
        accepted = await bot.accept(
            "telegram",
            str(user.id),
            Press(query.data or ""),
            str(update_id),
            once=f"{chat_id}:{message_id}",
        )
        if not accepted:
            self._spawn(self._answer(query, tr(lang, USED)))
            return
        inbound.wake()
        self._spawn(self._answer(query, None))
        if in_group:
            footer = chosen_line(agency.language, verdict.label, by=person.name)
        else:
            footer = chosen_line(lang, verdict.label)
        self._spawn(self._replace_keyboard(chat_id, message_id, row.text, footer))

    async def _pressed_row(
        self, chat_id: int, message_id: int, *, in_group: bool
    ) -> OutboxMessage | None:
        """The outbox row of the message pressed. A message pressed the instant it arrived
        may not be recorded yet: its sender, this worker or another, records it once
        Telegram's answer is back. While a message with buttons to that chat is being sent,
        look again (a few seconds at most, well within the press's answer deadline)."""
        bot = self._require_bot()
        loop = asyncio.get_running_loop()
        give_up = loop.time() + SETTLE_SECONDS
        while True:
            row, sending = await bot.telegram_message(chat_id, message_id, group=in_group)
            if row is not None or not sending or loop.time() >= give_up:
                return row
            await asyncio.sleep(SETTLE_POLL)

    # --- calls that are not outbox messages ----------------------------------------------

    async def _answer(
        self, query: CallbackQuery, text: str | None, *, alert: bool = False
    ) -> None:
        """answerCallbackQuery: every press is answered, or the client keeps spinning."""
        await self._call(
            "answerCallbackQuery",
            lambda: self.api.answer_callback_query(query.id, text=text, show_alert=alert),
        )

    async def _replace_keyboard(
        self, chat_id: int, message_id: int, text: str, footer: str
    ) -> None:
        """Keep the text, replace the keyboard by the choice: old buttons cannot be pressed."""
        await self._call(
            "editMessageText",
            lambda: self.api.edit_message_text(
                html_text(text, footer),
                chat_id=chat_id,
                message_id=message_id,
                parse_mode=ParseMode.HTML,
                reply_markup=None,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            ),
        )

    async def _call(self, what: str, call: Callable[[], Awaitable[object]]) -> None:
        """One Bot API call outside the outbox, a few tries; its failure is only logged."""
        for attempt in range(3):
            try:
                await call()
                return
            except RetryAfter as exc:
                await asyncio.sleep(retry_seconds(exc))
            except BadRequest as exc:  # "query is too old", "message is not modified"
                log.info("telegram: %s refused: %s", what, exc)
                return
            except TelegramError as exc:
                log.warning("telegram: %s failed: %s", what, exc)
                await asyncio.sleep(1.0 + attempt)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run a side call in the background (a webhook answers without waiting for it)."""
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _require_bot(self) -> Carebot:
        if self._bot is None:
            raise RuntimeError("the Telegram channel is not started")
        return self._bot

    def _require_inbound(self) -> InboundWorker:
        if self._inbound is None:
            raise RuntimeError("the Telegram channel is not started")
        return self._inbound


async def _capped_body(request: Request, limit: int) -> bytes | None:
    """The request's body, or None when it is (or says it is) over `limit` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                return None
    except ClientDisconnect:
        return b""  # not JSON: answered 400
    return bytes(body)
