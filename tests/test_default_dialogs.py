"""Default dialog tests: in every flow, the four usual mistakes get an answer and change nothing.

Each flow below is reached by a few real messages on a fresh database. Then the person in it
sends an empty text, garbage, a stale button (an option of an earlier message, or a number
no list has on SMS) and a command of another role. Each must get an answer (never the apology
for an internal error) that helps them: their role's help, or the options they are being
asked to choose from again; and the database must hold exactly what it held before.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.app import Carebot
from bot.flows.common import help_text
from bot.flows.router import Inbound, Press, Text
from bot.services.desk import open_desk
from bot.services.ports import OutboxMessage
from tests.conftest import sqlite_file
from tests.test_robustness import is_apology

# What a mistake must not touch: everything but the messages, the deliveries and the
# conversation state (which may rightly be re-shown, e.g. the list sent again).
BUSINESS_TABLES = (
    "people", "requests", "offers", "escalations", "change_requests", "ledger", "timers",
    "series", "credit_weeks", "availability", "days_off", "breaks",
)  # fmt: skip
BOOK = "childcare on Tuesday 24 November 9am to 11am"


@dataclass(frozen=True)
class Flow:
    """A person in the middle of something, reached by these steps ('[regex]' picks)."""

    name: str
    who: str
    steps: tuple[tuple[str, str], ...] = ()


BOOKED = (("chloe", BOOK), ("chloe", "[Paul]"), ("chloe", "[confirm]"), ("paul", "yes"))
FLOWS = [
    Flow("member idle, Telegram", "alice"),
    Flow("member idle, SMS", "bob"),
    Flow("provider idle", "paul"),
    Flow("staff idle", "karim"),
    Flow("member choosing a provider", "chloe", (("chloe", BOOK),)),
    Flow("member at the summary", "chloe", (("chloe", BOOK), ("chloe", "[Paul]"))),
    Flow("provider asked for a request", "paul", BOOKED[:3]),
    Flow("member choosing what to cancel", "chloe", (*BOOKED, ("chloe", "cancel booking"))),
    Flow("member choosing what to change", "chloe", (*BOOKED, ("chloe", "change booking"))),
    Flow(
        "staff with an escalation",
        "sophie",
        (("chloe", BOOK), ("chloe", "[Paul]"), ("chloe", "[confirm]"), ("paul", "no")),
    ),
]
# A command that belongs to another role than the person's.
WRONG_ROLE = {"member": "/pending", "provider": "/unresolved", "staff": "arrived"}


def snapshot(path: str | Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of the business tables, read straight from the SQLite file."""
    conn = sqlite3.connect(path)
    try:
        return {
            table: sorted(conn.execute(f"SELECT * FROM {table}").fetchall(), key=repr)
            for table in BUSINESS_TABLES
        }
    finally:
        conn.close()


async def send(bot: Carebot, who: str, inbound: Inbound) -> list[OutboxMessage]:
    """One inbound; what the bot sent because of it."""
    before = await bot.last_outbox_id()
    await bot.receive_from(who, inbound)
    return await bot.outbox_after(before)


async def pick(bot: Carebot, who: str, pattern: str) -> Inbound:
    """The button (Telegram) or number (SMS) of the one option of `who`'s latest list."""
    latest = [m for m in await bot.outbox_after(0) if m.person_id == who and m.options][-1]
    hits = [
        (i, act)
        for i, (label, act) in enumerate(latest.options)
        if re.search(pattern, label, re.I)
    ]
    assert len(hits) == 1, (pattern, latest.options)
    person = await bot.person(who)
    return Press(hits[0][1]) if person.channel == "telegram" else Text(str(hits[0][0] + 1))


async def stale(bot: Carebot, who: str) -> Inbound:
    """An option that is no longer on offer: one of an earlier list, or a number none has."""
    person = await bot.person(who)
    if person.channel != "telegram":
        return Text("97")
    lists = [m for m in await bot.outbox_after(0) if m.person_id == who and m.options]
    if len(lists) < 2:
        return Press("zz:424242")  # well formed, names nothing
    return Press(lists[-2].options[0][1])


async def reach(bot: Carebot, flow: Flow) -> None:
    for who, text in flow.steps:
        inbound = await pick(bot, who, text[1:-1]) if text.startswith("[") else Text(text)
        assert not any(is_apology(m.text) for m in await send(bot, who, inbound)), (who, text)


async def role(bot: Carebot, who: str) -> str:
    """'member', 'provider' or 'staff'."""
    return type(await bot.person(who)).__name__.lower()


@pytest.mark.parametrize("flow", FLOWS, ids=[f.name for f in FLOWS])
@pytest.mark.parametrize("probe", ["empty text", "garbage", "stale button", "wrong role"])
async def test_a_mistake_gets_help_and_changes_nothing(
    bot: Carebot, flow: Flow, probe: str
) -> None:
    await reach(bot, flow)
    person = await bot.person(flow.who)
    kind = await role(bot, flow.who)
    if probe == "empty text":
        inbound: Inbound = Text("")
    elif probe == "garbage":
        inbound = Text("xqzzy blorp ???")
    elif probe == "stale button":
        inbound = await stale(bot, flow.who)
    else:
        inbound = Text(WRONG_ROLE[kind])
    lists = [m for m in await bot.outbox_after(0) if m.person_id == flow.who and m.options]
    before = snapshot(sqlite_file(bot.db))

    sent = await send(bot, flow.who, inbound)

    assert snapshot(sqlite_file(bot.db)) == before, f"{probe} changed the database in {flow.name}"
    mine = [m for m in sent if m.person_id == flow.who]
    assert mine, f"{flow.who} got no answer to {probe} in {flow.name}"
    assert [m for m in sent if m.person_id != flow.who] == [], "nobody else hears of it"
    assert not any(is_apology(m.text) for m in mine), [m.text for m in mine]
    async with open_desk(bot.db, bot.clock) as desk:
        helps = help_text(desk, person)
    labels = [label for label, _ in lists[-1].options] if lists else None
    shown_again = any([label for label, _ in m.options] == labels for m in mine)
    answer = "\n".join(m.text for m in mine)
    assert helps in answer or shown_again, (
        f"{probe} in {flow.name}: neither {kind} help nor the options again:\n{answer}"
    )
