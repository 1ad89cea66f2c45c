"""`carebot replay` itself: exit codes, failure reports and the summary line."""

from __future__ import annotations

import io
import logging
import shutil
import subprocess
import sys
from pathlib import Path
from typing import NoReturn

import pytest

from bot.root import replay_file as run_file
from bot.root import replay_files as run_files
from tests.conftest import AGENCY, ROOT


def _transcript(tmp_path: Path, body: str) -> Path:
    shutil.copy(AGENCY, tmp_path / "agency.toml")
    path = tmp_path / "t.chat"
    path.write_text("@fixture agency.toml\n@now 2026-11-23 10:00\n" + body, encoding="utf-8")
    return path


async def test_failed_expectation_names_file_line_expected_and_actual(tmp_path: Path) -> None:
    path = _transcript(tmp_path, "bob: hello\n=> bob ~ this will never be said\n")
    out = io.StringIO()
    assert await run_file(path, out) == 1
    report = out.getvalue()
    assert f"{path}:4" in report
    assert "this will never be said" in report
    assert "bob:" in report and "actual" in report


async def test_malformed_transcript_exits_2(tmp_path: Path) -> None:
    out = io.StringIO()
    assert await run_file(_transcript(tmp_path, "nobody: hi\n"), out) == 2
    assert "unknown name 'nobody'" in out.getvalue()
    assert await run_file(_transcript(tmp_path, "@until tomorrow\n"), io.StringIO()) == 2
    assert await run_file(_transcript(tmp_path, "? status bob 1 x\n"), io.StringIO()) == 2


async def test_wrong_value_reports_expected_and_actual(tmp_path: Path) -> None:
    out = io.StringIO()
    assert await run_file(_transcript(tmp_path, "? balance bob 3.00\n"), out) == 1
    assert "expected 3.00, actual 0.00" in out.getvalue()


async def test_summary_line_counts_each_file(tmp_path: Path) -> None:
    good = _transcript(tmp_path, "bob: hello\n=> bob ~ book\n")
    bad = tmp_path / "bad.chat"
    bad.write_text("@fixture agency.toml\n@now 2026-11-23 10:00\n=> bob ~ x\n", encoding="utf-8")
    out = io.StringIO()
    assert await run_files([good, bad], out=out) == 1
    assert out.getvalue().strip().endswith("1 passed, 1 failed")


def test_cli_verbose_prints_the_conversation(tmp_path: Path) -> None:
    path = _transcript(tmp_path, "bob: hello\n")
    result = subprocess.run(
        [sys.executable, "-m", "bot", "replay", "-v", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "[2026-11-23 10:00] bob: hello" in result.stdout
    assert "1 passed, 0 failed" in result.stdout


async def test_strict_fails_on_a_message_no_expectation_matched(tmp_path: Path) -> None:
    matched = _transcript(tmp_path, "@strict\nbob: hello\n=> bob ~ book\n")
    assert await run_file(matched, io.StringIO()) == 0
    # Without @strict a message nobody expected is fine; with it, its step fails.
    assert await run_file(_transcript(tmp_path, "bob: hello\n=> bob !~ zzz\n"), io.StringIO()) == 0
    strict = _transcript(tmp_path, "@strict\nbob: hello\n=> bob !~ zzz\nbob: menu\n=> bob ~ .\n")
    out = io.StringIO()
    assert await run_file(strict, out) == 1
    report = out.getvalue()
    assert f"{strict}:4: strict" in report  # the line of the step that sent it
    assert "bob:" in report  # ... and the message itself


async def test_strict_checks_the_last_step_too(tmp_path: Path) -> None:
    out = io.StringIO()
    assert await run_file(_transcript(tmp_path, "@strict\nbob: hello\n"), out) == 1
    assert "matched by no ~ expectation" in out.getvalue()


async def test_strict_twice_is_malformed(tmp_path: Path) -> None:
    assert await run_file(_transcript(tmp_path, "@strict\n@strict\n"), io.StringIO()) == 2


def _break(monkeypatch: pytest.MonkeyPatch, name: str, message: str) -> None:
    """Make bot.app.carebot's `name` (a step of handling a message or a timer) raise."""

    async def broken(*_: object) -> NoReturn:
        raise RuntimeError(message)

    monkeypatch.setattr(f"bot.app.carebot.{name}", broken)


@pytest.mark.parametrize(
    ("step", "body", "said"),
    [
        # A message that raises: the bot logs the error (and apologises).
        ("handle", "bob: hello\n=> bob ~ .\n", "logged an error"),
        # A timer that raises: the weekly credits timer falls due on Monday 30 November.
        ("fire", "@advance 8d\n", "the bot raised"),
    ],
)
async def test_an_exception_in_a_step_fails_the_transcript(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str, body: str, said: str
) -> None:
    _break(monkeypatch, step, f"boom in {step}")
    out = io.StringIO()
    assert await run_file(_transcript(tmp_path, body), out) == 1
    assert said in out.getvalue()
    assert f"boom in {step}" in out.getvalue()


async def test_an_apology_fails_the_transcript_even_unlogged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _break(monkeypatch, "handle", "boom")
    monkeypatch.setattr("bot.app.carebot.log", logging.getLogger("silenced"))
    logging.getLogger("silenced").disabled = True
    try:
        out = io.StringIO()
        assert await run_file(_transcript(tmp_path, "bob: hello\n=> bob ~ sorry\n"), out) == 1
    finally:
        logging.getLogger("silenced").disabled = False
    assert "apologised for an internal error" in out.getvalue()


@pytest.mark.parametrize(
    ("check", "actual"),
    [("? owed bob 5.00", "actual 0.00"), ("? escalations open 1", "actual 0")],
)
async def test_new_checks_fail_on_a_wrong_value(tmp_path: Path, check: str, actual: str) -> None:
    out = io.StringIO()
    assert await run_file(_transcript(tmp_path, check + "\n"), out) == 1
    assert actual in out.getvalue()
    right = check.rsplit(" ", 1)[0] + (" 0.00" if "owed" in check else " 0")
    assert await run_file(_transcript(tmp_path, right + "\n"), io.StringIO()) == 0


async def test_malformed_new_checks_exit_2(tmp_path: Path) -> None:
    for body in ("? escalations open x\n", "? escalations shut 1\n", "? owed bob lots\n"):
        assert await run_file(_transcript(tmp_path, body), io.StringIO()) == 2, body
