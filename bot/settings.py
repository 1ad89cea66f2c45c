"""Configuration of the live bot, from the environment (CAREBOT_*), via pydantic-settings."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every setting `carebot run` reads; a channel whose settings are all missing is off."""

    model_config = SettingsConfigDict(env_prefix="CAREBOT_", extra="ignore")

    database: str = "./carebot.db"
    public_url: str | None = None
    sweep_seconds: float = 30.0
