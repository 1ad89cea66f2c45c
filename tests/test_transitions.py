"""A request's status changes (product §1, §2, §4): which are legal from where, what each
does, and the repository's guard that stores one only if nobody moved the request first.

The table below is written out by hand, not read from bot.domain.booking.TRANSITIONS: it is
the specification the domain's table is checked against.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest

import bot.app.carebot as carebot_module
from bot.app import Carebot
from bot.domain.agency import Person, Policy
from bot.domain.booking import Move, Request, Status, Transition
from bot.domain.errors import IllegalTransition, RequestChanged
from bot.flows.router import Inbound, handle
from bot.services.desk import Desk
from tests.appointments import add_confirmed
from tests.conftest import paris
from tests.test_robustness import BOOK_EN, step

NOW = paris("2026-11-23 10:00")
POLICY = Policy()  # 24 hours' notice to cancel for free
S = Status

# Move -> (the statuses it may start from, where it leads).
LEGAL: dict[Move, tuple[set[Status], Status]] = {
    Move.CONFIRM: ({S.PENDING}, S.CONFIRMED),
    Move.ESCALATE: ({S.PENDING, S.CONFIRMED, S.IN_PROGRESS}, S.ESCALATED),
    Move.OFFER: ({S.ESCALATED}, S.PENDING),
    Move.BEGIN: ({S.CONFIRMED}, S.IN_PROGRESS),
    Move.COMPLETE: ({S.CONFIRMED, S.IN_PROGRESS}, S.COMPLETED),
    Move.NO_SHOW: ({S.CONFIRMED}, S.NO_SHOW),
    Move.CANCEL: ({S.PENDING, S.ESCALATED, S.CONFIRMED, S.IN_PROGRESS}, S.CANCELLED),
    Move.EXPIRE: ({S.CONFIRMED, S.IN_PROGRESS}, S.EXPIRED),
    Move.CLOSE_UNFILLED: ({S.PENDING, S.ESCALATED}, S.UNFILLED),
}

# How each move is asked of a request.
CALLS: dict[Move, Callable[[Request], Transition]] = {
    Move.CONFIRM: lambda r: r.confirm(NOW),
    Move.ESCALATE: lambda r: r.escalate(NOW),
    Move.OFFER: lambda r: r.offer("paul", NOW),
    Move.BEGIN: lambda r: r.begin(NOW),
    Move.COMPLETE: lambda r: r.complete(Decimal("36.00"), NOW),
    Move.NO_SHOW: lambda r: r.mark_no_show(Decimal("30.00"), NOW),
    Move.CANCEL: lambda r: r.cancel(NOW, POLICY),
    Move.EXPIRE: lambda r: r.expire(NOW),
    Move.CLOSE_UNFILLED: lambda r: r.close_unfilled(NOW),
}


def request(status: Status, **changes: object) -> Request:
    """Alice's 2-hour childcare with Marie the day after tomorrow, in `status`."""
    base = Request(
        id=7,
        member_id="alice",
        member_seq=1,
        service_id="childcare",
        start=paris("2026-11-25 14:00"),
        end=paris("2026-11-25 16:00"),
        status=status,
        provider_id="marie",
        price=Decimal("36.00"),
        fee=Decimal("15.00"),
        charge=Decimal(0),
        payout=Decimal(0),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_every_move_is_in_the_table_and_called() -> None:
    assert set(LEGAL) == set(Move) == set(CALLS)


@pytest.mark.parametrize(
    ("move", "status"),
    [(m, s) for m, (sources, _) in LEGAL.items() for s in sorted(sources)],
)
def test_a_legal_move_says_what_happened(move: Move, status: Status) -> None:
    before = request(status)
    done = CALLS[move](before)
    assert (done.move, done.before, done.at) == (move, before, NOW)
    assert done.after.status is LEGAL[move][1]
    assert done.after.id == before.id and done.after.start == before.start
    assert before.can(move)


@pytest.mark.parametrize(
    ("move", "status"),
    [(m, s) for m, (sources, _) in LEGAL.items() for s in sorted(set(Status) - sources)],
)
def test_an_illegal_move_is_refused(move: Move, status: Status) -> None:
    before = request(status)
    assert not before.can(move)
    with pytest.raises(IllegalTransition) as refused:
        CALLS[move](before)
    assert (refused.value.request_id, refused.value.status, refused.value.move) == (
        7,
        status,
        move,
    )


def test_nothing_leaves_a_settled_status() -> None:
    for status in (S.COMPLETED, S.NO_SHOW, S.CANCELLED, S.UNFILLED, S.EXPIRED):
        assert not any(request(status).can(move) for move in Move)


def test_letting_the_provider_go_or_closing_unfilled_drops_the_provider() -> None:
    assert request(S.CONFIRMED).escalate(NOW).after.provider_id is None
    assert request(S.PENDING).close_unfilled(NOW).after.provider_id is None
    offered = request(S.ESCALATED, provider_id=None).offer("paul", NOW)
    assert offered.after.provider_id == "paul"
    assert request(S.PENDING).confirm(NOW).after.provider_id == "marie"


def test_settling_bills_money_or_one_credit() -> None:
    done = request(S.IN_PROGRESS).complete(Decimal("30.00"), NOW).after
    assert (done.charge, done.payout) == (Decimal("30.00"), Decimal("30.00"))
    on_credit = request(S.IN_PROGRESS, paid_by_credit=True).complete(Decimal("30.00"), NOW)
    assert (on_credit.after.charge, on_credit.after.payout) == (Decimal(0), Decimal("30.00"))
    absent = request(S.CONFIRMED).mark_no_show(Decimal("25.00"), NOW).after
    assert (absent.charge, absent.payout) == (Decimal("25.00"), Decimal("25.00"))
    expired = request(S.IN_PROGRESS, charge=Decimal(1), payout=Decimal(1)).expire(NOW).after
    assert (expired.charge, expired.payout) == (Decimal(0), Decimal(0))
    assert request(S.CONFIRMED).complete(Decimal(1), NOW).settled
    assert not request(S.CONFIRMED).begin(NOW).settled


def test_cancelling_is_free_with_notice_and_charged_in_full_without() -> None:
    early = request(S.CONFIRMED).cancel(NOW, POLICY).after
    assert (early.charge, early.payout) == (Decimal(0), Decimal(0))
    soon = request(S.CONFIRMED, start=NOW + timedelta(hours=2), end=NOW + timedelta(hours=4))
    late = soon.cancel(NOW, POLICY).after
    assert (late.charge, late.payout) == (Decimal("36.00"), Decimal("36.00"))
    late_credit = replace(soon, paid_by_credit=True).cancel(NOW, POLICY).after
    assert (late_credit.charge, late_credit.payout) == (Decimal(0), Decimal("36.00"))
    # A request nobody confirmed yet costs nothing to cancel, however close its start.
    waiting = replace(soon, status=S.PENDING).cancel(NOW, POLICY).after
    assert (waiting.charge, waiting.payout) == (Decimal(0), Decimal(0))


# --- the repository (real SQLite, or PostgreSQL on that pass) ------------------------------


async def test_a_transition_is_stored(bot: Carebot) -> None:
    async with bot.db.transaction() as tx:
        made = await add_confirmed(
            tx.requests, "alice", "marie", paris("2026-11-25 14:00"), NOW, status=S.PENDING
        )
        saved = await tx.requests.save(made.confirm(NOW))
    assert saved.status is S.CONFIRMED
    async with bot.db.read() as tx:
        assert (await tx.requests.get(made.id)).status is S.CONFIRMED


async def test_a_transition_from_a_stale_request_is_refused_and_writes_nothing(
    bot: Carebot,
) -> None:
    async with bot.db.transaction() as tx:
        made = await add_confirmed(
            tx.requests, "alice", "marie", paris("2026-11-25 14:00"), NOW, status=S.PENDING
        )
    # Another unit of work confirms it first; ours still holds the pending request it read.
    async with bot.db.transaction() as tx:
        await tx.requests.save(made.confirm(NOW))
    with pytest.raises(RequestChanged):
        async with bot.db.transaction() as tx:
            await tx.requests.save(made.escalate(NOW))
    async with bot.db.read() as tx:
        kept = await tx.requests.get(made.id)
    assert (kept.status, kept.provider_id) == (S.CONFIRMED, "marie")


async def test_a_message_that_meets_a_concurrent_change_is_redone_once_cleanly(
    bot: Carebot, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = handle
    calls: list[int] = []

    async def changed_under_the_first_attempt(
        desk: Desk, person: Person, inbound: Inbound
    ) -> None:
        calls.append(1)
        await real(desk, person, inbound)
        if len(calls) == 1:
            raise RequestChanged(1)  # as save() raises it, after other writes of this message

    monkeypatch.setattr(carebot_module, "handle", changed_under_the_first_attempt)
    sent = await step(bot, "bob", BOOK_EN)
    assert len(calls) == 2
    # The first attempt's answer was rolled back with it: the person reads one answer.
    assert sent and len({m.text for m in sent}) == len(sent)


async def test_an_illegal_move_reaching_the_app_is_a_clear_refusal_not_an_apology(
    bot: Carebot, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def refused(desk: Desk, person: Person, inbound: Inbound) -> None:
        await desk.tell(person, "Balance")  # written, then rolled back with the rest
        raise IllegalTransition(1, S.COMPLETED, Move.CANCEL)

    monkeypatch.setattr(carebot_module, "handle", refused)
    sent = await step(bot, "bob", "cancel booking")
    assert [m.text for m in sent][:1] == ["This choice is no longer available."]
    assert "Balance" not in [m.text for m in sent]
