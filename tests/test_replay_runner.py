"""`carebot replay` itself: exit codes, failure reports and the summary line."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
from pathlib import Path

from bot.replay import run_file, run_files
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
