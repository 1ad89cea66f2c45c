"""Configuration of the live bot, from the environment (CAREBOT_*), via pydantic-settings."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every setting `carebot run` reads; a channel whose settings are all missing is off."""

    model_config = SettingsConfigDict(env_prefix="CAREBOT_", extra="ignore")

    database: str = "./carebot.db"
    public_url: str | None = None
    sweep_seconds: float = 30.0

    # SMS through Twilio (all three of sid, token, from; the API URL only for tests/sandboxes).
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_from: str | None = None
    twilio_api_url: str | None = None

    # Telegram (token; the API URL only for a local Bot API server or tests).
    telegram_token: str | None = None
    telegram_api_url: str | None = None
    telegram_webhook_secret: str | None = None
    staff_chat_id: int | None = None
    # Telegram's limits as of 2026 (about 30 messages a second, one a second per chat); a bot
    # with paid broadcasts may go faster. 0 per chat lifts that limit.
    telegram_per_second: float = 30.0
    telegram_per_chat: float = 1.0


class ConfigError(ValueError):
    """A half-configured channel: the message names the missing setting."""
