"""What every transcript's options must satisfy: each is a typed action that round-trips."""

from __future__ import annotations

from pathlib import Path

from bot.app import Carebot
from bot.services.actions import MAX_BYTES, Action, unpack
from bot.services.ports import Clock
from storage.engines import AnyDatabase, open_database


class RecordingCarebot(Carebot):
    """A Carebot that, on closing, keeps every option its outbox ever offered."""

    options: list[tuple[str, str]]

    async def close(self) -> None:
        self.options = [o for m in await self.outbox_after(0) for o in m.options]
        await super().close()


class OptionsSeen:
    """An opener for the replay runner that remembers the Carebots it opened."""

    def __init__(self) -> None:
        self.bots: list[RecordingCarebot] = []

    async def __call__(self, location: str | Path, clock: Clock) -> Carebot:
        bot = RecordingCarebot(await open_database(location), clock)
        self.bots.append(bot)
        return bot

    def databases(self) -> list[AnyDatabase]:
        """The databases of the Carebots opened so far."""
        return [bot.db for bot in self.bots if isinstance(bot.db, AnyDatabase)]

    def options(self) -> list[tuple[str, str]]:
        return [o for bot in self.bots for o in getattr(bot, "options", [])]


def check_round_trip(label: str, packed: str) -> Action:
    """An option's action unpacks to a known verb and packs back to the very same bytes."""
    assert len(packed.encode()) <= MAX_BYTES, (label, packed)
    act = unpack(packed)
    assert isinstance(act, Action), (label, packed, act)
    assert act.pack() == packed, (label, packed)
    return act
