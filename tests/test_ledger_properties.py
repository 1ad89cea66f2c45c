"""§5 money invariants hold for any sequence of bookings, cancellations, no-shows and waivers.

Sequences are driven through the real flows (what members, providers and staff would type)
on a real SQLite file; afterwards the ledger must agree with every request and balance.
"""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.agency_file import load_agency_file
from bot.app import Carebot
from bot.clock import VirtualClock
from bot.domain.booking import Request, Status
from bot.domain.ledger import account
from bot.domain.money import from_minor
from bot.flows.router import Text
from bot.root import open_carebot
from bot.services.ports import LedgerLine
from tests.conftest import AGENCY, paris

MEMBERS = {"alice": ("garde", "fr"), "bob": ("childcare", "en"), "fanny": ("cleaning", "en")}
REPLIES = {
    "yes": "oui",
    "no": "non",
    "absent": "absent",
    "arrived": "arrivé",
    "done": "terminé",
    "cancel": "client annule",
}

# A booking: (member, days ahead, start hour, hours).
BOOKING = (
    st.sampled_from(sorted(MEMBERS)),
    st.integers(1, 9),
    st.integers(8, 15),
    st.integers(1, 3),
)
book = st.tuples(st.just("book"), *BOOKING)
# Replies come from the provider of the member's latest request, and the clock jumps to that
# request's start or end, so that most sequences settle something rather than wander.
reply = st.tuples(
    st.just("reply"), st.sampled_from(sorted(MEMBERS)), st.sampled_from(sorted(REPLIES))
)
jump = st.tuples(
    st.just("jump"),
    st.sampled_from(sorted(MEMBERS)),
    st.sampled_from(["start", "end"]),
    st.integers(-40, 40),
)
cancel = st.tuples(st.just("cancel"), st.sampled_from(sorted(MEMBERS)))
waiver = st.tuples(st.just("waiver"), st.sampled_from(sorted(MEMBERS)), st.booleans())
advance = st.tuples(st.just("advance"), st.integers(1, 30))
# Staff record a payment (refused when it is more than what is owed, which changes nothing).
pay = st.tuples(st.just("pay"), st.sampled_from(sorted(MEMBERS)), st.integers(1, 12_000))
# A whole life of one request, with random branches, so that most examples settle money.
life = st.tuples(
    st.just("life"),
    *BOOKING,
    st.booleans(),
    st.sampled_from(
        [
            "done",
            "noshow",
            "late_cancel",
            "early_cancel",
            "client_cancel",
            "arrived_then_done",
            "expire",
            "none",
        ]
    ),
    st.sampled_from(["approve", "deny", "none"]),
)
OPS = st.lists(
    st.one_of(life, life, book, reply, cancel, waiver, advance, jump, pay), min_size=1, max_size=10
)
OUTCOMES: dict[str, list[tuple[str, str, int]]] = {
    # (what, reply or jump target, minutes after it)
    "done": [("jump", "end", 5), ("reply", "done", 0)],
    "noshow": [("jump", "start", 5), ("reply", "absent", 0), ("jump", "start", 31)],
    "late_cancel": [("jump", "start", -600), ("cancel", "", 0)],
    "early_cancel": [("cancel", "", 0)],
    "client_cancel": [("jump", "start", -10), ("reply", "cancel", 0)],
    "arrived_then_done": [
        ("jump", "start", -5),
        ("reply", "absent", 0),
        ("reply", "arrived", 0),
        ("jump", "end", 0),
        ("reply", "done", 0),
    ],
    "expire": [("jump", "end", 6 * 24 * 60)],
    "none": [],
}


async def _run(ops: list[tuple[object, ...]], db: Path) -> None:
    clock = VirtualClock(paris("2026-11-23 10:00"))
    bot = await open_carebot(db, clock)
    try:
        await bot.import_agency(load_agency_file(AGENCY))
        for op in ops:
            await _step(bot, clock, op)
    finally:
        await bot.close()


async def _step(bot: Carebot, clock: VirtualClock, op: tuple[object, ...]) -> None:
    kind = op[0]
    if kind == "book":
        member, day, hour, hours = str(op[1]), int(str(op[2])), int(str(op[3])), int(str(op[4]))
        word, _ = MEMBERS[member]
        date = (clock.now() + timedelta(days=day)).astimezone(paris("2026-11-23 10:00").tzinfo)
        text = f"{word} {date:%Y-%m-%d} {hour}:00-{hour + hours}:00"
        for message in (text, "1", "1"):
            await bot.receive_from(member, Text(message))
    elif kind == "life":
        member = str(op[1])
        await _step(bot, clock, ("book", member, op[2], op[3], op[4]))
        await _step(bot, clock, ("reply", member, "yes" if op[5] else "no"))
        for what, arg, minutes in OUTCOMES[str(op[6])]:
            if what == "jump":
                await _step(bot, clock, ("jump", member, arg, minutes))
            elif what == "reply":
                await _step(bot, clock, ("reply", member, arg))
            else:
                await _step(bot, clock, ("cancel", member))
        if op[7] != "none":
            await _step(bot, clock, ("waiver", member, op[7] == "approve"))
    elif kind == "reply":
        latest = await _latest(bot, str(op[1]))
        if latest is not None and latest.provider_id:
            await bot.receive_from(latest.provider_id, Text(REPLIES[str(op[2])]))
    elif kind == "jump":
        latest = await _latest(bot, str(op[1]))
        if latest is not None:
            moment = latest.start if op[2] == "start" else latest.end
            target = moment + timedelta(minutes=int(str(op[3])))
            if target > clock.now():
                await bot.fire_due_timers(target, move_clock=True)
                clock.set(target)
    elif kind == "pay":
        await bot.receive_from("karim", Text(f"/paid {op[1]} {Decimal(int(str(op[2]))) / 100}"))
    elif kind == "cancel":
        for message in ("annuler", "1", "1"):
            await bot.receive_from(str(op[1]), Text(message))
    elif kind == "waiver":
        await bot.receive_from(str(op[1]), Text("waiver"))
        await bot.receive_from(str(op[1]), Text("family emergency"))
        await bot.receive_from("sophie", Text("1" if op[2] else "2"))
    else:
        target = clock.now() + timedelta(hours=int(str(op[1])))
        await bot.fire_due_timers(target, move_clock=True)
        clock.set(target)


