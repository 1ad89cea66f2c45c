"""The Telegram channel (to be built: polling or webhook, buttons, staff group)."""

from __future__ import annotations

from bot.handlers.channels import Channel
from bot.settings import Settings

OFF_REASON = "CAREBOT_TELEGRAM_TOKEN not set"


def build(settings: Settings) -> Channel | None:
    """The Telegram channel when configured, else None."""
    del settings
    return None
