"""Run every benchmark and write bench/RESULTS.md: `python bench/run.py [--quick] [--only NAME]
[--postgres URL | --sqlite-only]`.

Each benchmark is a script that prints a Markdown table; this runs them one after the other
(never in parallel: they would measure each other) and collects the tables with a
description of the machine, the date and the load average, so a figure always comes with its
context. The benchmarks that run on both engines (ENGINES) measure SQLite and then PostgreSQL
(a fresh schema on --postgres, dropped afterwards) in one run, so that their ratios come from
the same minutes of the same machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent

# name -> (script, full arguments, quick arguments, what it measures)
BENCHMARKS: dict[str, tuple[str, list[str], list[str], str]] = {
    "parse-when": (
        "bench_when.py",
        [],
        ["--rounds", "50"],
        "both parsers (dates, provider replies): accuracy and warm latency per phrase of the "
        "dev and typed sets in tests/nlu/data",
    ),
    "parse-sms": (
        "bench_sms.py",
        [],
        ["--rounds", "50"],
        "provider-reply parser, warm, per message of the dev set",
    ),
    "availability": (
        "bench_availability.py",
        # Every provider changing their own hours by chat first takes minutes per engine; a
        # thousand of them gives the same kind of rows (bench/NOTES.md).
        ["--own-hours", "1000"],
        ["--providers", "1000", "--appointments", "10000", "--queries", "50"],
        "available providers for a window; target p50 < 20 ms at 5,000 / 50,000",
    ),
    "timers": (
        "bench_timers.py",
        [],
        [
            *("--appointments", "3000", "--past", "2000", "--burst", "1000", "--spread", "10"),
            *("--flood", "1000", "--lookups", "50"),
        ],
        "100,000 pending timers re-armed at start (< 5 s, < 200 MB), 10,000 due in a minute, "
        "10,000 due at the same second; the due look-up's cost; memory of carebot run with the "
        "large agency and 10,000 conversations in progress",
    ),
    "sms-inbound": (
        "bench_sms_inbound.py",
        ["--workers", "1,2,3"],
        ["--quick", "--workers", "1,2"],
        "signed Twilio webhooks through real carebot run workers (SQLite: one; PostgreSQL: 1, "
        "2 and 3 behind a round-robin client) to the fake Twilio, and the floor",
    ),
    "round-trips": (
        "bench_round_trips.py",
        [],
        ["--messages", "20"],
        "database round trips per inbound SMS (counted, not timed)",
    ),
    "telegram": (
        "bench_telegram.py",
        [],
        ["--quick"],
        "updates through a real carebot run vs a bare python-telegram-bot echo bot",
    ),
    "pg-driver": (
        "bench_pg_driver.py",
        [],
        ["--units", "500"],
        "asyncpg vs psycopg 3 on one inbound message's statements (needs PostgreSQL)",
    ),
}


# The benchmarks that take --db (repeatable): SQLite, then PostgreSQL, in the same run.
ENGINES = {"availability", "timers", "sms-inbound", "round-trips"}
POSTGRES = os.environ.get("CAREBOT_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def load() -> str:
    """The load average (1, 5, 15 min): other work on the machine moves every figure."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f}, {five:.2f}, {fifteen:.2f}"


def machine() -> str:
    """A one-paragraph description of where the figures were measured."""
    cpu = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        total_kb = int(meminfo.read_text().split()[1])
        memory = f", {total_kb / 1024 / 1024:.0f} GiB of memory"
    return (
        f"{os.cpu_count()} cores ({cpu}){memory}; {platform.system()} "
        f"{platform.release()}; Python {platform.python_version()}; SQLite on local disk."
    )


def run(names: list[str], quick: bool, postgres: str | None = POSTGRES) -> str:
    """Run the named benchmarks (those in ENGINES on `postgres` too); returns the Markdown
    report."""
    server = f" PostgreSQL at {postgres.rsplit('@', 1)[-1]}." if postgres else ""
    lines = [
        "# Benchmark results",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}{server}",
        f"Load average (1, 5, 15 min) at the start: {load()}.",
        "Re-run with `python bench/run.py` (`--quick` for smaller sizes).",
        "",
    ]
    for name in names:
        script, full, short, what = BENCHMARKS[name]
        path = HERE / script
        lines += [f"## {name}", "", what, ""]
        if not path.exists():
            lines += ["(not available in this checkout)", ""]
            continue
        engines = ["--db", "sqlite", "--db", postgres] if postgres and name in ENGINES else []
        before = load()
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, str(path), *(short if quick else full), *engines],
            capture_output=True,
            text=True,
            check=False,
            cwd=HERE.parent,
        )
        took = time.perf_counter() - started
        table = [line for line in result.stdout.splitlines() if line.startswith("|")]
        if result.returncode != 0 or not table:
            lines += [
                f"failed (exit {result.returncode}):",
                "",
                "```",
                (result.stderr or result.stdout)[-2000:],
                "```",
                "",
            ]
            continue
        # The whole output: tables, and the sentences some benchmarks print around them.
        lines += [result.stdout.strip(), "", f"({took:.0f} s; load average before: {before})", ""]
    notes = HERE / "NOTES.md"  # hand-written: how to read the figures, where the time goes
    if notes.exists():
        lines += [notes.read_text(encoding="utf-8").strip(), ""]
    return "\n".join(lines)


def main() -> int:
    """Run the benchmarks and write bench/RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--only", action="append", choices=sorted(BENCHMARKS))
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    parser.add_argument("--postgres", default=POSTGRES, help="the PostgreSQL server's URL")
    parser.add_argument("--sqlite-only", action="store_true", help="no PostgreSQL figures")
    args = parser.parse_args()
    postgres = None if args.sqlite_only else args.postgres
    report = run(args.only or list(BENCHMARKS), args.quick, postgres)
    args.out.write_text(report + "\n", encoding="utf-8")
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
