"""`carebot import` (README, fixture.md): all or nothing, located errors, idempotent, updates.

The command runs as a user would run it, in a subprocess, against a real SQLite file.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.agencies import agency_file, entry
from tests.conftest import ROOT

# A small agency of our own, so that edits to the transcripts' roster do not move these tests.
GOOD = agency_file(
    "Les Petits Soins",
    entry(
        "member",
        id="alice",
        name="Alice Martin",
        channel="telegram",
        telegram_id=1001,
        language="fr",
    ),
    entry(
        "member",
        id="gabriel",
        name="Gabriel Roux",
        channel="sms",
        phone="+33 6 22 33 44 55",
        balance="5.00",
        credits=2,
    ),
    entry(
        "provider",
        id="sam",
        name="Samir Benali",
        channel="sms",
        phone="+33600000004",
        services=["cleaning"],
        availability=["mon-sat 08:00-18:00"],
    ),
    entry(
        "provider",
        id="marie",
        name="Marie Dupont",
        channel="sms",
        phone="+33600000001",
        services=["childcare", "cleaning"],
        rating=4.9,
        availability=["mon-fri 08:00-19:00", "sat 09:00-13:00"],
        unavailable=["2026-11-26"],
    ),
    entry("staff", id="sophie", name="Sophie", channel="telegram", telegram_id=9001),
)

MARIE = 'id = "marie"\nname = "Marie Dupont"'


def _command(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "bot", *map(str, args)]


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "CAREBOT_DATABASE"}


def carebot(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """Run the `carebot` command (as `python -m bot`) and capture what it says."""
    return subprocess.run(
        _command(*args),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=_env(),
        timeout=120,
        check=False,
    )


def carebot_all(*runs: tuple[str | Path, ...]) -> list[subprocess.CompletedProcess[str]]:
    """Several independent `carebot` runs at once (each start-up costs most of a second)."""
    procs = [
        subprocess.Popen(
            _command(*run),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=_env(),
        )
        for run in runs
    ]
    results = []
    for run, proc in zip(runs, procs, strict=True):
        out, err = proc.communicate(timeout=120)
        results.append(subprocess.CompletedProcess(_command(*run), proc.returncode, out, err))
    return results


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def dump(db: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, sorted: what 'the database is unchanged' compares."""
    conn = sqlite3.connect(db)
    try:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        return {
            table: sorted(conn.execute(f'SELECT * FROM "{table}"').fetchall(), key=repr)
            for table in tables
        }
    finally:
        conn.close()


def query(db: Path, sql: str, *args: object) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """GOOD imported once by the command (checked); tests work on copies of it."""
    folder = tmp_path_factory.mktemp("template")
    db = folder / "agency.db"
    result = carebot("import", write(folder, "agency.toml", GOOD), "--db", db)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("imported Les Petits Soins")
    return db


@pytest.fixture
def imported(template: Path, tmp_path: Path) -> Path:
    """A copy of the database with GOOD imported once; GOOD itself is tmp_path/agency.toml."""
    write(tmp_path, "agency.toml", GOOD)
    db = tmp_path / "agency.db"
    copy_db(template, db)
    return db


def copy_db(source: Path, target: Path) -> None:
    """A consistent copy of a (WAL) SQLite file."""
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


def test_a_good_file_is_imported(imported: Path) -> None:
    people = query(imported, "SELECT id, role, name, phone FROM people ORDER BY position")
    assert people == [
        ("alice", "member", "Alice Martin", None),
        ("gabriel", "member", "Gabriel Roux", "+33622334455"),  # stored in E.164
        ("sam", "provider", "Samir Benali", "+33600000004"),
        ("marie", "provider", "Marie Dupont", "+33600000001"),
        ("sophie", "staff", "Sophie", None),
    ]
    assert query(imported, "SELECT id FROM services ORDER BY position") == [
        ("childcare",),
        ("cleaning",),
    ]
    assert query(
        imported, "SELECT service_id FROM provider_services WHERE provider_id = 'marie' ORDER BY 1"
    ) == [("childcare",), ("cleaning",)]
    assert query(imported, "SELECT day FROM days_off WHERE provider_id = 'marie'") == [
        ("2026-11-26",)
    ]
    # The opening balance and credits of the file, as one ledger line.
    assert query(
        imported,
        "SELECT kind, amount_minor, balance_minor, credits FROM ledger WHERE member_id = ?",
        "gabriel",
    ) == [("opening", 500, 500, 2)]


