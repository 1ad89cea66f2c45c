"""Shared test helpers: a Carebot on a real SQLite file with the transcripts' agency."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.agency_file import load_agency_file
from bot.app import Carebot
from bot.clock import VirtualClock
from bot.root import open_carebot

ROOT = Path(__file__).resolve().parent.parent
TRANSCRIPTS = ROOT / "tests" / "transcripts"
AGENCY = TRANSCRIPTS / "agency.toml"
PARIS = ZoneInfo("Europe/Paris")


def paris(text: str) -> datetime:
    """'2026-11-23 10:00' in agency time."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=PARIS)


@pytest.fixture
def clock() -> VirtualClock:
    """The transcripts' usual Monday morning."""
    return VirtualClock(paris("2026-11-23 10:00"))


@pytest.fixture
async def bot(tmp_path: Path, clock: VirtualClock) -> AsyncIterator[Carebot]:
    """A Carebot on a fresh SQLite file with the test agency imported."""
    carebot = await open_carebot(tmp_path / "carebot.db", clock)
    await carebot.import_agency(load_agency_file(AGENCY))
    yield carebot
    await carebot.close()
