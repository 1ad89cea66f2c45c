"""`carebot export ledger`: one CSV line per ledger entry, ISO dates, decimal amounts."""

from __future__ import annotations

import asyncio
import csv
import io
import subprocess
import sys
from pathlib import Path

from bot.app import Carebot
from bot.clock import VirtualClock
from bot.flows.router import Text
from tests.conftest import ROOT


async def test_export_lists_fee_session_and_payout(bot: Carebot, clock: VirtualClock) -> None:
    for message in ("childcare on Tuesday 24 November 9am to 11am", "1", "1"):
        await bot.receive_from("bob", Text(message))
    await bot.receive_from("marie", Text("oui"))
    end = clock.now().replace(day=24, hour=10, minute=30)  # 11:30 in Paris
    await bot.fire_due_timers(end, move_clock=True)
    clock.set(end)
    await bot.receive_from("marie", Text("terminé"))
    db = bot.db.path
    result = await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable,
            "-m",
            "bot",
            "export",
            "ledger",
            "--from",
            "2026-11-23",
            "--to",
            "2026-11-24",
            "--db",
            db,
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [
        (r["kind"], r["member"] or r["provider"], r["amount"], r["credits_change"]) for r in rows
    ] == [
        ("opening", "fanny", "0.00", "1"),  # her subscription's credit from the agency file
        ("scheduling_fee", "bob", "15.00", "0"),
        ("session", "bob", "36.00", "0"),
        ("payout", "marie", "36.00", "0"),
    ]
    assert rows[1]["date"] == "2026-11-23T09:00:00Z"
    assert {r["currency"] for r in rows} == {"EUR"}
    outside = await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable,
            "-m",
            "bot",
            "export",
            "ledger",
            "--from",
            "2026-11-25",
            "--to",
            "2026-11-30",
            "--db",
            db,
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert outside.stdout.strip().splitlines() == [
        ",".join(
            (
                "id",
                "date",
                "kind",
                "member",
                "provider",
                "request",
                "amount",
                "balance_change",
                "credits_change",
                "currency",
            )
        )
    ]


def test_export_refuses_bad_dates(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "export",
            "ledger",
            "--from",
            "23/11/2026",
            "--to",
            "2026-11-30",
            "--db",
            str(tmp_path / "x.db"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 2 and "YYYY-MM-DD" in result.stderr
