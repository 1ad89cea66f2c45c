"""Clocks: the system's for the live bot, a virtual one for replays and the demo."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class SystemClock:
    """The real time, in UTC."""

    def now(self) -> datetime:
        """The current moment."""
        return datetime.now(UTC)


class VirtualClock:
    """A clock that only moves when told to (never backwards)."""

    def __init__(self, start: datetime) -> None:
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        """The current virtual moment."""
        return self._now

    def set(self, moment: datetime) -> None:
        """Move to a moment; earlier moments are ignored, time does not run back."""
        self._now = max(self._now, moment.astimezone(UTC))

    def advance(self, delta: timedelta) -> None:
        """Move forward by a duration."""
        self.set(self._now + delta)