async def _latest(bot: Carebot, member: str) -> Request | None:
    async with bot.db.transaction() as tx:
        requests = await tx.requests.of_member(member, list(Status))
    return max(requests, key=lambda r: r.id) if requests else None


def _check(db: Path) -> None:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        # No amount is ever stored as anything but an integer number of cents.
        for table, columns in (
            ("ledger", ("amount_minor", "balance_minor", "credits")),
            ("requests", ("price_minor", "fee_minor", "charge_minor", "payout_minor")),
        ):
            for column in columns:
                kinds = {
                    r[0] for r in conn.execute(f"SELECT DISTINCT typeof({column}) FROM {table}")
                }
                assert kinds <= {"integer"}, (table, column, kinds)
        requests = list(conn.execute("SELECT * FROM requests"))
        ledger = list(conn.execute("SELECT * FROM ledger"))
        charged: dict[str, int] = defaultdict(int)
        owed: dict[str, int] = defaultdict(int)
        for line in ledger:
            if line["kind"] in ("session", "noshow_fee", "late_cancel"):
                charged[line["member_id"]] += line["amount_minor"]
            if line["kind"] == "waiver":
                charged[line["member_id"]] -= line["amount_minor"]
            if line["provider_id"]:
                owed[line["provider_id"]] += line["amount_minor"]
        billed: dict[str, int] = defaultdict(int)
        paid: dict[str, int] = defaultdict(int)
        for r in requests:
            assert 0 <= r["charge_minor"] <= r["price_minor"], dict(r)
            assert 0 <= r["payout_minor"] <= r["price_minor"], dict(r)
            if r["paid_by_credit"]:
                assert r["charge_minor"] == 0 and r["fee_minor"] == 0, dict(r)
            elif r["status"] in (Status.COMPLETED, Status.NO_SHOW):
                assert r["charge_minor"] == r["payout_minor"], dict(r)
            if r["status"] not in ("completed", "no_show", "cancelled", "expired"):
                assert r["charge_minor"] == 0 and r["payout_minor"] == 0, dict(r)
            billed[r["member_id"]] += r["charge_minor"]
            if r["provider_id"]:
                paid[r["provider_id"]] += r["payout_minor"]
            settled = r["status"] in ("completed", "no_show", "cancelled", "unfilled", "expired")
            pending = conn.execute(
                "SELECT COUNT(*) FROM timers WHERE request_id = ? AND state = "
                "'pending' AND kind != 'answer_deadline'",
                (r["id"],),
            )
            assert not (settled and pending.fetchone()[0]), dict(r)
        assert {k: v for k, v in charged.items() if v} == {k: v for k, v in billed.items() if v}
        assert {k: v for k, v in owed.items() if v} == {k: v for k, v in paid.items() if v}
        for member in MEMBERS:
            balance, credits = conn.execute(
                "SELECT COALESCE(SUM(balance_minor), 0), COALESCE(SUM(credits), 0) FROM ledger "
                "WHERE member_id = ?",
                (member,),
            ).fetchone()
            assert balance >= 0 and credits >= 0, (member, balance, credits)
            # The statement's account agrees with the stored sums, and nobody owes less than 0.
            lines = [
                LedgerLine(
                    r["id"],
                    paris("2026-11-23 10:00"),
                    r["kind"],
                    r["request_id"],
                    from_minor(r["amount_minor"]),
                    from_minor(r["balance_minor"]),
                    r["credits"],
                )
                for r in ledger
                if r["member_id"] == member
            ]
            position = account(lines)
            assert position.credit == from_minor(balance) and position.credits == credits
            assert position.owed >= 0, (member, position)
    finally:
        conn.close()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(OPS)
def test_ledger_agrees_with_requests_for_any_sequence(ops: list[tuple[object, ...]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "carebot.db"
        asyncio.run(_run(ops, db))
        _check(db)


def test_a_known_sequence_really_moves_money() -> None:
    """The property above must not pass on an empty ledger: this sequence bills and pays."""
    ops: list[tuple[object, ...]] = [
        ("book", "bob", 1, 9, 2),
        ("reply", "bob", "yes"),
        ("jump", "bob", "start", 0),
        ("reply", "bob", "arrived"),
        ("jump", "bob", "end", 60),
        ("reply", "bob", "done"),
        ("pay", "bob", 2000),
        ("pay", "bob", 9999),  # more than the 31.00 still owed: refused
    ]
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "carebot.db"
        asyncio.run(_run(ops, db))
        _check(db)
        conn = sqlite3.connect(db)
        status, charge = conn.execute("SELECT status, charge_minor FROM requests").fetchone()
        paid = conn.execute("SELECT SUM(amount_minor) FROM ledger WHERE kind = 'payment'")
        payments = paid.fetchone()[0]
        conn.close()
    assert (status, Decimal(charge) / 100) == ("completed", Decimal("36"))
    assert payments == 2000
