"""The `carebot` command line: help for every option, its version, and a user's mistakes
answered in one line (exit 2 for usage, 1 otherwise), never a traceback nor a stray file."""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.app import Carebot
from bot.cli import _parser, main
from bot.clock import VirtualClock
from bot.flows.router import Text
from bot.root import open_carebot
from bot.settings import Settings, describe
from tests.conftest import AGENCY, ROOT, paris, sqlite_file
from tests.live import free_port


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    """main() with these arguments: (exit code, stdout, stderr), argparse's exits included."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def python_m_bot(*argv: str | Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """A real `carebot` process (as `python -m bot`), started now."""
    return subprocess.Popen(
        [sys.executable, "-m", "bot", *map(str, argv)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
        env=env or {k: v for k, v in os.environ.items() if not k.startswith("CAREBOT_")},
    )


def one_clear_line(err: str) -> None:
    assert "Traceback" not in err
    assert err.strip(), "nothing said"
    assert err.strip().count("\n") == 0, err


# --- --help and --version -----------------------------------------------------------------


def test_every_command_and_option_has_a_help_text() -> None:
    parser = _parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    missing = [
        f"{name} {action.dest}"
        for name, sub in commands.choices.items()
        for action in sub._actions
        if not action.help
    ]
    assert missing == []
    assert all(choice.help for choice in commands._choices_actions)
    assert set(commands.choices) >= {"import", "run", "backup", "export", "demo", "replay"}


def test_version_comes_from_the_package_metadata(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "--version")
    assert code == 0
    assert out.strip() == f"carebot {metadata.version('carebot')}"


# --- A user's mistakes ----------------------------------------------------------------------


@pytest.fixture
def empty_db(tmp_path: Path) -> Path:
    """A carebot database into which no agency was imported yet."""
    path = tmp_path / "empty.db"

    async def create() -> None:
        bot = await open_carebot(path, VirtualClock(paris("2026-11-23 10:00")))
        await bot.close()

    asyncio.run(create())
    return path


def mistakes(tmp: Path, empty_db: Path) -> list[tuple[list[str], int, str]]:
    """(arguments, exit code, a word the one line must contain)."""

    def export(db: Path, start: str = "2026-01-01", end: str = "2026-01-31") -> list[str]:
        return ["export", "ledger", "--from", start, "--to", end, "--db", str(db), "-o", out]

    out = str(tmp / "out.csv")
    return [
        (export(empty_db), 1, "import"),
        (export(tmp / "missing.db"), 1, "no database"),
        (export(empty_db, "2026-02-01", "2026-01-01"), 2, "after"),
        (export(empty_db, "2026-13-01", "2026-12-31"), 2, "2026-13-01"),
        (["demo", "--now", "yesterday", "--db", str(tmp / "demo.db")], 2, "yesterday"),
        (["parse-when", "--tz", "Mars/Olympus", "demain"], 2, "Mars/Olympus"),
        (["parse-when", "--now", "yesterday", "demain"], 2, "yesterday"),
        (["parse-when", "--lang", "de", "morgen"], 2, "de"),
        (["run", "--port", "99999"], 2, "99999"),
        (["backup", str(tmp / "c.db"), "--db", str(tmp / "c.db")], 1, "no database"),
        (["import", str(tmp / "nowhere.toml"), "--db", str(tmp / "new.db")], 1, "nowhere.toml"),
        (["backup", str(tmp / "copy.db"), "--db", str(tmp / "missing.db")], 1, "no database"),
        (["backup", str(empty_db), "--db", str(empty_db)], 1, "exists"),
        (["replay"], 2, "files"),
        (
            [
                "sms-send",
                "hi",
                "--from",
                "+33612345678",
                "--token",
                "t",
                "--url",
                "http://127.0.0.1:9",
            ],
            1,
            "cannot reach",
        ),
        (["frobnicate"], 2, "frobnicate"),
    ]


def test_each_mistake_is_one_line_and_leaves_no_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, empty_db: Path
) -> None:
    for argv, expected_code, word in mistakes(tmp_path, empty_db):
        before = sorted(p.name for p in tmp_path.iterdir())
        code, _, err = run_cli(capsys, *argv)
        assert code == expected_code, (argv, err)
        one_clear_line(err)
        assert word in err, (argv, err)
        assert sorted(p.name for p in tmp_path.iterdir()) == before, argv


def test_the_reported_cases_at_the_real_entry_point(tmp_path: Path, empty_db: Path) -> None:
    cases: list[tuple[list[str | Path], int]] = [
        (["export", "ledger", "--from", "2026-01-01", "--to", "2026-01-31", "--db", empty_db], 1),
        (["demo", "--now", "yesterday", "--db", tmp_path / "demo.db"], 2),
        (["parse-when", "--tz", "Mars/Olympus", "demain"], 2),
        (["export", "ledger", "--from", "2026-02-01", "--to", "2026-01-01", "--db", empty_db], 2),
    ]
    procs = [python_m_bot(*argv) for argv, _ in cases]
    for (argv, code), proc in zip(cases, procs, strict=True):
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == code, (argv, err)
        one_clear_line(err)
        assert out == "", argv  # not even a CSV header for a refused export
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.db"]


def test_a_good_export_still_goes_to_stdout_or_to_the_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = tmp_path / "agency.db"
    code, _, err = run_cli(capsys, "import", AGENCY, "--db", db)
    assert code == 0, err
    code, out, _ = run_cli(
        capsys, "export", "ledger", "--from", "2026-01-01", "--to", "2030-01-01", "--db", db
    )
    assert code == 0
    assert out.startswith("id,date,kind,")
    target = tmp_path / "ledger.csv"
    code, out, _ = run_cli(
        capsys,
        "export",
        "ledger",
        "--from",
        "2026-01-01",
        "--to",
        "2030-01-01",
        "--db",
        db,
        "-o",
        target,
    )
    assert (code, out) == (0, "")
    assert target.read_text(encoding="utf-8").startswith("id,date,kind,")


# --- carebot run: channels and their settings -----------------------------------------------


@pytest.mark.parametrize(
    "sender", ["+33612345678", "+15005550006", "MG" + "0123456789abcdef" * 2, "  +447700900123 "]
)
def test_a_twilio_sender_is_a_number_or_a_messaging_service(
    sender: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAREBOT_TWILIO_FROM", sender)
    assert Settings().twilio_from == sender.strip()


@pytest.mark.parametrize(
    "sender", ["+3360", "0612345678", "MG123", "MG" + "z" * 32, "PN" + "0" * 32, "+33 6 12 34"]
)
def test_a_bad_twilio_sender_stops_the_start_in_one_line(
    sender: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAREBOT_TWILIO_FROM", sender)
    code, _, err = run_cli(capsys, "run", "--port", str(free_port()))
    assert code == 2
    one_clear_line(err)
    assert "CAREBOT_TWILIO_FROM" in err
    assert "E.164" in err


@pytest.mark.parametrize(
    "name", ["CAREBOT_OUTBOX_LEASE_SECONDS", "CAREBOT_TELEGRAM_POLLER_LEASE_SECONDS"]
)
def test_a_lease_under_three_seconds_is_refused(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Renewed a third of the way through, in whole seconds: shorter, a loaded worker loses it."""
    monkeypatch.setenv(name, "2.5")
    with pytest.raises(ValidationError) as refused:
        Settings()
    assert describe(refused.value).startswith(f"{name}: 2.5 is too short for a lease")
    monkeypatch.setenv(name, "3")
    Settings()


