"""Sending outbox rows with the Bot API: one chat each, or once to the staff group for a staff
broadcast; a 429 becomes a retry at the time Telegram asks.

The bot's overall rate and the staff group's are budgets every worker shares
(bot.handlers.budget): Telegram counts per bot, not per process."""

from __future__ import annotations

import asyncio
import logging
import warnings
from datetime import timedelta

from telegram import Bot, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.warnings import PTBDeprecationWarning

from bot.app import Carebot
from bot.handlers.budget import SharedBudget
from bot.handlers.delivery import Delivery, check_fence
from bot.handlers.telegram_render import Markup, html_text, is_inline, markup
from bot.services.ports import OutboxMessage

log = logging.getLogger(__name__)
PER_SECOND = 28.0  # Telegram: about 30 messages a second overall (bot.settings: a margin)
GROUP_PER_MINUTE = 19.0  # and 20 a minute in one group


async def backoff(failures: int, cap: float, what: str, exc: TelegramError) -> None:
    """After `failures` failed calls in a row: say so, then wait 2^failures s (at most `cap`)."""
    delay = min(cap, 2.0**failures)
    log.warning("telegram: %s (%s); again in %.0fs", what, exc, delay)
    await asyncio.sleep(delay)


def retry_seconds(exc: RetryAfter) -> float:
    """A 429's retry_after in seconds (an int or a timedelta, by PTB's migration setting)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramTransport:
    """Sends outbox rows with the Bot API; a 429 becomes a retry at the time Telegram asks."""

    channel = "telegram"

    def __init__(
        self,
        api: Bot,
        bot: Carebot,
        staff_chat_id: int | None,
        *,
        per_second: float | None = PER_SECOND,
        group_per_minute: float = GROUP_PER_MINUTE,
    ) -> None:
        self.api = api
        self.bot = bot
        self.staff_chat_id = staff_chat_id
        self._overall = SharedBudget(bot, "telegram", per_second)
        self._group = SharedBudget(bot, f"telegram:{staff_chat_id}", group_per_minute / 60)

    async def send(self, message: OutboxMessage, idempotency_key: str) -> Delivery:
        """Send one row: to its chat, or once to the staff group for a staff broadcast."""
        del idempotency_key  # the Bot API has none: a re-send after a crash may repeat
        if message.broadcast is not None and self.staff_chat_id is not None:
            chosen = await self.bot.staff_group_row(message.broadcast)
            if chosen != message.id:
                return Delivery("dropped", error="sent once to the staff group")
            chat_id = self.staff_chat_id
        elif message.address.lstrip("-").isdigit():
            chat_id = int(message.address)
        else:
            return Delivery("failed", error=f"not a Telegram chat id: {message.address!r}")
        try:
            reply_markup = markup(message.options)
        except ValueError as exc:  # an option that Telegram would refuse: never send half
            return Delivery("failed", error=str(exc))
        try:
            if chat_id == self.staff_chat_id:
                await self._group.wait()
            await self._overall.wait()
        except Exception as exc:  # the database: nothing was sent, try again later
            return Delivery("retry", error=f"send budget: {exc}")
        return await self._send(message, chat_id, reply_markup)

    async def _send(
        self, message: OutboxMessage, chat_id: int, reply_markup: Markup | None
    ) -> Delivery:
        # After the staff group's and the bot's budgets (seconds, at times): a worker stalled
        # there past its lease must not send what another worker took. The Bot API keeps no
        # list to ask afterwards, so this check is the only guard against a double.
        await check_fence()
        try:
            sent = await self.api.send_message(
                chat_id,
                html_text(message.text),
                parse_mode=ParseMode.HTML,
                reply_markup=reply_markup,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        except RetryAfter as exc:
            return Delivery("retry", retry_after=retry_seconds(exc), error=str(exc))
        except ChatMigrated as exc:
            log.error(
                "chat %s became %s: set CAREBOT_STAFF_CHAT_ID=%s if it is the staff group",
                chat_id,
                exc.new_chat_id,
                exc.new_chat_id,
            )
            return Delivery("failed", error=str(exc))
        except (BadRequest, Forbidden, InvalidToken) as exc:
            # Permanent: a user who blocked the bot or never started it, a bad chat id.
            return Delivery("failed", error=f"{type(exc).__name__}: {exc}")
        except TimedOut as exc:
            # The request may have reached Telegram, which keeps no list to ask: the retry
            # may show the message twice (the sender logs it as such).
            return Delivery("retry", error=f"{type(exc).__name__}: {exc}", unknown=True)
        except TelegramError as exc:  # network, Telegram's 5xx: try again later
            return Delivery("retry", error=f"{type(exc).__name__}: {exc}")
        if is_inline(message.options):
            try:
                await self.bot.record_telegram_message(message.id, chat_id, sent.message_id)
            except Exception:  # the message is out; its buttons will answer "no longer valid"
                log.exception("could not record telegram message for outbox %s", message.id)
        return Delivery("sent", external_id=f"{chat_id}:{sent.message_id}")
