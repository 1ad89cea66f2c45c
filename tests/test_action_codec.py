"""Typed actions: every verb has a shape and a route; garbage unpacks to a refusal."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.flows.router import ROUTES
from bot.services.actions import MAX_BYTES, SHAPES, Action, Refused, Verb, action, unpack

HANDLERS = Path(__file__).resolve().parents[1] / "bot" / "handlers"


def test_every_verb_has_a_shape_and_every_pressable_verb_a_route() -> None:
    assert set(SHAPES) == set(Verb)
    # The contact keyboard is Telegram's own: the adapter answers it, no flow does.
    assert set(Verb) - set(ROUTES) == {Verb.LINK}


@pytest.mark.parametrize(
    ("packed", "reason"),
    [
        ("", "empty"),
        ("zz:1", "unknown verb"),
        ("OA:1:y", "unknown verb"),
        ("oa:1", "wrong number of arguments"),
        ("oa:1:y:z", "wrong number of arguments"),
        ("oa:x:y", "argument 1 is not an id"),
        ("oa:²:y", "argument 1 is not an id"),
        ("wa:" + "9" * 19, "argument 1 is not an id"),
        ("bk:" + "1" * 40 + ":s:" + "x" * 30, "longer than 64 bytes"),
        ("mn", "wrong number of arguments"),
    ],
)
def test_a_garbled_or_stale_payload_is_refused_with_its_reason(packed: str, reason: str) -> None:
    assert unpack(packed) == Refused(packed, reason)


@given(st.text(max_size=80))
def test_no_payload_makes_unpack_raise(data: str) -> None:
    found = unpack(data)
    assert isinstance(found, Action | Refused)
    if isinstance(found, Action):  # what it accepts it packs back byte for byte
        assert found.pack() == data
        assert len(data.encode()) <= MAX_BYTES


def test_packing_refuses_what_telegram_would_refuse() -> None:
    assert action(Verb.ANSWER_OFFER, 12, "y") == "oa:12:y"
    with pytest.raises(ValueError, match="64 bytes"):
        action(Verb.STAFF_OFFER, 1, "p" * 70)
    with pytest.raises(ValueError, match="64 bytes"):
        action(Verb.MENU, "a:b")
    with pytest.raises(ValueError):
        action("zz", 1)  # not a verb


def test_no_handler_opens_a_unit_of_work_itself() -> None:
    """Adapters call the application's intent methods; the database is the app's own."""
    touching = [
        path.name
        for path in sorted(HANDLERS.glob("*.py"))
        if re.search(r"\.db\b|open_desk|\.transaction\(\)", path.read_text(encoding="utf-8"))
    ]
    assert touching == []