def test_run_without_any_channel_warns_loudly(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAREBOT_")}
    env["CAREBOT_DATABASE"] = str(tmp_path / "run.db")
    imported = python_m_bot("import", AGENCY, env=env)
    assert imported.wait(timeout=120) == 0
    proc = python_m_bot("run", "--port", str(free_port()), env=env)
    try:
        assert proc.stderr is not None
        seen = []
        for line in proc.stderr:
            seen.append(line)
            if "carebot running" in line:
                break
        warning = [line for line in seen if "NO CHANNEL CONFIGURED" in line]
        assert warning, "".join(seen)
        assert " WARNING " in warning[0]
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_sigterm_stops_run_gracefully(tmp_path: Path) -> None:
    """SIGTERM (a rolling restart) runs the stop: leases handed back, the database closed,
    exit 0. uvicorn raises the signal again after serving; unhandled, it ended the process
    before the stop ran (exit -15)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAREBOT_")}
    env["CAREBOT_DATABASE"] = str(tmp_path / "run.db")
    assert python_m_bot("import", AGENCY, env=env).wait(timeout=120) == 0
    proc = python_m_bot("run", "--port", str(free_port()), env=env)
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            if "carebot running" in line:
                break
        time.sleep(0.5)  # serving
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert proc.returncode == 0


# --- carebot import: what changed, and who may not be dropped -----------------------------


def agency_text() -> str:
    return AGENCY.read_text(encoding="utf-8")


def without(text: str, person: str) -> str:
    """The agency file without one person's [[...]] entry."""
    blocks = re.split(r"\n(?=\[\[)", text)
    kept = [b for b in blocks if f'\nid = "{person}"\n' not in b + "\n"]
    assert len(kept) == len(blocks) - 1, person
    return "\n".join(kept)


def test_import_says_what_changed(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = tmp_path / "agency.db"
    code, out, _ = run_cli(capsys, "import", AGENCY, "--db", db)
    assert code == 0
    assert "added: alice, bob," in out

    code, out, _ = run_cli(capsys, "import", AGENCY, "--db", db)
    assert (code, out.splitlines()[-1]) == (0, "nothing changed")

    edited = without(agency_text(), "david").replace('"Marie Dupont"', '"Marie Dupont-Leroy"')
    assert "Dupont-Leroy" in edited
    path = tmp_path / "edited.toml"
    path.write_text(edited, encoding="utf-8")
    code, out, err = run_cli(capsys, "import", path, "--db", db)
    assert code == 0, err
    assert "updated: marie" in out.splitlines()
    assert "removed: david" in out.splitlines()
    assert "policy" not in out  # only people changed

    path.write_text(edited.replace('hourly_rate = "18.00"', 'hourly_rate = "19.00"'), "utf-8")
    code, out, _ = run_cli(capsys, "import", path, "--db", db)
    assert out.splitlines()[1:] == ["updated: the agency, its policy or its services"]

    code, out, _ = run_cli(capsys, "import", AGENCY, "--db", db)
    assert code == 0
    assert "added: david" in out.splitlines()
    assert "updated: marie" in out.splitlines()


async def test_import_refuses_to_drop_someone_with_an_open_request_unless_forced(
    bot: Carebot, tmp_path: Path
) -> None:
    for message in ("childcare on Tuesday 24 November 9am to 11am", "1", "1"):
        await bot.receive_from("bob", Text(message))
    async with bot.db.transaction() as tx:
        request = await tx.requests.by_seq("bob", 1)
    assert request is not None and request.provider_id == "marie"
    db = str(sqlite_file(bot.db))  # the bot stays open, as a running `carebot run` would
    path = tmp_path / "no-marie.toml"
    path.write_text(without(agency_text(), "marie"), encoding="utf-8")

    proc = python_m_bot("import", path, "--db", db)
    out, err = await asyncio.to_thread(proc.communicate)
    assert proc.returncode == 1, err
    one_clear_line(err)
    assert "marie (1 open)" in err and "--force" in err
    assert out == ""
    async with bot.db.transaction() as tx:
        assert "marie" in [p.id for p in await tx.roster.people("provider")]

    proc = python_m_bot("import", path, "--db", db, "--force")
    out, err = await asyncio.to_thread(proc.communicate)
    assert proc.returncode == 0, err
    assert "removed: marie" in out.splitlines()
    async with bot.db.transaction() as tx:
        assert "marie" not in [p.id for p in await tx.roster.people("provider")]
        # Her history stays readable: the request still names her.
        kept = await tx.requests.by_seq("bob", 1)
        assert kept is not None and kept.provider_id == "marie"


def test_run_refuses_a_database_without_an_agency(tmp_path: Path, empty_db: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAREBOT_")}
    runs = []
    for db in (empty_db, tmp_path / "missing.db"):
        runs.append(
            python_m_bot(
                "run", "--port", str(free_port()), env={**env, "CAREBOT_DATABASE": str(db)}
            )
        )
    for proc, word in zip(runs, ("carebot import", "no database"), strict=True):
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 1, err
        one_clear_line(err.splitlines()[-1])
        assert word in err
        assert "Traceback" not in err
    assert not (tmp_path / "missing.db").exists()
