"""Every transcript under tests/transcripts is a specification; each must replay cleanly."""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import pytest

from bot.flows.router import ROUTES
from bot.root import replay_file as run_file
from bot.root import replay_files as run_files
from bot.services.actions import Verb
from storage.postgres import PgDatabase, is_url
from tests import peek
from tests.action_options import OptionsSeen, check_round_trip
from tests.conftest import TEST_DATABASE, TRANSCRIPTS, postgres_or_skip

EXAMPLES = Path(__file__).resolve().parent / "examples"
DOCS = Path(__file__).resolve().parents[1] / "docs"
CHATS = sorted(TRANSCRIPTS.rglob("*.chat"))
EXAMPLE_CHATS = sorted(EXAMPLES.glob("*.chat"))
VERBS_SHOWN: set[Verb] = set()


@pytest.mark.parametrize("path", CHATS, ids=[p.name for p in CHATS])
async def test_transcript(path: Path) -> None:
    out = io.StringIO()
    seen = OptionsSeen()
    code = await run_files([path], out=out, open_bot=seen)
    assert code == 0, out.getvalue()
    # The PostgreSQL pass replays on PostgreSQL, not silently on SQLite files.
    engines = {isinstance(db, PgDatabase) for db in seen.databases()}
    assert engines == {TEST_DATABASE is not None}, (TEST_DATABASE, seen.databases())
    # Every option any flow showed on the way is a typed action within the 64-byte budget.
    for label, packed in seen.options():
        VERBS_SHOWN.add(check_round_trip(label, packed).verb)


async def test_a_replay_on_a_server_gets_a_schema_of_its_own_and_drops_it(tmp_path: Path) -> None:
    """`carebot replay --db URL` (and the PostgreSQL pass): each transcript in a fresh schema,
    gone afterwards, whatever CAREBOT_REPLAY_DATABASE says."""
    server = TEST_DATABASE or "postgresql://postgres@127.0.0.1:5432/test"
    await postgres_or_skip(server)
    seen = OptionsSeen()
    out = io.StringIO()

    assert await run_files(CHATS[:1], out=out, open_bot=seen, server=server) == 0, out.getvalue()

    [db] = seen.databases()
    assert isinstance(db, PgDatabase) and is_url(db.path), db
    schema = db.path.split("search_path=")[1].split(",")[0]
    left = peek.rows(server, "SELECT 1 FROM pg_namespace WHERE nspname = ?", (schema,))
    assert left == [], f"{schema} was left behind"


def test_every_pressable_verb_is_shown_by_some_transcript() -> None:
    """Runs after the transcripts (file order): together they show every routed verb."""
    if len(VERBS_SHOWN) == 0:
        pytest.skip("the transcripts did not run in this session")
    assert set(ROUTES) - VERBS_SHOWN == set()


@pytest.mark.parametrize("path", EXAMPLE_CHATS, ids=[p.name for p in EXAMPLE_CHATS])
async def test_format_example(path: Path) -> None:
    out = io.StringIO()
    code = await run_file(path, out)
    assert code == 0, out.getvalue()


def test_the_format_examples_are_in_the_repo() -> None:
    assert {p.name for p in EXAMPLE_CHATS} == {"decline-then-unfilled.chat", "late-then-done.chat"}


async def test_the_example_in_the_docs_replays(tmp_path: Path) -> None:
    text = (DOCS / "transcripts.md").read_text(encoding="utf-8")
    block = re.search(r"```\n(# Emma.*?)```", text, re.S)
    assert block is not None, "docs/transcripts.md lost its example"
    shutil.copy(EXAMPLES / "agency.toml", tmp_path / "agency.toml")
    (tmp_path / "example.chat").write_text(block.group(1), encoding="utf-8")

    out = io.StringIO()
    code = await run_file(tmp_path / "example.chat", out)

    assert code == 0, out.getvalue()


@pytest.mark.parametrize(
    "path", CHATS + EXAMPLE_CHATS, ids=[p.name for p in CHATS + EXAMPLE_CHATS]
)
def test_every_transcript_is_strict(path: Path) -> None:
    """Each transcript must expect every message it causes (docs/transcripts.md, @strict)."""
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    assert "@strict" in lines, f"{path.name} is not @strict"
