"""The SMS channel on Twilio (to be built: signed webhooks, outbox sender, opt-out)."""

from __future__ import annotations

from bot.handlers.channels import Channel
from bot.settings import Settings

OFF_REASON = "CAREBOT_TWILIO_ACCOUNT_SID, CAREBOT_TWILIO_AUTH_TOKEN, CAREBOT_TWILIO_FROM not set"


def build(settings: Settings) -> Channel | None:
    """The SMS channel when configured, else None."""
    del settings
    return None
