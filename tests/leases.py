"""The tests' handles on a sender's lease: the clock it counts with, and its checks."""

from __future__ import annotations

import time
from datetime import datetime

import pytest

from bot.app import Carebot
from bot.handlers import delivery


class Skewed:
    """The sender's monotonic clock, which a test moves on (a worker stopped, then resumed)."""

    def __init__(self) -> None:
        self.ahead = 0.0

    def monotonic(self) -> float:
        return time.monotonic() + self.ahead


def skew(monkeypatch: pytest.MonkeyPatch) -> Skewed:
    """Give the sender a monotonic clock the test moves (the database's is the VirtualClock)."""
    skewed = Skewed()
    monkeypatch.setattr(delivery, "time", skewed)
    return skewed


def count_holds(bot: Carebot, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The ids of the messages whose lease the sender asks the database to hold, in order."""
    holds: list[int] = []
    hold = bot.hold_lease

    async def counted(message_id: int, owner: str, until: datetime) -> bool:
        holds.append(message_id)
        return await hold(message_id, owner, until)

    monkeypatch.setattr(bot, "hold_lease", counted)
    return holds
