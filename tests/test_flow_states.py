"""Each flow's state is a dataclass (bot/flows/conversation.py): stored as JSON, loaded typed.

Every state round-trips through the JSON the conversations table keeps, every flow has one,
and a state written by the hand-made dicts of earlier versions still loads (a person may be
mid-flow when the bot is upgraded).
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from bot.flows import router  # noqa: F401  (imports every flow, so every state class exists)
from bot.flows.booking import Booking
from bot.flows.cancel import Cancelling, Waiver
from bot.flows.change import Changing
from bot.flows.conversation import FlowState, dump, parse
from bot.flows.hours import NewHours
from bot.flows.schedule import Moving
from bot.flows.series import Weekly
from bot.services.actions import SHAPES, Verb
from tests.conftest import paris

START, END = paris("2026-11-24 14:00"), paris("2026-11-24 18:00")

# One state per flow, every field away from its default.
FULL: list[FlowState] = [
    Booking(
        tok=41,
        step="confirm",
        service="childcare",
        date=date(2026, 11, 24),
        start=START,
        end=END,
        cands=["marie", "paul"],
        provider="paul",
    ),
    Cancelling(tok=42, step="confirm", cands=[3, 4, 5], chosen=[4], reason="ill", end_series=[2]),
    Waiver(tok=43, step="reason", request=7),
    Changing(
        tok=44,
        step="confirm",
        cands=[3],
        request=3,
        kind="time",
        start=START,
        end=END,
        service="cleaning",
        notes="the code is 1234",
    ),
    NewHours(
        tok=45, step="confirm", windows=[(0, 540, 1080), (5, 600, 720)], off=[date(2026, 12, 24)]
    ),
    Moving(tok=46, step="confirm", cands=[8, 9], request=9, start=START),
    Weekly(
        tok=47,
        step="confirm",
        service="childcare",
        weekday=1,
        start=1080,
        end=1200,
        first=date(2026, 11, 24),
        until=date(2027, 6, 30),
        weeks=8,
        provider="marie",
    ),
]


def all_states() -> set[type[FlowState]]:
    """Every FlowState subclass the flows define."""
    found: set[type[FlowState]] = set()
    todo = list(FlowState.__subclasses__())
    while todo:
        cls = todo.pop()
        found.add(cls)
        todo += cls.__subclasses__()
    return found


def test_every_flow_has_its_state_and_every_state_is_checked() -> None:
    assert {type(s) for s in FULL} == all_states()
    # A flow is a verb whose options carry a step token; each keeps its own state.
    flows = {verb for verb, shape in SHAPES.items() if shape.ids[:1] == (0,) and shape.least == 2}
    flows -= {Verb.ANSWER_OFFER, Verb.REPORT, Verb.PROVIDER_CANCEL, Verb.STAFF_OFFER}
    assert flows | {Verb.WAIVER} == {cls.FLOW for cls in all_states()}


@pytest.mark.parametrize("state", FULL, ids=[type(s).__name__ for s in FULL])
def test_a_state_round_trips_through_its_stored_json(state: FlowState) -> None:
    stored = json.loads(json.dumps(dump(state)))
    loaded = parse(type(state), stored)
    assert loaded == state
    assert loaded is not None and loaded.FLOW == state.FLOW
    assert dump(loaded) == stored


@pytest.mark.parametrize("cls", [type(s) for s in FULL], ids=[type(s).__name__ for s in FULL])
def test_a_fresh_state_round_trips_too(cls: type[FlowState]) -> None:
    state = cls()
    assert parse(cls, json.loads(json.dumps(dump(state)))) == state


# What earlier versions stored, written by hand as dicts (before the dataclasses).
EARLIER: list[tuple[type[FlowState], dict[str, Any]]] = [
    (
        Booking,
        {
            "service": "childcare",
            "date": "2026-11-24",
            "start": "2026-11-24T14:00:00+01:00",
            "end": "2026-11-24T18:00:00+01:00",
            "step": "provider",
            "cands": ["marie"],
            "tok": 12,
        },
    ),
    (Cancelling, {"step": "pick", "cands": [3, 4], "tok": 5}),
    (Waiver, {"request": 7, "tok": 9}),
    (NewHours, {"step": "confirm", "windows": [[0, 540, 1080]], "off": ["2026-12-24"], "tok": 3}),
    (
        Moving,
        {"step": "confirm", "cands": [8], "request": 8, "start": "2026-11-24T14:00:00+01:00"},
    ),
]


@pytest.mark.parametrize(("cls", "stored"), EARLIER, ids=lambda x: getattr(x, "__name__", ""))
def test_a_state_stored_by_an_earlier_version_still_loads(
    cls: type[FlowState], stored: dict[str, Any]
) -> None:
    loaded = parse(cls, stored)
    assert loaded is not None
    # Stored again, it is the same JSON (plus the fields it did not have, at their defaults).
    again = dump(loaded)
    assert {key: again[key] for key in stored} == stored
    if isinstance(loaded, Booking):
        assert (loaded.date, loaded.start) == (date(2026, 11, 24), START)


def test_a_state_that_no_longer_fits_is_no_state() -> None:
    assert parse(Cancelling, {"step": "pick", "cands": "not a list"}) is None
    assert parse(Booking, {"start": "yesterday"}) is None
