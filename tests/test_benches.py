"""The benchmarks of issue 12 still run: each in a smoke mode (tiny sizes, no timing), on the
engine of the pass (SQLite, or a fresh schema on CAREBOT_TEST_DATABASE's server), so that a
change to the bot or the storage that breaks a benchmark fails here rather than on the day
someone measures. Benchmarks assert nothing about speed: what is checked is that each runs to
the end, prints its table, and that the figures it checks itself (one answer per message,
every timer fired once) hold.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from tests.conftest import TEST_DATABASE, postgres_or_skip

ROOT = Path(__file__).resolve().parent.parent
ENGINE = TEST_DATABASE or "sqlite"
LABEL = "PostgreSQL" if TEST_DATABASE else "SQLite"


async def _bench(script: str, *args: str) -> str:
    """Run bench/`script` with `args` on the pass's engine; its standard output."""
    if TEST_DATABASE:
        await postgres_or_skip(TEST_DATABASE)
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, str(ROOT / "bench" / script), *args, "--db", ENGINE],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def _table(out: str, first: str) -> dict[str, list[str]]:
    """The rows of the Markdown table whose header starts with `first`, by their first cell."""
    rows: dict[str, list[str]] = {}
    inside = False
    for line in out.splitlines():
        if line.startswith(f"| {first} |"):
            inside = True
            continue
        if inside and line.startswith("| ---"):
            continue
        if inside and line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            rows.setdefault(cells[0], cells[1:])
        elif inside:
            break
    return rows


async def test_sms_inbound_answers_every_message_on_each_worker_count() -> None:
    out = await _bench(
        "bench_sms_inbound.py",
        *("--seconds", "0.5", "--rates", "40", "--members", "300", "--concurrency", "4"),
        *("--workers", "2"),  # on PostgreSQL; SQLite runs one worker
    )
    rows = [line.split("|") for line in out.splitlines() if line.startswith("| carebot run")]
    servers = {row[1].strip() for row in rows}
    workers = "2 workers" if TEST_DATABASE else "1 worker"
    assert servers == {f"carebot run, {LABEL}, {workers}"}, out
    for row in rows:
        if row[2].strip() == "40":  # the fixed-rate phase: every post answered by one reply
            assert row[5].strip() == "0" and row[3].strip() == row[8].strip(), row
    assert "| floor | flat out |" in out, out
    assert "% of the floor" in out, out


async def test_round_trips_are_counted() -> None:
    out = await _bench("bench_round_trips.py", "--messages", "5")
    total = _table(out, "phase")["total"]
    assert float(total[0]) > 0 and float(total[2]) >= float(total[1]) > 0, out


async def test_timers_fire_once_each() -> None:
    out = await _bench(
        "bench_timers.py",
        *("--providers", "20", "--members", "60", "--conversations", "10"),
        *("--appointments", "60", "--past", "5", "--burst", "20", "--spread", "1"),
        *("--flood", "20", "--lookups", "5", "--lead", "3"),
    )
    rows = _table(out, "timers")
    assert rows["burst + flood fired (exactly once each)"] == ["40 (messages 40, distinct 40)"], (
        out
    )
    assert rows["fired before due"] == ["0"], out


async def test_availability_lists_providers() -> None:
    out = await _bench(
        "bench_availability.py",
        *("--providers", "40", "--appointments", "100", "--queries", "5", "--own-hours", "5"),
    )
    rows = _table(out, "availability")
    assert int(rows["providers listed per query (median)"][0]) > 0, out


def test_run_collects_the_tables(tmp_path: Path) -> None:
    """bench/run.py passes each engine to the benchmarks that take one."""
    out = tmp_path / "RESULTS.md"
    engines = ["--postgres", TEST_DATABASE] if TEST_DATABASE else ["--sqlite-only"]
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "run.py"),
            "--quick",
            "--only",
            "round-trips",
            "--out",
            str(out),
            *engines,
        ],
        cwd=ROOT,
        capture_output=True,
        timeout=120,
        check=True,
    )
    report = out.read_text(encoding="utf-8")
    assert "Load average" in report
    assert f"{LABEL}: 20 inbound SMS" in report, report
