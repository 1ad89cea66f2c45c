"""Configuration of the live bot, from the environment (CAREBOT_*), via pydantic-settings."""

from __future__ import annotations

import re

from pydantic import ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.services.console_links import ConsoleLinks

# The shortest lease a worker may take (outbox rows, the Telegram poller): stored times are
# whole seconds, and a worker renews a third of the way through, so a shorter lease leaves
# under a second between renewals, which a loaded worker (two cores, a slow disk) can miss.
SHORTEST_LEASE = 3.0

# Twilio sends from a number in E.164 form, or through a messaging service whose SID is
# "MG" and 32 hex digits (https://www.twilio.com/docs/messaging/api/message-resource).
_E164 = re.compile(r"\+[1-9]\d{6,14}")
_SERVICE_SID = re.compile(r"MG[0-9a-fA-F]{32}")


class Settings(BaseSettings):
    """Every setting `carebot run` reads; a channel whose settings are all missing is off."""

    model_config = SettingsConfigDict(env_prefix="CAREBOT_", extra="ignore")

    database: str = "./carebot.db"
    public_url: str | None = None
    sweep_seconds: float = 30.0
    # How long a write waits for another process's lock before it fails (SQLite busy timeout).
    db_busy_ms: int = 10_000

    # SMS through Twilio (all three of sid, token, from; the API URL only for tests/sandboxes).
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_from: str | None = None
    twilio_api_url: str | None = None
    # Seconds before a call to Twilio's API counts as timed out (its outcome then unknown).
    twilio_timeout: float = 10.0
    # How long an inbound SMS webhook may wait for the database before it answers: Twilio
    # waits 15 s for an answer by default, and retries only a failed connection.
    sms_store_seconds: float = 12.0
    # How long a worker's claim on an outbox message lasts unless renewed (a crashed worker's
    # messages come back after it; on the same host, as soon as its pid is gone).
    outbox_lease_seconds: float = 60.0
    # How often a worker's senders look at the outbox when nothing woke them (another worker
    # or process committed the messages): a safety net, short in tests.
    outbox_poll_seconds: float = 1.0
    # How often the inbound processor looks for work nobody woke it for (on PostgreSQL other
    # workers' deliveries wake it by NOTIFY; this is the fallback).
    inbound_poll_seconds: float = 1.0
    # How many inbound processors a worker runs. On PostgreSQL several process different
    # people's messages at once (each person's in order); on SQLite writers take turns anyway.
    inbound_processors: int = 1
    # PostgreSQL: how long the server lets a worker's transaction sit idle before ending it.
    # Inbound messages and timers are leased by row locks held for one transaction: this bounds
    # how long a hung worker (or one whose machine vanished) keeps them.
    db_idle_transaction_seconds: float = 60.0
    # Tests only, where no small disk can be mounted: while this file exists, every database
    # commit fails as on a full disk (SQLITE_FULL).
    test_disk_full_while: str | None = None

    # Telegram (token; the API URL only for a local Bot API server or tests).
    telegram_token: str | None = None
    telegram_api_url: str | None = None
    telegram_webhook_secret: str | None = None
    staff_chat_id: int | None = None
    # Telegram's limits as of 2026 (about 30 messages a second, one a second per chat, 20 a
    # minute to one group), shared by all the workers of a bot; a bot with paid broadcasts may
    # go faster. A little under the limits: a send that reaches Telegram a few milliseconds
    # late must not make the next ones look like 31 in a second. 0 per chat lifts that limit.
    telegram_per_second: float = 28.0
    telegram_per_chat: float = 1.0
    telegram_group_per_minute: float = 19.0
    # Polling: one worker polls getUpdates for all (a second poller gets 409 Conflict); it holds
    # a lease it renews every third of this, and another takes over once it has expired.
    telegram_poller_lease_seconds: float = 30.0

    # The staff console (§11): on when the secret is set. Links start with console_url
    # (default: public_url); the secret signs links and sessions (at least 32 characters).
    console_secret: str | None = None
    console_url: str | None = None

    @field_validator("console_secret")
    @classmethod
    def _long_secret(cls, value: str | None) -> str | None:
        """A secret too short to resist guessing is refused."""
        if value is None or not value.strip():
            return None
        if len(value.strip()) < 32:
            raise ValueError("must be at least 32 characters (e.g. `openssl rand -hex 32`)")
        return value.strip()

    def console_links(self) -> ConsoleLinks | None:
        """How sign-in links are made, or None when the console is off."""
        if self.console_secret is None:
            return None
        base = self.console_url or self.public_url
        if not base:
            raise ConfigError(
                "CAREBOT_CONSOLE_URL (or CAREBOT_PUBLIC_URL) is needed with "
                "CAREBOT_CONSOLE_SECRET: the sign-in links start with it"
            )
        return ConsoleLinks(self.console_secret, base)

    @field_validator("twilio_from")
    @classmethod
    def _sender(cls, value: str | None) -> str | None:
        """A number like +33612345678 or a messaging service SID like MG0123...; else refused."""
        if value is None or not value.strip():
            return None
        value = value.strip()
        if not (_E164.fullmatch(value) or _SERVICE_SID.fullmatch(value)):
            raise ValueError(
                f'"{value}" is neither a phone number in E.164 form (+33612345678) nor a '
                "messaging service SID (MG and 32 hex digits)"
            )
        return value

    @field_validator(
        "sweep_seconds",
        "outbox_poll_seconds",
        "telegram_per_second",
        "telegram_group_per_minute",
        "inbound_poll_seconds",
        "db_idle_transaction_seconds",
    )
    @classmethod
    def _positive(cls, value: float) -> float:
        """A rate or a period must be more than 0."""
        if value <= 0:
            raise ValueError(f"{value} must be more than 0")
        return value

    @field_validator("outbox_lease_seconds", "telegram_poller_lease_seconds")
    @classmethod
    def _lease(cls, value: float) -> float:
        """A lease of at least SHORTEST_LEASE seconds."""
        if value < SHORTEST_LEASE:
            raise ValueError(f"{value} is too short for a lease: at least {SHORTEST_LEASE:g} s")
        return value


class ConfigError(ValueError):
    """A half-configured channel: the message names the missing setting."""


def describe(error: ValidationError) -> str:
    """A settings error on one line, naming the environment variable: 'CAREBOT_X: ...'."""
    parts = []
    for item in error.errors():
        name = "CAREBOT_" + "_".join(str(part) for part in item["loc"]).upper()
        message = str(item["msg"]).removeprefix("Value error, ")
        parts.append(f"{name}: {message}")
    return "; ".join(parts)
