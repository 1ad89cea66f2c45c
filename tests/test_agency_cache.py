"""A running bot keeps the agency in memory, yet sees a re-import made by another process."""

from __future__ import annotations

from pathlib import Path

from bot.agency_file import parse_agency_toml
from bot.app import Carebot
from bot.clock import VirtualClock
from bot.flows.router import Text
from storage.engines import open_database
from tests.conftest import AGENCY, sqlite_file


async def test_a_reimport_from_another_connection_reaches_the_running_bot(
    bot: Carebot, clock: VirtualClock, tmp_path: Path
) -> None:
    await bot.receive_from("bob", Text("/book"))
    first = [m for m in await bot.outbox_after(0) if m.person_id == "bob"][-1]
    assert "Childcare" in [label for label, _ in first.options]
    # Another process (its own connection) renames the service.
    renamed = AGENCY.read_text(encoding="utf-8").replace(
        'en = "Childcare"', 'en = "Nanny service"'
    )
    other = Carebot(await open_database(sqlite_file(bot.db)), clock)
    try:
        await other.import_agency(parse_agency_toml(renamed, "agency.toml"))
    finally:
        await other.close()
    before = await bot.last_outbox_id()
    await bot.receive_from("bob", Text("/book"))
    again = [m for m in await bot.outbox_after(before) if m.person_id == "bob"][-1]
    assert "Nanny service" in [label for label, _ in again.options]
