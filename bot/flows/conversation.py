"""The state a flow keeps between two messages: a dataclass per flow, stored as JSON per person.

Each flow declares its state as a FlowState subclass (its FLOW names it in options and in the
stored row); `load` reads it typed, `save` stores it and moves its token on. Pydantic's
TypeAdapter does the typed load and dump (dates and datetimes as ISO text, the same JSON the
flows wrote by hand before, so a conversation stored by an older version still loads).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from pydantic import TypeAdapter, ValidationError

from bot.domain.agency import Person, Service
from bot.i18n import N_
from bot.services.actions import action
from bot.services.desk import Desk
from bot.services.notices import Label, Notice

log = logging.getLogger(__name__)


@dataclass
class FlowState:
    """What every flow keeps: the token of its current step (options of older steps go
    stale) and the step's name."""

    FLOW: ClassVar[str]
    # What ending the flow by its "give up" option (verb "x") tells the person.
    GAVE_UP: ClassVar[Notice]
    tok: int = 0
    step: str = ""

    def act(self, *args: object) -> str:
        """An option's action, bound to this step of this flow."""
        return action(self.FLOW, self.tok, *args)

    def give_up(self) -> tuple[Label, str]:
        """The 'give up' option every step offers."""
        return (N_("Give up"), self.act("x"))

    def service_options(self, services: Iterable[Service]) -> list[tuple[Label, str]]:
        """Each service as an option (verb 's'), then 'give up'."""
        return [*((s.label, self.act("s", s.id)) for s in services), self.give_up()]


S = TypeVar("S", bound=FlowState)


_ADAPTERS: dict[type[FlowState], TypeAdapter[Any]] = {}


def _adapter(cls: type[FlowState]) -> TypeAdapter[Any]:
    # Built once per flow: building one inspects the dataclass.
    if cls not in _ADAPTERS:
        _ADAPTERS[cls] = TypeAdapter(cls)
    return _ADAPTERS[cls]


def dump(state: FlowState) -> dict[str, Any]:
    """A state as the JSON object stored for it."""
    dumped: dict[str, Any] = _adapter(type(state)).dump_python(state, mode="json")
    return dumped


def parse(cls: type[S], data: dict[str, Any]) -> S | None:
    """A stored JSON object as a flow's state, or None when it does not fit the flow's shape
    (then the person is treated as out of the flow, and any press of theirs as stale)."""
    try:
        state: S = _adapter(cls).validate_python(data)
    except ValidationError as exc:
        log.warning("a stored %s state does not fit: %s", cls.FLOW, exc.errors()[:3])
        return None
    return state


async def _stored(desk: Desk, person: Person) -> tuple[str, dict[str, Any]] | None:
    """The person's flow and its stored state (read once per message, however many ask)."""
    if person.id not in desk.conversations:
        desk.conversations[person.id] = await desk.tx.conversations.get(person.id)
    return desk.conversations[person.id]


async def load(desk: Desk, person: Person, cls: type[S]) -> S | None:
    """The person's state in the flow of `cls`, or None when they are elsewhere."""
    found = await _stored(desk, person)
    if found is None or found[0] != cls.FLOW:
        return None
    return parse(cls, found[1])  # a fresh object: a flow may change it without saving it


async def save(desk: Desk, person: Person, state: S) -> S:
    """Store a new step; the token changes so that options of older steps go stale.

    A new flow does not start again at 1 (old buttons stay in the chat, and would match):
    tokens start above every message id so far, so no earlier step ever had them.
    """
    state.tok = max(state.tok, await desk.tx.outbox.last_id()) + 1
    stored = dump(state)
    await desk.tx.conversations.save(person.id, state.FLOW, stored, desk.now)
    desk.conversations[person.id] = (state.FLOW, stored)
    return state


async def on_step(desk: Desk, person: Person, flow: str, tok: str) -> bool:
    """Whether the person is at this step of this flow (its options are live)."""
    found = await _stored(desk, person)
    return found is not None and found[0] == flow and str(found[1].get("tok")) == tok


async def leave(desk: Desk, person: Person, farewell: Notice | None = None) -> None:
    """End whatever flow the person is in; tell them `farewell` (why it ended) if given."""
    await desk.tx.conversations.end(person.id)
    desk.conversations[person.id] = None
    if farewell is not None:
        await desk.notify(person, farewell)


async def pressed(
    desk: Desk, person: Person, cls: type[S], tok: str, args: tuple[str, ...]
) -> S | None:
    """The flow's state if a press belongs to its current step, else None (after saying so)."""
    state = await load(desk, person, cls)
    if state is None or str(state.tok) != tok or not args:
        await desk.stale(person)
        return None
    return state
