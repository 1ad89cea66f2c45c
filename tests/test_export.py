"""`carebot export ledger`: one CSV line per ledger entry, ISO dates, decimal amounts."""

from __future__ import annotations

import asyncio
import csv
import io
from decimal import Decimal
from pathlib import Path

from bot.app import Carebot
from bot.clock import VirtualClock
from bot.flows.router import Text
from bot.handlers.export import COLUMNS
from bot.services.billing import member_account
from tests.conftest import sqlite_file
from tests.live import carebot_cli


async def _bob_books_and_marie_declares(bot: Carebot, clock: VirtualClock) -> None:
    """Bob books childcare on Tuesday 9:00-11:00 with Marie, who declares it done."""
    for message in ("childcare on Tuesday 24 November 9am to 11am", "1", "1"):
        await bot.receive_from("bob", Text(message))
    await bot.receive_from("marie", Text("oui"))
    end = clock.now().replace(day=24, hour=10, minute=30)  # 11:30 in Paris
    await bot.fire_due_timers(end, move_clock=True)
    clock.set(end)
    await bot.receive_from("marie", Text("terminé"))


async def test_export_lists_fee_session_and_payout(bot: Carebot, clock: VirtualClock) -> None:
    await _bob_books_and_marie_declares(bot, clock)
    rows = await asyncio.to_thread(_export, sqlite_file(bot.db), "2026-11-23", "2026-11-24")
    assert [
        (r["kind"], r["member"] or r["provider"], r["amount"], r["credits_change"]) for r in rows
    ] == [
        ("opening", "fanny", "0.00", "1"),  # her subscription's credit from the agency file
        ("scheduling_fee", "bob", "-15.00", "0"),  # signed as bob's statement shows it
        ("session", "bob", "-36.00", "0"),
        ("payout", "marie", "36.00", "0"),  # what marie is owed
        ("member_opening", "bob", "0.00", "0"),
        ("member_closing", "bob", "-51.00", "0"),
        ("member_opening", "fanny", "0.00", "0"),
        ("member_closing", "fanny", "0.00", "1"),
    ]
    assert rows[5]["owed_change"] == "51.00"
    assert rows[1]["date"] == "2026-11-23T09:00:00Z"
    assert {r["currency"] for r in rows} == {"EUR"}
    assert list(rows[0]) == list(COLUMNS)
    assert "owed_change" in COLUMNS
    outside = await asyncio.to_thread(_export, sqlite_file(bot.db), "2026-11-25", "2026-11-30")
    # No line in the period: only each member's (unchanged) position.
    assert [r["kind"] for r in outside] == ["member_opening", "member_closing"] * 2


def test_export_refuses_bad_dates(tmp_path: Path) -> None:
    result = carebot_cli(
        "export",
        "ledger",
        "--from",
        "23/11/2026",
        "--to",
        "2026-11-30",
        "--db",
        str(tmp_path / "x.db"),
    )
    assert result.returncode == 2 and "YYYY-MM-DD" in result.stderr


def _export(db: str, first: str, last: str) -> list[dict[str, str]]:
    result = carebot_cli("export", "ledger", "--from", first, "--to", last, "--db", db)
    assert result.returncode == 0, result.stderr
    return list(csv.DictReader(io.StringIO(result.stdout)))


async def test_export_totals_add_up_and_match_the_statement(
    bot: Carebot, clock: VirtualClock
) -> None:
    """Opening + the member's lines = closing, and closing is what the statement says (§5)."""
    await _bob_books_and_marie_declares(bot, clock)
    await bot.receive_from("karim", Text("/paid bob 20"))
    for message in ("massage on Sunday 10am to 11am", "1"):  # nobody free: to the team
        await bot.receive_from("bob", Text(message))
    await bot.receive_from("karim", Text("1"))  # close as unfilled: the fee is credited back
    async with bot.db.transaction() as tx:
        statement = await member_account(tx, "bob")
    assert (statement.owed, statement.credit) == (Decimal("41.00"), Decimal("10.00"))
    db = sqlite_file(bot.db)
    for first in ("2026-11-23", "2026-11-24"):  # from the start, and from the middle
        rows = await asyncio.to_thread(_export, db, first, "2026-11-24")
        bob = [r for r in rows if r["member"] == "bob"]
        opening, closing = bob[-2], bob[-1]
        assert (opening["kind"], closing["kind"]) == ("member_opening", "member_closing")
        for column in ("amount", "balance_change", "owed_change", "credits_change"):
            moved = sum(Decimal(r[column]) for r in bob[:-2])
            assert Decimal(opening[column]) + moved == Decimal(closing[column]), (first, column)
        assert Decimal(closing["owed_change"]) == statement.owed
        assert Decimal(closing["balance_change"]) == statement.credit
        assert Decimal(closing["amount"]) == statement.credit - statement.owed
        # Who entered the payment by hand is on its line; the bot's own lines name nobody.
        assert {r["kind"]: r["recorded_by"] for r in bob[:-2] if r["recorded_by"]} == {
            "payment": "karim"
        }
    assert Decimal(opening["owed_change"]) == Decimal("15.00")  # the fee of the 23rd