def test_reimporting_the_same_file_changes_nothing(imported: Path, tmp_path: Path) -> None:
    before = dump(imported)
    result = carebot("import", tmp_path / "agency.toml", "--db", imported)
    assert result.returncode == 0, result.stderr
    assert dump(imported) == before
    # In particular, no second opening line: the balance is still 5.00 and 2 credits.
    assert query(
        imported,
        "SELECT COUNT(*), SUM(balance_minor), SUM(credits) FROM ledger WHERE member_id = ?",
        "gabriel",
    ) == [(1, 500, 2)]


BAD_FILES = {
    "unknown service": (
        GOOD.replace('services = ["childcare", "cleaning"]', 'services = ["childcare", "garden"]'),
        ['[[provider]] entry 2 (id "marie")', 'key "services"', '"garden"'],
    ),
    "bad phone": (
        GOOD.replace('phone = "+33600000001"', 'phone = "+3360"'),
        ['[[provider]] entry 2 (id "marie")', 'key "phone"', '"+3360"', "E.164"],
    ),
}


def test_a_bad_file_is_refused_and_changes_nothing(imported: Path, tmp_path: Path) -> None:
    cases = sorted(BAD_FILES)
    runs: list[tuple[str | Path, ...]] = []
    for number, case in enumerate(cases):
        text = BAD_FILES[case][0]
        assert text != GOOD, case
        # Each also renames someone listed before its error: that must not land either.
        text = text.replace('name = "Alice Martin"', 'name = "Alice Renamed"')
        db = tmp_path / f"{number}.db"
        copy_db(imported, db)
        runs.append(("import", write(tmp_path, f"bad-{number}.toml", text), "--db", db))
    # A bad file into a database that does not exist yet does not even create it.
    fresh = tmp_path / "fresh.db"
    runs.append(("import", tmp_path / "bad-0.toml", "--db", fresh))
    before = dump(imported)
    results = carebot_all(*runs)
    for case, run, result in zip(cases, runs, results, strict=False):
        assert result.returncode == 1, case
        assert Path(run[1]).name in result.stderr, case
        for part in BAD_FILES[case][1]:
            assert part in result.stderr, (case, result.stderr)
        assert "Traceback" not in result.stderr, case
        assert "imported" not in result.stdout, case
        assert dump(Path(run[3])) == before, case
    assert results[-1].returncode == 1
    assert not fresh.exists()


def test_importing_an_edited_file_updates_the_roster(imported: Path, tmp_path: Path) -> None:
    edited = (
        GOOD.replace(MARIE, 'id = "marie"\nname = "Marie Dupont-Leroy"')
        .replace('"mon-fri 08:00-19:00", "sat 09:00-13:00"', '"mon-fri 10:00-16:00"')
        .replace('unavailable = ["2026-11-26"]\n', "")
        .replace('services = ["childcare", "cleaning"]', 'services = ["childcare"]')
        .replace('balance = "5.00"', 'balance = "7.00"')
    )
    assert edited.count("Dupont-Leroy") == 1
    result = carebot("import", write(tmp_path, "agency.toml", edited), "--db", imported)
    assert result.returncode == 0, result.stderr
    assert query(imported, "SELECT name FROM people WHERE id = 'marie'") == [
        ("Marie Dupont-Leroy",)
    ]
    assert query(
        imported,
        "SELECT weekday, start_min, end_min FROM availability WHERE provider_id = 'marie' "
        "ORDER BY weekday",
    ) == [(day, 600, 960) for day in range(5)]
    assert query(imported, "SELECT day FROM days_off WHERE provider_id = 'marie'") == []
    assert query(
        imported, "SELECT service_id FROM provider_services WHERE provider_id = ?", "marie"
    ) == [("childcare",)]
    # Nobody else moved, and the opening balance is an opening: written once, not twice.
    assert query(imported, "SELECT COUNT(*) FROM people") == [(5,)]
    assert query(
        imported, "SELECT COUNT(*) FROM ledger WHERE member_id = 'gabriel' AND kind = 'opening'"
    ) == [(1,)]


def test_a_conflict_with_the_database_is_a_located_refusal(imported: Path, tmp_path: Path) -> None:
    # Gabriel leaves the file (he stays in the database) and a new member takes his number.
    text = GOOD.replace('id = "gabriel"\nname = "Gabriel Roux"', 'id = "hugo"\nname = "Hugo"')
    assert "gabriel" not in text
    before = dump(imported)
    result = carebot("import", write(tmp_path, "clash.toml", text), "--db", imported)
    assert result.returncode == 1
    assert dump(imported) == before
    assert "Traceback" not in result.stderr
    assert '[[member]] entry 2 (id "hugo")' in result.stderr
    assert 'key "phone"' in result.stderr
