"""The Telegram channel's settings, checked: a token, and for webhook mode a public URL and
a secret; the staff group's chat id."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.settings import ConfigError, Settings

WEBHOOK_PATH = "/telegram/webhook"
DEFAULT_API_URL = "https://api.telegram.org"
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")  # what setWebhook accepts as secret_token


@dataclass(frozen=True)
class TelegramConfig:
    """The Telegram settings, checked."""

    token: str
    api_url: str
    webhook_url: str | None
    secret: str | None
    staff_chat_id: int | None

    @property
    def mode(self) -> str:
        """'webhook' or 'polling'."""
        return "webhook" if self.webhook_url else "polling"


def configure(settings: Settings) -> TelegramConfig | None:
    """The channel's settings, or None when it is off; ConfigError when half configured."""
    secret = settings.telegram_webhook_secret or None
    if not settings.telegram_token:
        stray = [
            name
            for name, value in (
                ("CAREBOT_TELEGRAM_WEBHOOK_SECRET", secret),
                ("CAREBOT_TELEGRAM_API_URL", settings.telegram_api_url),
                ("CAREBOT_STAFF_CHAT_ID", settings.staff_chat_id),
            )
            if value is not None
        ]
        if stray:
            raise ConfigError(f"{', '.join(stray)} set but CAREBOT_TELEGRAM_TOKEN is missing")
        return None
    webhook_url = None
    if secret is not None:
        if not settings.public_url:
            raise ConfigError(
                "CAREBOT_TELEGRAM_WEBHOOK_SECRET is set but CAREBOT_PUBLIC_URL is missing "
                "(webhook mode needs both; without the secret the bot polls)"
            )
        if not _SECRET.match(secret):
            raise ConfigError(
                "CAREBOT_TELEGRAM_WEBHOOK_SECRET must be 1 to 256 characters among "
                "A-Z, a-z, 0-9, _ and -"
            )
        webhook_url = settings.public_url.rstrip("/") + WEBHOOK_PATH
    return TelegramConfig(
        token=settings.telegram_token,
        api_url=(settings.telegram_api_url or DEFAULT_API_URL).rstrip("/"),
        webhook_url=webhook_url,
        secret=secret,
        staff_chat_id=settings.staff_chat_id,
    )
