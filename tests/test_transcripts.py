"""Every transcript under tests/transcripts is a specification; each must replay cleanly."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bot.replay import run_file
from tests.conftest import TRANSCRIPTS

SHARED_EXAMPLES = Path(__file__).resolve().parents[2] / "shared" / "spec" / "examples"
CHATS = sorted(TRANSCRIPTS.rglob("*.chat"))


@pytest.mark.parametrize("path", CHATS, ids=[p.name for p in CHATS])
async def test_transcript(path: Path) -> None:
    out = io.StringIO()
    code = await run_file(path, out)
    assert code == 0, out.getvalue()


@pytest.mark.skipif(not SHARED_EXAMPLES.exists(), reason="../shared is not beside the repo")
async def test_spec_example_decline_then_unfilled() -> None:
    out = io.StringIO()
    code = await run_file(SHARED_EXAMPLES / "decline-then-unfilled.chat", out)
    assert code == 0, out.getvalue()
